"""Right to be forgotten: an admin erases a user's personal data from identity.

Identity keeps personal data only in mutable tables (its events never carry a phone
or a name), so erasure here is an UPDATE: the row stays (every service refers to the
user id) but loses phone, name, username and password; codes, sessions and the
throttling records that name the phone go. ``UserErased`` is then recorded in the
same transaction; the relay publishes it and every service that keeps its own copy
of personal data (tickets, notify, outside subscribers) erases that copy
(docs/privacy.md).

Erasing an already erased user changes nothing and records nothing, so a retried
request is harmless; an unknown user is 404.
"""

from __future__ import annotations

from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.context import CallContext
from pasokh_common.personal_data import ERASED

import psycopg

from services.identity import repository as repo
from services.identity import schemas
from services.identity.context import Dependencies
from services.identity.domain.errors import NotPermitted, UserNotFound
from services.identity.domain.events import AgentRemovedFromDepartment, UserErased, user_stream
from services.identity.domain.roles import require_admin
from services.identity.recorder import record
from services.identity.sessions import Sessions

# Not an argon2 hash: verification fails on it, whatever password is tried.
ERASED_PASSWORD_HASH = "!erased"


class Erasure:
    def __init__(self, deps: Dependencies, sessions: Sessions) -> None:
        self.deps = deps
        self.sessions = sessions

    def erase_user(self, token: Any, payload: Any, context: CallContext) -> dict[str, Any]:
        """``{"user_id", "erased_at", "erased_now"}``; admin only, not oneself."""
        admin = self.sessions.authenticate(token)
        require_admin(admin.role)
        values = schemas.load(schemas.UserRefSchema(), payload)
        user_id = str(values["user_id"])
        if user_id == admin.user_id:
            raise NotPermitted("an admin cannot erase their own account")
        with self.deps.pool.transaction() as conn:
            repo.lock(conn, user_stream(user_id))
            row = conn.execute(
                "SELECT phone, erased_at FROM identity.users WHERE user_id = %s FOR UPDATE",
                (user_id,),
            ).fetchone()
            if row is None:
                raise UserNotFound(user_id)
            if row["erased_at"] is not None:
                return _answer(user_id, row["erased_at"], erased_now=False)
            now = self.deps.clock()
            departments = _anonymise(conn, user_id, row["phone"], now)
            events: list = [AgentRemovedFromDepartment(user_id, d, now) for d in departments]
            events.append(UserErased(user_id, now))
            record(conn, context.metadata(admin.user_id, admin.role), events)
        return _answer(user_id, now, erased_now=True)


def _anonymise(conn: psycopg.Connection, user_id: str, phone: str | None, now) -> list[str]:
    """Scrub the row and everything keyed by the person; returns the departments the
    user was removed from (a staff account)."""
    conn.execute(
        "UPDATE identity.users SET name = %(erased)s, phone = NULL, username = NULL,"
        " password_hash = %(hash)s, phone_verified_at = NULL,"
        " session_version = session_version + 1, erased_at = %(now)s, updated_at = %(now)s"
        " WHERE user_id = %(user_id)s",
        {"erased": ERASED, "hash": ERASED_PASSWORD_HASH, "now": now, "user_id": user_id},
    )
    conn.execute("DELETE FROM identity.verification_codes WHERE user_id = %s", (user_id,))
    conn.execute("DELETE FROM identity.refresh_tokens WHERE user_id = %s", (user_id,))
    conn.execute("DELETE FROM identity.login_attempts WHERE account_key = %s", (f"user:{user_id}",))
    if phone:
        conn.execute("DELETE FROM identity.code_requests WHERE phone = %s", (phone,))
        conn.execute(
            "DELETE FROM identity.login_attempts WHERE account_key = %s", (f"phone:{phone}",)
        )
    removed = conn.execute(
        "DELETE FROM identity.department_members WHERE user_id = %s RETURNING department_id",
        (user_id,),
    ).fetchall()
    return sorted(r["department_id"] for r in removed)


def _answer(user_id: str, erased_at, erased_now: bool) -> dict[str, Any]:
    return {"user_id": user_id, "erased_at": erased_at.isoformat(), "erased_now": erased_now}
