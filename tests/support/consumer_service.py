"""A test-only nameko service exercising ``idempotent_event_handler``.

Its behaviour is driven by the event body, so one service covers every scenario:
``{"fail_times": n}`` fails the first n attempts, ``{"blocked_by": key}`` fails while
``consumertest.blocks`` holds ``key`` (a "bug" the test can fix), ``{"sleep": s}``
holds the transaction open for s seconds on the first delivery (to be killed
mid-handling). Every application inserts one row into ``consumertest.applied``
(no unique key), so an event applied twice shows up as two rows; the row keeps the
id of the transaction that applied it, so tests can see events applied together.

``record_batch`` is the batch handler form (``batch_handler=True``) on ``TicketClosed``
events: one call gets a list of events and records them with one ``call_id`` (so a
test sees how many came in one call); a ``blocked_by`` event fails the whole call.
"""

from __future__ import annotations

import uuid

from pasokh_common.consumer import DeliveredEvent, idempotent_event_handler, lock_advisory
from pasokh_common.nameko_deps import Database

import psycopg
from psycopg.types.json import Jsonb

SCHEMA = "consumertest"
MAX_ATTEMPTS = 3

TABLES_SQL = """
CREATE TABLE consumertest.applied (
    id          bigserial PRIMARY KEY,
    event_id    text    NOT NULL,
    attempt     integer NOT NULL,
    redelivered boolean NOT NULL,
    event_type  text    NOT NULL,
    payload     jsonb,
    xact        bigint  NOT NULL DEFAULT txid_current(),
    call_id     text
);
CREATE TABLE consumertest.blocks (key text PRIMARY KEY);
GRANT SELECT, INSERT ON consumertest.applied, consumertest.blocks TO {app_role};
GRANT USAGE ON SEQUENCE consumertest.applied_id_seq TO {app_role};
"""


def fail_if_blocked(tx: psycopg.Connection, data: dict) -> None:
    """An event naming a ``blocked_by`` key fails while that key is in the blocks table."""
    blocked_by = data.get("blocked_by")
    if (
        blocked_by
        and tx.execute("SELECT 1 FROM consumertest.blocks WHERE key = %s", (blocked_by,)).fetchone()
    ):
        raise PlannedFailure(f"blocked by {blocked_by}")


class PlannedFailure(RuntimeError):
    """Raised on purpose by the test handler."""


def lock_events(service, tx: psycopg.Connection, events: list[DeliveredEvent]) -> None:
    """A batch_lock like the services' (a lock per event, up front, in one order)."""
    lock_advisory(tx, (f"consumertest:{event.event_id}" for event in events))


class ConsumerTestService:
    name = "consumertest"
    db = Database()

    @idempotent_event_handler(
        "tickets", "TicketOpened", max_attempts=MAX_ATTEMPTS, batch_lock=lock_events
    )
    def record(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        if event.attempt <= int(data.get("fail_times", 0)):
            raise PlannedFailure(f"planned failure on attempt {event.attempt}")
        fail_if_blocked(tx, data)
        tx.execute(
            "INSERT INTO consumertest.applied (event_id, attempt, redelivered, event_type, payload)"
            " VALUES (%s, %s, %s, %s, %s)",
            (
                event.event_id,
                event.attempt,
                event.redelivered,
                event.type,
                Jsonb(data),
            ),
        )
        if data.get("sleep") and not event.redelivered:
            tx.execute("SELECT pg_sleep(%s)", (float(data["sleep"]),))

    @idempotent_event_handler(
        "tickets",
        "TicketClosed",
        max_attempts=MAX_ATTEMPTS,
        batch_lock=lock_events,
        batch_handler=True,
    )
    def record_batch(self, tx: psycopg.Connection, events: list[DeliveredEvent]) -> None:
        for event in events:
            fail_if_blocked(tx, event.data if isinstance(event.data, dict) else {})
        call_id = str(uuid.uuid4())
        with tx.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO consumertest.applied"
                " (event_id, attempt, redelivered, event_type, payload, call_id)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (e.event_id, e.attempt, e.redelivered, e.type, Jsonb(e.data), call_id)
                    for e in events
                ],
            )
