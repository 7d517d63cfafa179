"""Who supervises a department: the recipients of SLA warnings and breaches.

identity's RPC ``department_members`` needs a staff token, which a service acting on an
event does not have. What notify needs from identity is only "who are the supervisors
of department D, now", and identity already says so in events
(``AgentAssignedToDepartment`` with ``role``, ``AgentRemovedFromDepartment``). So notify
keeps its own copy from those events, as tickets does: no RPC, no token, nothing added
to identity. ``SupervisorDirectory`` is the seam: a different source (an RPC identity
might offer later) replaces ``MembershipSupervisors`` without touching the handlers.
"""

from __future__ import annotations

from typing import Any, Protocol

import pasokh_common  # noqa: F401

import psycopg

from services.notify import repository as repo


class SupervisorDirectory(Protocol):
    def supervisors(self, conn: psycopg.Connection, department_id: str) -> list[str]: ...


class MembershipSupervisors:
    """Reads ``notify.department_members`` (fed by identity's events)."""

    def supervisors(self, conn: psycopg.Connection, department_id: str) -> list[str]:
        return repo.department_supervisors(conn, department_id)


def record_assignment(conn: psycopg.Connection, data: dict[str, Any]) -> None:
    repo.record_membership(
        conn, data["user_id"], data["department_id"], data.get("role"), True, data["assigned_at"]
    )


def record_removal(conn: psycopg.Connection, data: dict[str, Any]) -> None:
    repo.record_membership(
        conn, data["user_id"], data["department_id"], None, False, data["removed_at"]
    )
