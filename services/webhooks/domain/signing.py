"""Signatures: HMAC-SHA256 over ``"<timestamp>.<body>"`` with the endpoint's secret.

The timestamp is inside the signed text, so a receiver that refuses timestamps older
than a few minutes cannot be fed a recorded request again later (a replay). During a
secret rotation's grace period the header carries one ``v1=`` per valid secret,
comma-separated; a receiver accepts the request if any of them matches its secret.
``verify`` is what a receiver does (docs/webhooks.md shows it standalone).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

SCHEME = "v1"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """256 random bits, prefixed so a leaked one is recognisable in a scan."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(secrets_: Iterable[str], timestamp: int, body: bytes) -> str:
    """``v1=<hex>`` per secret (the current one first)."""
    return ",".join(f"{SCHEME}={signature(s, timestamp, body)}" for s in secrets_)


def verify(
    secret: str,
    header: str,
    timestamp: str,
    body: bytes,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True if ``timestamp`` is within ``tolerance`` of ``now`` and one of the header's
    ``v1`` signatures is ours (compared in constant time)."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - sent_at) > tolerance:
        return False
    expected = signature(secret, sent_at, body)
    for part in (header or "").split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == SCHEME and hmac.compare_digest(value, expected):
            return True
    return False
