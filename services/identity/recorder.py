"""Appends identity events to ``identity.events`` inside the caller's transaction.

Identity keeps its state in ordinary tables and records each change as an event in
the same transaction, so the log is the audit trail and what other services learn
from, while reads stay simple. Writers of a stream take its advisory lock first
(``repository.lock``) so versions never clash and later events get later
transaction ids.
"""

from __future__ import annotations

from collections.abc import Sequence

from pasokh_common.eventlog import EventMetadata, EventStore, NewEvent, RecordedEvent

import psycopg
from psycopg import sql

from services.identity.domain.events import IdentityEvent
from services.identity.metrics import EVENTS_APPENDED

STORE = EventStore("identity")


def head_version(conn: psycopg.Connection, stream_id: str) -> int:
    row = conn.execute(
        sql.SQL("SELECT coalesce(max(version), 0) AS head FROM {} WHERE stream_id = %s").format(
            sql.Identifier("identity", "events")
        ),
        (stream_id,),
    ).fetchone()
    return int(row["head"])


def record(
    conn: psycopg.Connection, metadata: EventMetadata, events: Sequence[IdentityEvent]
) -> list[RecordedEvent]:
    """Append ``events`` in order, each to its own stream."""
    recorded: list[RecordedEvent] = []
    for event in events:
        version = head_version(conn, event.stream_id)
        new = NewEvent(type=event.TYPE, data=event.to_data(), schema_version=event.SCHEMA_VERSION)
        recorded.extend(STORE.append(conn, event.stream_id, version, [new], metadata))
    for event in recorded:
        EVENTS_APPENDED.labels(event.type).inc()
    return recorded
