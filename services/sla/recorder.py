"""Appends SLA events to ``sla.events`` inside the caller's transaction, and turns
what a step measured into metrics.

Ticket streams (``ticket-<id>``) are written only while the ticket's row is locked, so
the head version kept on that row is the stream's head, and many tickets' events go
in one pipelined statement. Rules streams are written through ``EventStore.append``
under an advisory lock per stream, their head read from the log (as identity does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pasokh_common.eventlog import EventMetadata, EventStore, NewEvent, RecordedEvent

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from services.sla import metrics
from services.sla import repository as repo
from services.sla.domain.events import SlaBreached, SlaEvent, SlaWarning
from services.sla.domain.ticket import Measurement

STORE = EventStore("sla")
_APPEND_TICKET_EVENT = sql.SQL(
    "INSERT INTO {} (stream_id, version, event_id, event_type, schema_version,"
    " data, metadata) VALUES (%s, %s, %s, %s, %s, %s, %s)"
).format(sql.Identifier("sla", "events"))


def _new(event: SlaEvent) -> NewEvent:
    return NewEvent(type=event.type_name, data=event.to_data(), schema_version=event.SCHEMA_VERSION)


def ticket_event_rows(
    batches: Sequence[tuple[str, int, Sequence[SlaEvent]]], metadata: EventMetadata
) -> tuple[list[tuple], dict[str, int]]:
    """The ``sla.events`` rows of many tickets' events, ``(ticket_id, head, events)``
    each, and each ticket's new head.

    The same rows ``EventStore.append`` writes, without its per-stream head query: the
    caller holds every ticket's row lock, so each head is known, and the unique
    (stream, version) key still refuses any clash.
    """
    rows = []
    heads: dict[str, int] = {}
    meta = Jsonb(metadata.as_dict())
    for ticket_id, head, events in batches:
        for offset, event in enumerate(events, start=1):
            new = _new(event)
            rows.append(
                (
                    f"ticket-{ticket_id}",
                    head + offset,
                    new.event_id,
                    new.type,
                    new.schema_version,
                    Jsonb(new.data),
                    meta,
                )
            )
            metrics.EVENTS_APPENDED.labels(new.type).inc()
        heads[ticket_id] = head + len(events)
    return rows, heads


def append_ticket_batches(
    conn: psycopg.Connection,
    batches: Sequence[tuple[str, int, Sequence[SlaEvent]]],
    metadata: EventMetadata,
) -> dict[str, int]:
    """Append the events of many tickets (``ticket_event_rows``) in one pipelined
    batch; returns each ticket's new head."""
    rows, heads = ticket_event_rows(batches, metadata)
    repo.execute_rows(conn, _APPEND_TICKET_EVENT, rows)
    return heads


def append_rules_event(
    conn: psycopg.Connection, event: SlaEvent, metadata: EventMetadata
) -> RecordedEvent:
    repo.lock_stream(conn, event.stream_id)
    row = conn.execute(
        sql.SQL("SELECT coalesce(max(version), 0) AS head FROM {} WHERE stream_id = %s").format(
            sql.Identifier("sla", "events")
        ),
        (event.stream_id,),
    ).fetchone()
    recorded = STORE.append(conn, event.stream_id, int(row["head"]), [_new(event)], metadata)
    _count(recorded)
    return recorded[0]


def _count(recorded: Iterable[RecordedEvent]) -> None:
    for event in recorded:
        metrics.EVENTS_APPENDED.labels(event.type).inc()


def observe(events: Iterable[SlaEvent], measurements: Iterable[Measurement]) -> None:
    """Report what one committed (or committing) step found."""
    for event in events:
        if isinstance(event, SlaBreached):
            metrics.BREACHES.labels(event.ticket.department, event.target).inc()
        elif isinstance(event, SlaWarning):
            metrics.WARNINGS.labels(event.ticket.department, event.target).inc()
    for measurement in measurements:
        histogram = (
            metrics.FIRST_RESPONSE if measurement.metric == "first_response" else metrics.RESOLUTION
        )
        histogram.labels(measurement.department, measurement.priority).observe(measurement.seconds)
