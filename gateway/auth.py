"""Bearer tokens: reading the header, and a short cache of identity's verdicts.

Every protected route needs ``identity.validate_token`` (signature, expiry, and the
database: logout, password change, current role and departments). One RPC per request
doubles the latency of a cheap read, so a *valid* token's actor is kept for a few
seconds (``GATEWAY_TOKEN_CACHE_SECONDS``, default 5, at most 60), keyed by the token's
SHA-256 (a memory dump shows no usable tokens), never past the token's own ``exp``.
The cost: a logout, a password reset or a department removal takes up to that long
to reach a gateway replica that served the token just before (the logout route evicts
the token on the replica that handles it). Refusals are never cached, so a token that
starts working (clock skew) is not held back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from gateway.errors import AuthenticationRequired, InvalidToken

MAX_TOKEN_LENGTH = 4096


def bearer_token(headers: Mapping[str, str]) -> str:
    """The access token of ``Authorization: Bearer <token>``; a missing header is 401
    ``authentication_required``, a malformed one 401 ``invalid_token``."""
    header = (headers.get("Authorization") or "").strip()
    if not header:
        raise AuthenticationRequired("no Authorization header")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("malformed Authorization header")
    return token


def unverified_expiry(token: str) -> float | None:
    """The ``exp`` claim read *without* checking the signature: used only to cap how
    long a verdict identity already gave is cached, never to accept a token."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError, binascii.Error):
        return None


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenCache:
    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    def get(self, token: str) -> dict[str, Any] | None:
        key = _key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, actor = entry
        if self.clock() >= expires_at:
            self._entries.pop(key, None)
            return None
        return dict(actor)

    def put(self, token: str, actor: dict[str, Any]) -> None:
        if self.ttl <= 0:
            return
        now = self.clock()
        expires_at = now + self.ttl
        token_exp = unverified_expiry(token)
        if token_exp is not None:
            expires_at = min(expires_at, token_exp)
        if expires_at <= now:
            return
        key = _key(token)
        self._entries.pop(key, None)
        self._entries[key] = (expires_at, dict(actor))
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def evict(self, token: str) -> None:
        self._entries.pop(_key(token), None)
