"""Admin commands: departments and staff accounts.

Admins act with their access token, which identity checks itself (it is the
authority on it), so no caller on the bus can claim to be an admin by saying so.
Agents and supervisors are created through the API; admins only through the CLI
(``python -m services.identity.cli create-admin``), so a stolen admin token cannot
mint more admins. Staff accounts are created verified: the admin vouches for them.

Assigning someone who is already a member, or removing someone who is not, changes
nothing and records nothing, so a retried request is harmless.
"""

from __future__ import annotations

import uuid
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.context import CallContext

from services.identity import repository as repo
from services.identity import schemas
from services.identity.accounts import require_good_password
from services.identity.context import Dependencies
from services.identity.domain.errors import UserNotFound
from services.identity.domain.events import (
    AgentAssignedToDepartment,
    AgentCreated,
    AgentRemovedFromDepartment,
    DepartmentCreated,
    department_stream,
    user_stream,
)
from services.identity.domain.roles import Kind, Role, require_admin, require_assignable
from services.identity.recorder import record
from services.identity.sessions import Authenticated, Sessions
from services.identity.views import user_view


class Staff:
    def __init__(self, deps: Dependencies, sessions: Sessions) -> None:
        self.deps = deps
        self.sessions = sessions

    def _admin(self, token: Any) -> Authenticated:
        caller = self.sessions.authenticate(token)
        require_admin(caller.role)
        return caller

    def create_department(self, token: Any, payload: Any, context: CallContext) -> dict[str, Any]:
        admin = self._admin(token)
        values = schemas.load(schemas.DepartmentSchema(), payload)
        department_id = values["department_id"]
        with self.deps.pool.transaction() as conn:
            repo.lock(conn, department_stream(department_id))
            now = self.deps.clock()
            repo.insert_department(conn, department_id, values["name"], now)
            record(
                conn,
                context.metadata(admin.user_id, admin.role),
                [DepartmentCreated(department_id, values["name"], now)],
            )
        return {"department_id": department_id, "name": values["name"]}

    def create_agent(self, token: Any, payload: Any, context: CallContext) -> dict[str, Any]:
        admin = self._admin(token)
        values = schemas.load(schemas.CreateAgentSchema(), payload)
        return self._create_staff(values, context.metadata(admin.user_id, admin.role))

    def create_admin(self, payload: Any, context: CallContext) -> dict[str, Any]:
        """For the CLI only: the first admin, and any later one."""
        values = {**schemas.load(schemas.CreateAdminSchema(), payload), "role": "admin"}
        values.setdefault("departments", [])
        return self._create_staff(values, context.metadata("cli", "system"))

    def _create_staff(self, values: dict[str, Any], metadata) -> dict[str, Any]:
        require_good_password(values["password"], "password", values["phone"], values["username"])
        password_hash = self.deps.passwords.hash(values["password"])
        user_id = str(uuid.uuid4())
        role = Role(values["role"])
        with self.deps.pool.transaction() as conn:
            repo.lock(conn, user_stream(user_id))
            now = self.deps.clock()
            departments = [
                repo.get_department(conn, d)["department_id"] for d in values["departments"]
            ]
            repo.insert_user(
                conn,
                {
                    "user_id": user_id,
                    "role": role.value,
                    "kind": Kind.STAFF.value,
                    "name": values["name"],
                    "phone": values["phone"],
                    "username": values["username"],
                    "password_hash": password_hash,
                    "language": values["language"],
                    "organisation_id": None,
                    "phone_verified_at": now,
                },
                now,
            )
            events: list = [AgentCreated(user_id, role.value, now)]
            for department_id in dict.fromkeys(departments):
                require_assignable(role)
                repo.add_member(conn, department_id, user_id, now)
                events.append(AgentAssignedToDepartment(user_id, department_id, role.value, now))
            record(conn, metadata, events)
            return user_view(repo.find_user(conn, user_id))

    def assign_to_department(
        self, token: Any, payload: Any, context: CallContext
    ) -> dict[str, Any]:
        admin = self._admin(token)
        values = schemas.load(schemas.MembershipSchema(), payload)
        user_id, department_id = str(values["user_id"]), values["department_id"]
        with self.deps.pool.transaction() as conn:
            repo.lock(conn, user_stream(user_id))
            user = repo.find_user(conn, user_id)
            if user is None:
                raise UserNotFound(user_id)
            require_assignable(user["role"])
            repo.get_department(conn, department_id)
            now = self.deps.clock()
            if repo.add_member(conn, department_id, user_id, now):
                event = AgentAssignedToDepartment(user_id, department_id, user["role"], now)
                record(conn, context.metadata(admin.user_id, admin.role), [event])
            return user_view(repo.find_user(conn, user_id))

    def remove_from_department(
        self, token: Any, payload: Any, context: CallContext
    ) -> dict[str, Any]:
        admin = self._admin(token)
        values = schemas.load(schemas.MembershipSchema(), payload)
        user_id, department_id = str(values["user_id"]), values["department_id"]
        with self.deps.pool.transaction() as conn:
            repo.lock(conn, user_stream(user_id))
            if repo.find_user(conn, user_id) is None:
                raise UserNotFound(user_id)
            repo.get_department(conn, department_id)
            if repo.remove_member(conn, department_id, user_id):
                event = AgentRemovedFromDepartment(user_id, department_id, self.deps.clock())
                record(conn, context.metadata(admin.user_id, admin.role), [event])
            return user_view(repo.find_user(conn, user_id))
