"""The next SLA deadline per ticket, from the sla service's ``SlaTargetsSet`` events,
and whether sla has warned about it (``SlaWarning``).

Only running targets count (a paused resolution clock has no deadline while the
ticket waits on the customer). A later ``set_at`` wins, so a redelivered or reordered
older event never overwrites a newer deadline. A warning marks the deadline it was
about; the ticket is at risk while that is still its next deadline, so a new deadline
(the agent answered, the priority changed) clears the mark without another event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common import json_rows

import psycopg


def next_deadline(targets: list[dict[str, Any]]) -> datetime | None:
    deadlines = [
        datetime.fromisoformat(t["deadline"])
        for t in targets
        if t.get("status") == "running" and t.get("deadline")
    ]
    return min(deadlines) if deadlines else None


def record_targets(conn: psycopg.Connection, data: dict[str, Any]) -> None:
    record_many_targets(conn, [data])


def latest_per_ticket(datas: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of several ``SlaTargetsSet`` bodies, the one that would win per ticket if they
    were recorded one by one in this order: the latest ``set_at``, and of equal ones
    the last (the upsert takes an equal ``set_at``). Ordered by ticket id, so two
    writers lock rows in one order."""
    latest: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for data in datas:
        at = datetime.fromisoformat(data["set_at"])
        seen = latest.get(data["ticket_id"])
        if seen is None or seen[0] <= at:
            latest[data["ticket_id"]] = (at, data)
    return [latest[ticket_id][1] for ticket_id in sorted(latest)]


def record_many_targets(conn: psycopg.Connection, datas: Iterable[dict[str, Any]]) -> None:
    """Record ``SlaTargetsSet`` bodies (a batch's, in delivery order) in ONE upsert:
    only the latest per ticket (``latest_per_ticket``); the row's own ``set_at`` still
    refuses anything older than what is recorded."""
    rows = latest_per_ticket(datas)
    if not rows:
        return
    conn.execute(
        _RECORD_TARGETS,
        (
            json_rows.dumps(
                [
                    (
                        data["ticket_id"],
                        next_deadline(data.get("targets") or []),
                        datetime.fromisoformat(data["set_at"]),
                    )
                    for data in rows
                ]
            ),
        ),
    )


# One text whatever the batch (``json_rows``): converted once by psycopg, prepared.
_TARGETS_SPEC = json_rows.columns("ticket_id uuid, next_deadline timestamptz, set_at timestamptz")
_RECORD_TARGETS = (
    "INSERT INTO tickets.sla_deadlines ("
    + json_rows.names(_TARGETS_SPEC)
    + ") "
    + json_rows.select(_TARGETS_SPEC)
    + " ON CONFLICT (ticket_id) DO UPDATE SET next_deadline = EXCLUDED.next_deadline,"
    " set_at = EXCLUDED.set_at WHERE tickets.sla_deadlines.set_at <= EXCLUDED.set_at"
)


def record_warning(conn: psycopg.Connection, data: dict[str, Any]) -> None:
    """Remember which deadline sla warned about (a ticket sla never announced
    targets for is left alone: there is no deadline to be at risk of missing)."""
    conn.execute(
        "UPDATE tickets.sla_deadlines SET warned_deadline = %(deadline)s"
        " WHERE ticket_id = %(ticket_id)s",
        {"ticket_id": data["ticket_id"], "deadline": data.get("deadline")},
    )
