"""Appends SmsSent / SmsFailed to ``notify.events`` in the caller's transaction.

The same transaction changes the message's state, so the event exists exactly when
the state does; the shared relay (``relay_main --service notify``) publishes it to
``notify.events``. One stream per message (``sms-<id>``): version 1 is SmsSent or
SmsFailed; an SmsFailed after SmsSent (an "undelivered" report) is version 2.

A sender's outcome does not call ``record``: ``event_row`` gives the row that
``repository.record_outcomes`` appends in the same statement as the state change.
"""

from __future__ import annotations

import pasokh_common  # noqa: F401
from pasokh_common.eventlog import EventMetadata, EventStore, NewEvent

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from services.notify.domain.events import SmsFailed, SmsSent, message_stream

STORE = EventStore("notify")


def _head_version(conn: psycopg.Connection, stream_id: str) -> int:
    row = conn.execute(
        sql.SQL("SELECT coalesce(max(version), 0) AS head FROM {} WHERE stream_id = %s").format(
            sql.Identifier("notify", "events")
        ),
        (stream_id,),
    ).fetchone()
    return int(row["head"])


def metadata_for(correlation_id: str | None, cause_event_id: str | None) -> EventMetadata:
    kwargs = {"actor_id": "notify", "actor_role": "system", "origin": "notify"}
    if correlation_id:
        kwargs["correlation_id"] = correlation_id
    return EventMetadata(causation_id=cause_event_id, **kwargs)


def record(
    conn: psycopg.Connection,
    event: SmsSent | SmsFailed,
    metadata: EventMetadata,
    head: int | None = None,
) -> None:
    """``head``: the stream's version when the caller knows it (an SmsSent is always
    the first event of its message's stream), which saves reading it; a wrong one is
    refused by the append (a conflict), never written."""
    stream = message_stream(event.message_id)
    new = NewEvent(type=event.TYPE, data=event.to_data(), schema_version=event.SCHEMA_VERSION)
    known = _head_version(conn, stream) if head is None else head
    STORE.append(conn, stream, known, [new], metadata)


def event_row(event: SmsSent | SmsFailed, metadata: EventMetadata) -> dict:
    """What ``repository.record_outcomes`` appends: the columns ``STORE.append`` writes
    (its stream, a new event id, type, schema version, data, metadata)."""
    new = NewEvent(type=event.TYPE, data=event.to_data(), schema_version=event.SCHEMA_VERSION)
    return {
        "message_id": event.message_id,
        "stream_id": message_stream(event.message_id),
        "event_id": new.event_id,
        "event_type": new.type,
        "schema_version": new.schema_version,
        "data": Jsonb(new.data),
        "metadata": Jsonb(metadata.as_dict()),
    }
