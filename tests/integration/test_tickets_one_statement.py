"""A tickets command writes with ONE statement: the events INSERT is the first CTE of
the read-model statement, and a customer's command on one stream runs it on an
autocommit connection (no BEGIN/COMMIT). Against real PostgreSQL; statements are
counted as psycopg sends them (BEGIN and COMMIT included)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from pasokh_common.eventlog import (
    ConcurrencyConflict,
    DuplicateEvent,
    EventMetadata,
    NewEvent,
    RecordedEvent,
)

import psycopg
import pytest
from psycopg.types.json import Jsonb

from services.tickets import projections
from services.tickets.aggregate_cache import TicketCache
from services.tickets.application import RECORD_RESULT, STORE, TicketCommands
from tests.support.clocks import SteppingClock as Clock

pytestmark = pytest.mark.integration

CUSTOMER = {"id": "cust-1", "role": "customer"}
AGENT = {"id": "agent-1", "role": "agent", "departments": ["technical"]}
META = EventMetadata(actor_id="cust-1", actor_role="customer")


@pytest.fixture
def commands(tickets_pool) -> TicketCommands:
    return TicketCommands(tickets_pool, clock=Clock(), cache=TicketCache(100))


def payload(subject: str = "اینترنت قطع است") -> dict:
    return {
        "department": "technical",
        "subject": subject,
        "priority": "normal",
        "body": "از دیروز اینترنت ندارم.",
    }


@pytest.fixture
def round_trips(monkeypatch) -> Callable[[Callable[[], object]], list[str]]:
    """Runs a callable and answers what it sent PostgreSQL, one entry per round trip:
    every cursor's statements, and the connection's own commands (BEGIN, COMMIT,
    ROLLBACK, SAVEPOINT: psycopg sends those through ``_exec_command``)."""
    sent: list[str] = []
    execute = psycopg.Cursor.execute
    command = psycopg.Connection._exec_command

    def logged_execute(cursor, query, *args, **kwargs):
        sent.append(" ".join(str(query).split())[:60])
        return execute(cursor, query, *args, **kwargs)

    def logged_command(conn, statement, *args, **kwargs):
        text = statement.decode() if isinstance(statement, bytes) else str(statement)
        sent.append(text.split()[0])
        return command(conn, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", logged_execute)
    monkeypatch.setattr(psycopg.Connection, "_exec_command", logged_command)

    def run(action: Callable[[], object]) -> list[str]:
        sent.clear()
        action()
        return list(sent)

    return run


def test_a_customers_opening_and_reply_are_one_write_statement_without_begin_or_commit(
    commands, round_trips
):
    similar = {"department": "technical", "subject": "اینترنت قطع است"}
    customer = {"id": f"cust-{uuid.uuid4()}", "role": "customer"}  # no key cached anywhere
    # The customer's first ticket creates their data key: that one runs in a
    # transaction (the key commits with the events).
    first = round_trips(lambda: commands.open_ticket(customer, payload("فاکتور اشتباه")))
    assert first.count("BEGIN") == 1 and first.count("COMMIT") == 1, first
    key_made = [n for n, q in enumerate(first) if "personal_data_keys" in q and "INSERT" in q]
    assert first.index("BEGIN") < key_made[0] < first.index("COMMIT"), first
    opened: dict = {}
    statements = round_trips(
        lambda: opened.update(commands.open_ticket_unless_similar(customer, payload(), similar))
    )
    # The duplicate check with the number; the events with the read models.
    assert len(statements) == 2, statements
    assert statements[0].startswith("WITH alike AS"), statements
    assert statements[1].startswith('WITH e AS (INSERT INTO "tickets"."events"'), statements
    tid = opened["ticket"]["ticket_id"]
    reply = {"ticket_id": tid, "body": "هنوز قطع است."}
    statements = round_trips(lambda: commands.post_reply(customer, reply))
    assert len(statements) == 1, statements  # the ticket came from the cache
    assert statements[0].startswith('WITH e AS (INSERT INTO "tickets"."events"'), statements
    # Staff keep the transaction: the membership rows that come back may undo it.
    answer = {"ticket_id": tid, "body": "بررسی شد."}
    statements = round_trips(lambda: commands.post_reply(AGENT, answer))
    assert len(statements) == 3, statements
    assert statements[0] == "BEGIN" and statements[2] == "COMMIT", statements
    assert statements[1].startswith('WITH e AS (INSERT INTO "tickets"."events"'), statements


def test_every_message_has_its_events_log_position(commands, tickets_pool):
    tid = commands.open_ticket(CUSTOMER, payload())["ticket_id"]
    commands.post_reply(CUSTOMER, {"ticket_id": tid, "body": "یک"})
    commands.post_reply(AGENT, {"ticket_id": tid, "body": "دو"})
    commands.post_internal_note(AGENT, {"ticket_id": tid, "body": "سه"})
    with tickets_pool.connection() as conn:
        pairs = conn.execute(
            "SELECT m.position AS message, e.position AS event FROM tickets.messages AS m"
            " JOIN tickets.events AS e ON e.stream_id = m.ticket_id::text"
            " AND e.data->>'message_id' = m.message_id::text"
            " WHERE m.ticket_id = %s ORDER BY m.position",
            (tid,),
        ).fetchall()
        events = conn.execute(
            "SELECT count(*) AS n FROM tickets.events WHERE stream_id = %s", (tid,)
        ).fetchone()["n"]
    assert len(pairs) == 4 and events == 5  # the agent's reply claimed the ticket too
    assert all(p["message"] == p["event"] for p in pairs), pairs


def everything(pool) -> dict:
    with pool.connection() as conn:
        tables = (*projections.READ_MODEL_TABLES, "tickets.events", "tickets.command_results")
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}


def write_reply(conn, tid: str, expected: int, event_id: uuid.UUID | None = None) -> list:
    """A customer's reply after ``expected`` through the command's one statement, with
    an idempotency record among its writes."""
    new = NewEvent(
        "ReplyPosted",
        {
            "message_id": str(uuid.uuid4()),
            "author_id": "cust-1",
            "author_role": "customer",
            "body": "هنوز قطع است.",
            "posted_at": "2026-11-25T10:00:00+00:00",
        },
        event_id=event_id or uuid.uuid4(),
    )
    at = datetime(2026, 11, 25, tzinfo=UTC)
    pending = [RecordedEvent(0, 0, tid, expected + 1, new.event_id, new.type, 1, new.data, {}, at)]
    projection = projections.compose(
        pending, append=STORE.prepare_append(tid, expected, [new], META)
    )
    projection.write(
        conn,
        params={
            "result_key": f"key-{uuid.uuid4()}",
            "result_command": "post_reply",
            "result_stream": tid,
            "result_json": Jsonb({"ticket_id": tid}),
        },
        also=[RECORD_RESULT],
    )
    return projection.recorded


@pytest.mark.parametrize(
    ("expected", "refusal"),
    [
        (0, ConcurrencyConflict),  # stale: version 1 is taken (the unique key)
        (5, ConcurrencyConflict),  # a version the stream never reached (the guard)
        (1, DuplicateEvent),  # an event id already in the log
    ],
)
def test_a_refused_append_writes_nothing_even_in_autocommit(
    commands, tickets_pool, expected, refusal
):
    tid = commands.open_ticket(CUSTOMER, payload())["ticket_id"]
    with tickets_pool.connection() as conn:
        opening_id = STORE.load(conn, tid)[0].event_id
    before = everything(tickets_pool)
    with tickets_pool.connection() as conn:  # autocommit: nothing would be rolled back
        with pytest.raises(refusal):
            write_reply(conn, tid, expected, opening_id if refusal is DuplicateEvent else None)
    assert everything(tickets_pool) == before
    # The same statement at the right version writes it all, positions from the log.
    with tickets_pool.connection() as conn:
        [recorded] = write_reply(conn, tid, 1)
        message = conn.execute(
            "SELECT position FROM tickets.messages WHERE message_id = %s",
            (recorded.data["message_id"],),
        ).fetchone()
        stored = STORE.load(conn, tid)[-1]
    assert recorded.version == 2 and recorded.position == stored.position
    assert message["position"] == stored.position and recorded.xid == stored.xid
    assert recorded.recorded_at == stored.recorded_at
    after = everything(tickets_pool)
    assert len(after["tickets.command_results"]) == 1
    assert after["tickets.ticket_summary"][0]["version"] == 2
