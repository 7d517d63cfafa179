"""Read-only answers about people and departments, for other services and for staff.

``get_contact`` is the one answer with a phone number, and only notify may have it:
the caller must present the shared secret ``IDENTITY_CONTACT_SECRET`` (configured in
identity and notify only; compared in constant time). Anything on the bus can claim
to be notify, since nameko's call stack is whatever the caller sends, so the check
rests on a secret rather than on a name. With no secret configured, nobody gets a
phone number.
"""

from __future__ import annotations

import hmac
from typing import Any

import pasokh_common  # noqa: F401

from services.identity import repository as repo
from services.identity import schemas
from services.identity.context import Dependencies
from services.identity.domain.errors import NotPermitted, UserNotFound
from services.identity.domain.roles import Role, require_staff
from services.identity.sessions import Sessions
from services.identity.views import user_view


class Directory:
    def __init__(self, deps: Dependencies, sessions: Sessions) -> None:
        self.deps = deps
        self.sessions = sessions

    def get_user(self, user_id: Any) -> dict[str, Any]:
        values = schemas.load(schemas.UserRefSchema(), {"user_id": user_id})
        with self.deps.pool.connection() as conn:
            row = repo.find_user(conn, str(values["user_id"]))
        if row is None:
            raise UserNotFound(str(values["user_id"]))
        return user_view(row)

    def get_contact(self, user_id: Any, caller_secret: Any) -> dict[str, Any]:
        expected = self.deps.config.contact_secret
        if (
            not expected
            or not isinstance(caller_secret, str)
            or not hmac.compare_digest(caller_secret.encode(), expected.encode())
        ):
            raise NotPermitted("get_contact is for notify only")
        values = schemas.load(schemas.UserRefSchema(), {"user_id": user_id})
        with self.deps.pool.connection() as conn:
            row = repo.find_user(conn, str(values["user_id"]))
        if row is None:
            raise UserNotFound(str(values["user_id"]))
        return {"user_id": str(row["user_id"]), "phone": row["phone"], "language": row["language"]}

    def find_customer(self, token: Any, payload: Any) -> dict[str, Any]:
        """Phone support: staff look a caller up by the number they give."""
        require_staff(self.sessions.authenticate(token).role)
        values = schemas.load(schemas.PhoneSchema(), payload)
        with self.deps.pool.connection() as conn:
            row = repo.find_user_by_phone(conn, values["phone"])
        if row is None or row["role"] != Role.CUSTOMER:
            raise UserNotFound()
        return user_view(row)

    def list_departments(self) -> list[dict[str, Any]]:
        with self.deps.pool.connection() as conn:
            return [dict(row) for row in repo.list_departments(conn)]

    def department_members(self, token: Any, payload: Any) -> list[dict[str, Any]]:
        require_staff(self.sessions.authenticate(token).role)
        values = schemas.load(schemas.DepartmentRefSchema(), payload)
        with self.deps.pool.connection() as conn:
            repo.get_department(conn, values["department_id"])
            rows = repo.department_members(conn, values["department_id"])
        return [
            {
                "id": str(r["user_id"]),
                "name": r["name"],
                "role": r["role"],
                "username": r["username"],
                "assigned_at": r["assigned_at"].isoformat(),
            }
            for r in rows
        ]
