"""Access tokens (JWT, HS256) and refresh tokens (opaque, stored hashed).

The access token is short-lived (15 minutes by default) and self-describing, so a
client can read who it is; identity's ``validate_token`` additionally checks that
the session was not ended (logout, password change) and answers with the account's
*current* role and departments. The refresh token is 256 random bits: its SHA-256 is
what the database keeps, since a value that random needs no slow hash, and a copy
of the table cannot be replayed.

Expiry is checked against the service's clock rather than PyJWT's own, so tests can
move time instead of waiting for it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from services.identity.config import ISSUER
from services.identity.domain.errors import InvalidToken, TokenExpired

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "role", "departments", "exp", "iat", "jti", "iss", "sv")
# Clocks of machines differ a little; a token "issued" seconds in the future is fine.
CLOCK_SKEW = timedelta(seconds=30)


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: str
    departments: tuple[str, ...]
    organisation_id: str | None
    issued_at: datetime
    expires_at: datetime
    jti: str
    session_version: int


class TokenIssuer:
    def __init__(self, secret: str, access_ttl: timedelta) -> None:
        self._secret = secret
        self.access_ttl = access_ttl

    def issue(
        self,
        user_id: str,
        role: str,
        departments: Sequence[str],
        organisation_id: str | None,
        session_version: int,
        now: datetime,
    ) -> tuple[str, AccessClaims]:
        issued = int(now.timestamp())
        expires = issued + int(self.access_ttl.total_seconds())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": user_id,
            "role": role,
            "departments": sorted(departments),
            "organisation_id": organisation_id,
            "iat": issued,
            "exp": expires,
            "jti": str(uuid.uuid4()),
            "sv": session_version,
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return token, _to_claims(claims)

    def decode(self, token: str, now: datetime) -> AccessClaims:
        """The verified claims, or InvalidToken / TokenExpired. Only HS256 is accepted,
        so neither ``alg: none`` nor a key-confusion trick gets through."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
            parsed = _to_claims(claims)
        except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            raise InvalidToken(type(exc).__name__) from exc
        if now >= parsed.expires_at:
            raise TokenExpired()
        if parsed.issued_at > now + CLOCK_SKEW:
            raise InvalidToken("issued in the future")
        return parsed


def _to_claims(claims: dict[str, Any]) -> AccessClaims:
    departments = claims["departments"]
    if not isinstance(departments, list) or not all(isinstance(d, str) for d in departments):
        raise TypeError("departments must be a list of strings")
    organisation_id = claims.get("organisation_id")
    for name in ("sub", "role", "jti"):
        if not isinstance(claims[name], str):
            raise TypeError(f"{name} must be a string")
    for name in ("iat", "exp", "sv"):
        if not isinstance(claims[name], int) or isinstance(claims[name], bool):
            raise TypeError(f"{name} must be an integer")
    return AccessClaims(
        user_id=str(uuid.UUID(claims["sub"])),
        role=claims["role"],
        departments=tuple(departments),
        organisation_id=organisation_id if isinstance(organisation_id, str) else None,
        issued_at=datetime.fromtimestamp(claims["iat"], UTC),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        jti=str(uuid.UUID(claims["jti"])),
        session_version=claims["sv"],
    )


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
