"""Amazon Bedrock runtime: Titan Text Embeddings v2 and the Converse API, behind small wrappers.

Every failure that should make the LLM diagnoser step aside (throttling, timeouts, model errors,
access denied, malformed replies) becomes `BedrockUnavailable` with the reason; callers fall back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..memory.embedders import Embedder, EmbedderError, normalise

TITAN_V2 = "amazon.titan-embed-text-v2:0"
TITAN_DIMENSIONS = (256, 512, 1024)


class BedrockUnavailable(RuntimeError):
    """Bedrock did not give a usable answer; `kind` is throttled | timeout | error."""

    def __init__(self, kind: str, reason: str):
        super().__init__(f"{kind}: {reason}")
        self.kind, self.reason = kind, reason


def runtime_client(region: str | None = None, endpoint_url: str | None = None, timeout_s: float = 8.0,
                   max_attempts: int = 2, session: Any = None) -> Any:
    """A bedrock-runtime client with a strict read timeout and botocore's own (bounded) retries.

    A session of its own by default (credentials as the environment has them now), not boto3's
    process-wide default session."""
    import boto3
    from botocore.config import Config

    cfg = Config(connect_timeout=min(2.0, timeout_s), read_timeout=timeout_s,
                 retries={"max_attempts": max_attempts, "mode": "standard"})
    return (session or boto3.Session()).client("bedrock-runtime", region_name=region, endpoint_url=endpoint_url,
                                               config=cfg)


def _unavailable(exc: Exception) -> BedrockUnavailable:
    from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

    if isinstance(exc, ReadTimeoutError):
        return BedrockUnavailable("timeout", str(exc))
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        kind = "throttled" if code in ("ThrottlingException", "ServiceQuotaExceededException") else \
            "timeout" if code == "ModelTimeoutException" else "error"
        return BedrockUnavailable(kind, f"{code}: {exc.response.get('Error', {}).get('Message', '')}")
    if isinstance(exc, ConnectionError):
        return BedrockUnavailable("error", f"connection: {exc}")
    return BedrockUnavailable("error", f"{type(exc).__name__}: {exc}")


class TitanEmbedder(Embedder):
    """Titan Text Embeddings v2 through InvokeModel; wrap in CachedEmbedder so no text is embedded twice."""

    def __init__(self, client: Any, dimensions: int = 512, model_id: str = TITAN_V2):
        if dimensions not in TITAN_DIMENSIONS:
            raise EmbedderError(f"Titan v2 dimensions must be one of {TITAN_DIMENSIONS}, not {dimensions}")
        self.client, self.model_id = client, model_id
        self.name, self.dimensions = model_id, dimensions

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from botocore.exceptions import BotoCoreError, ClientError

        rows = []
        for text in texts:
            body = json.dumps({"inputText": text[:50_000], "dimensions": self.dimensions, "normalize": True})
            try:
                res = self.client.invoke_model(modelId=self.model_id, body=body, contentType="application/json",
                                               accept="application/json")
                vec = json.loads(res["body"].read())["embedding"]
            except (ClientError, BotoCoreError) as exc:
                raise EmbedderError(f"Titan embedding failed: {_unavailable(exc)}") from exc
            except (KeyError, ValueError) as exc:
                raise EmbedderError(f"Titan returned no embedding: {exc}") from exc
            if len(vec) != self.dimensions:
                raise EmbedderError(f"Titan returned {len(vec)} dimensions, expected {self.dimensions}")
            rows.append(vec)
        return normalise(np.array(rows, dtype=np.float32).reshape(len(texts), self.dimensions))


def converse(client: Any, model_id: str, system: str, prompt: str, max_tokens: int = 800,
             temperature: float = 0.0) -> tuple[str, dict[str, Any]]:
    """(the reply's text, usage) from the Converse API, or BedrockUnavailable."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        res = client.converse(modelId=model_id, system=[{"text": system}],
                              messages=[{"role": "user", "content": [{"text": prompt}]}],
                              inferenceConfig={"maxTokens": max_tokens, "temperature": temperature})
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable(exc) from exc
    try:
        parts = res["output"]["message"]["content"]
        text = "".join(p.get("text", "") for p in parts)
    except (KeyError, TypeError) as exc:
        raise BedrockUnavailable("error", f"malformed Converse reply: {exc}") from exc
    if res.get("stopReason") == "max_tokens":
        raise BedrockUnavailable("error", "reply cut at maxTokens")
    return text, res.get("usage", {})
