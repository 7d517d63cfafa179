"""Logging in and out, refreshing, and answering "who is this token?".

Only accounts whose phone was verified may log in (staff are created verified): an
unverified customer gets ``phone_not_verified`` and no token, so no other service
ever sees an unverified actor and none has to check for one.

Refresh tokens rotate: each refresh answers with a new one and retires the old one.
A retired token presented again means it was copied, so every session of that
account ends at once (the thief's and the owner's; the owner logs in again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pasokh_common  # noqa: F401

import psycopg

from services.identity import repository as repo
from services.identity import schemas
from services.identity.context import Dependencies
from services.identity.domain.accounts import LoginKind, parse_login
from services.identity.domain.errors import (
    InvalidCredentials,
    InvalidToken,
    LoginThrottled,
    PhoneNotVerified,
)
from services.identity.domain.throttling import decide_login
from services.identity.metrics import LOGINS
from services.identity.tokens import AccessClaims, new_refresh_token, refresh_token_digest
from services.identity.views import actor_view, user_view


@dataclass(frozen=True)
class Authenticated:
    """A caller proven by a valid access token, with the account as it is now."""

    user: dict[str, Any]
    claims: AccessClaims

    @property
    def user_id(self) -> str:
        return str(self.user["user_id"])

    @property
    def role(self) -> str:
        return self.user["role"]


def account_key(user: dict | None, fallback: str) -> str:
    return f"user:{user['user_id']}" if user else fallback


class Sessions:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    # -- password checks, throttled ------------------------------------------------

    def check_password(
        self, user: dict | None, key: str, password: str, client_address: str
    ) -> bool:
        """Verify a password under the login throttle; the attempt is recorded.
        Raises LoginThrottled before looking at the password when over the limit."""
        policy = self.deps.config.login_policy
        with self.deps.pool.transaction() as conn:
            repo.lock(conn, "login:" + key)
            now = self.deps.clock()
            by_account, by_address = repo.login_failures(
                conn, key, client_address, now - policy.window
            )
            decision = decide_login(by_account, by_address, now, policy)
            if not decision.allowed:
                LOGINS.labels("throttled").inc()
                raise LoginThrottled(decision.retry_after.total_seconds(), decision.reason)
            ok = self.deps.passwords.verify(user["password_hash"] if user else None, password)
            repo.record_login_attempt(conn, key, client_address, ok, now)
            if ok and user and self.deps.passwords.needs_rehash(user["password_hash"]):
                new_hash = self.deps.passwords.hash(password)
                repo.set_password(conn, str(user["user_id"]), new_hash, now, end_sessions=False)
        return ok

    # -- login, refresh, logout ----------------------------------------------------------

    def login(self, payload: Any, client_address: str) -> dict[str, Any]:
        values = schemas.load(schemas.LoginSchema(), payload)
        identifier = parse_login(values["login"])
        with self.deps.pool.connection() as conn:
            if identifier.kind is LoginKind.PHONE:
                user = repo.find_user_by_phone(conn, identifier.value)
            else:
                user = repo.find_user_by_username(conn, identifier.value)
        key = account_key(user, identifier.throttle_key)
        if not self.check_password(user, key, values["password"], client_address) or not user:
            LOGINS.labels("failed").inc()
            raise InvalidCredentials()
        if user["phone_verified_at"] is None:
            LOGINS.labels("failed").inc()
            raise PhoneNotVerified(str(user["user_id"]))
        with self.deps.pool.transaction() as conn:
            answer = self._issue(conn, str(user["user_id"]), self.deps.clock())
        LOGINS.labels("ok").inc()
        return answer

    def _issue(self, conn: psycopg.Connection, user_id: str, now: datetime) -> dict[str, Any]:
        """A new access token and refresh token for the account as it is now."""
        user = repo.find_user(conn, user_id)
        if user is None:
            raise InvalidToken("account gone")
        access, claims = self.deps.tokens.issue(
            user_id,
            user["role"],
            user["departments"],
            str(user["organisation_id"]) if user["organisation_id"] else None,
            user["session_version"],
            now,
        )
        refresh = new_refresh_token()
        refresh_ttl = self.deps.config.refresh_token_ttl
        repo.insert_refresh_token(
            conn,
            refresh_token_digest(refresh),
            user_id,
            user["session_version"],
            now,
            now + refresh_ttl,
        )
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int((claims.expires_at - claims.issued_at).total_seconds()),
            "refresh_token": refresh,
            "refresh_expires_in": int(refresh_ttl.total_seconds()),
            "user": user_view(user),
        }

    def refresh(self, payload: Any) -> dict[str, Any]:
        values = schemas.load(schemas.RefreshSchema(), payload)
        digest = refresh_token_digest(values["refresh_token"])
        reused = False
        answer: dict[str, Any] | None = None
        with self.deps.pool.transaction() as conn:
            now = self.deps.clock()
            row = repo.refresh_token_for_update(conn, digest)
            if row is None or row["revoked_at"] is not None or now >= row["expires_at"]:
                raise InvalidToken("refresh token unknown, revoked or expired")
            user_id = str(row["user_id"])
            if row["rotated_at"] is not None:
                repo.revoke_all_refresh_tokens(conn, user_id, now)
                reused = True
            else:
                user = repo.find_user(conn, user_id)
                if user is None or user["session_version"] != row["session_version"]:
                    raise InvalidToken("session ended")
                repo.mark_rotated(conn, digest, now)
                answer = self._issue(conn, user_id, now)
        if reused or answer is None:
            raise InvalidToken("refresh token reused; every session of the account ended")
        return answer

    def logout(self, payload: Any) -> dict[str, Any]:
        """Ends the session of the refresh token, and the access token at once if given.
        Answers the same for unknown tokens: logging out twice is not an error."""
        values = schemas.load(schemas.LogoutSchema(), payload)
        now = self.deps.clock()
        claims = None
        if values["access_token"]:
            try:
                claims = self.deps.tokens.decode(values["access_token"], now)
            except InvalidToken:
                claims = None  # expired or forged: nothing left to end
        with self.deps.pool.transaction() as conn:
            repo.revoke_refresh_token(conn, refresh_token_digest(values["refresh_token"]), now)
            if claims is not None:
                repo.revoke_access_token(conn, claims.jti, claims.expires_at)
        return {"logged_out": True}

    # -- tokens --------------------------------------------------------------------------

    def validate_token(self, token: Any) -> dict[str, Any]:
        """The actor for the tickets service ({id, role, departments, organisation_id}),
        with the role and departments as they are now, not as when the token was made:
        an agent removed from a department loses it at once."""
        claims = self.deps.tokens.decode(schemas.load_token(token), self.deps.clock())
        with self.deps.pool.connection() as conn:
            row = repo.session_of(conn, claims.user_id, claims.jti)
        if (
            row is None
            or row["revoked"]
            or not row["verified"]
            or row["session_version"] != claims.session_version
        ):
            raise InvalidToken("session ended")
        return actor_view(row)

    def authenticate(self, token: Any) -> Authenticated:
        claims = self.deps.tokens.decode(schemas.load_token(token), self.deps.clock())
        with self.deps.pool.connection() as conn:
            session = repo.session_of(conn, claims.user_id, claims.jti)
            user = repo.find_user(conn, claims.user_id) if session else None
        if (
            session is None
            or user is None
            or session["revoked"]
            or not session["verified"]
            or session["session_version"] != claims.session_version
        ):
            raise InvalidToken("session ended")
        return Authenticated(user, claims)
