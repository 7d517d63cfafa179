"""Department membership as the tickets service knows it from identity's events.

The access token lists an agent's departments when it was issued (up to 15 minutes
ago). Tickets narrows that list with what identity has said since: a department the
agent was removed from no longer counts, without an RPC to identity on each command.
A user identity has said nothing about yet keeps the token's list (tickets may have
started before the events arrived; the token was signed by identity).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pasokh_common  # noqa: F401

import psycopg

from services.tickets.domain import Actor


def record_assignment(conn: psycopg.Connection, data: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO tickets.department_members (user_id, department_id, role, active,"
        " changed_at) VALUES (%(user_id)s, %(department_id)s, %(role)s, true, %(at)s)"
        " ON CONFLICT (user_id, department_id) DO UPDATE SET role = EXCLUDED.role,"
        " active = true, changed_at = EXCLUDED.changed_at"
        " WHERE tickets.department_members.changed_at <= EXCLUDED.changed_at",
        {**data, "at": data["assigned_at"]},
    )


def record_removal(conn: psycopg.Connection, data: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO tickets.department_members (user_id, department_id, role, active,"
        " changed_at) VALUES (%(user_id)s, %(department_id)s, 'agent', false, %(at)s)"
        " ON CONFLICT (user_id, department_id) DO UPDATE SET active = false,"
        " changed_at = EXCLUDED.changed_at"
        " WHERE tickets.department_members.changed_at <= EXCLUDED.changed_at",
        {**data, "at": data["removed_at"]},
    )


def narrow_to_membership(conn: psycopg.Connection, actor: Actor) -> Actor:
    """The actor with only the departments identity has not since taken away."""
    if not actor.is_staff or not actor.departments:
        return actor
    rows = conn.execute(
        "SELECT department_id, active FROM tickets.department_members WHERE user_id = %s",
        (actor.id,),
    ).fetchall()
    if not rows:
        return actor
    active = {row["department_id"] for row in rows if row["active"]}
    return replace(actor, departments=frozenset(actor.departments & active))
