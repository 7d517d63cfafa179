"""The next SLA deadline per ticket, from the sla service's ``SlaTargetsSet`` events,
and whether sla has warned about it (``SlaWarning``).

Only running targets count (a paused resolution clock has no deadline while the
ticket waits on the customer). A later ``set_at`` wins, so a redelivered or reordered
older event never overwrites a newer deadline. A warning marks the deadline it was
about; the ticket is at risk while that is still its next deadline, so a new deadline
(the agent answered, the priority changed) clears the mark without another event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pasokh_common  # noqa: F401

import psycopg


def next_deadline(targets: list[dict[str, Any]]) -> datetime | None:
    deadlines = [
        datetime.fromisoformat(t["deadline"])
        for t in targets
        if t.get("status") == "running" and t.get("deadline")
    ]
    return min(deadlines) if deadlines else None


def record_targets(conn: psycopg.Connection, data: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO tickets.sla_deadlines (ticket_id, next_deadline, set_at)"
        " VALUES (%(ticket_id)s, %(deadline)s, %(set_at)s)"
        " ON CONFLICT (ticket_id) DO UPDATE SET next_deadline = EXCLUDED.next_deadline,"
        " set_at = EXCLUDED.set_at WHERE tickets.sla_deadlines.set_at <= EXCLUDED.set_at",
        {
            "ticket_id": data["ticket_id"],
            "deadline": next_deadline(data.get("targets") or []),
            "set_at": data["set_at"],
        },
    )


def record_warning(conn: psycopg.Connection, data: dict[str, Any]) -> None:
    """Remember which deadline sla warned about (a ticket sla never announced
    targets for is left alone: there is no deadline to be at risk of missing)."""
    conn.execute(
        "UPDATE tickets.sla_deadlines SET warned_deadline = %(deadline)s"
        " WHERE ticket_id = %(ticket_id)s",
        {"ticket_id": data["ticket_id"], "deadline": data.get("deadline")},
    )
