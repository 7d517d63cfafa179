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


# The user's departments as identity last said (NULL: identity has said nothing about
# them), as an output column another statement of the command can carry along, so
# the narrowing costs no round trip of its own (services/tickets/application.py).
ACTIVE_DEPARTMENTS = (
    "(SELECT CASE WHEN count(*) = 0 THEN NULL"
    " ELSE coalesce(array_agg(department_id) FILTER (WHERE active), '{}') END"
    " FROM tickets.department_members WHERE user_id = %(member_user_id)s)"
    " AS member_active_departments"
)
ACTIVE_DEPARTMENTS_KEY = "member_active_departments"


def needs_narrowing(actor: Actor) -> bool:
    return actor.is_staff and bool(actor.departments)


def membership_params(actor: Actor) -> dict[str, Any]:
    return {"member_user_id": actor.id}


def narrowed(actor: Actor, active_departments: list[str] | None) -> Actor:
    """The actor with only the departments identity has not since taken away, given
    ``ACTIVE_DEPARTMENTS``'s value (pure)."""
    if not needs_narrowing(actor) or active_departments is None:
        return actor
    kept = frozenset(actor.departments & set(active_departments))
    return actor if kept == actor.departments else replace(actor, departments=kept)


def narrow_to_membership(conn: psycopg.Connection, actor: Actor) -> Actor:
    """The actor with only the departments identity has not since taken away."""
    if not needs_narrowing(actor):
        return actor
    row = conn.execute(f"SELECT {ACTIVE_DEPARTMENTS}", membership_params(actor)).fetchone()
    return narrowed(actor, row[ACTIVE_DEPARTMENTS_KEY])
