"""Confirm an SNS HTTP(S) subscription by visiting its SubscribeURL (SNS's documented way for an
endpoint; it needs no IAM permission: the token in the URL authorises it). The URL has been
checked by `ingest.cloudwatch.subscribe_url` to be SNS's own ConfirmSubscription."""

from __future__ import annotations

import urllib.request


class ConfirmationFailed(RuntimeError):
    pass


def visit_subscribe_url(url: str, timeout: float = 5.0) -> None:
    request = urllib.request.Request(url, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - https, SNS host only
            if response.status != 200:
                raise ConfirmationFailed(f"SNS answered {response.status}")
    except OSError as exc:  # URLError, HTTPError, timeouts
        raise ConfirmationFailed(str(exc)[:300]) from exc
