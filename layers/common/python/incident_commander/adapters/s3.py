"""S3: the archive of closed incidents' events (store.archive.ArchiveStore)."""

from __future__ import annotations

import base64
from typing import Any

from botocore.exceptions import ClientError

from ..store.archive import ArchiveError, ArchiveStore
from . import aws


class S3Archive(ArchiveStore):
    def __init__(self, bucket: str, client: Any = None):
        self.bucket = bucket
        self.s3 = client or aws.client("s3")

    def put(self, key: str, body: bytes, sha256_hex: str) -> None:
        """S3 recomputes the SHA-256 on arrival and refuses the object if it differs."""
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json",
                           ChecksumAlgorithm="SHA256",
                           ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256_hex)).decode())

    def get(self, key: str) -> bytes:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchBucket", "404"):
                raise ArchiveError(f"s3://{self.bucket}/{key} does not exist") from exc
            raise
