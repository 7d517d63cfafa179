"""A reply (or closing) and its TicketOpened, handled at the same time by two
transactions on real PostgreSQL: whichever order they take, the reply's SMS is queued
exactly once, and a reply to a ticket already recorded takes no lock at all."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from pasokh_common.consumer import DeliveredEvent

import pytest

from services.notify import repository as repo
from services.notify.config import NotifyConfig
from services.notify.context import Dependencies
from services.notify.domain.planning import TicketInfo
from services.notify.intake import Intake
from services.notify.providers.console import ConsoleProvider
from tests.integration.notify.conftest import reply_posted, ticket_closed, ticket_opened

pytestmark = pytest.mark.integration


def deps_for(pool) -> Dependencies:
    return Dependencies(pool, NotifyConfig(), ConsoleProvider(pool), contacts=None)


def delivered(event_type: str, data: dict) -> DeliveredEvent:
    return DeliveredEvent(str(uuid.uuid4()), event_type, data, MappingProxyType({}), 1, False)


def in_thread(work) -> tuple[threading.Thread, list]:
    errors: list = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # the test thread reports it
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def queued(pool, ticket_id: str) -> list[str]:
    with pool.connection() as conn:
        return sorted(r["template"] for r in repo.messages_for_ticket(conn, ticket_id, 10))


def held(pool) -> int:
    with pool.connection() as conn:
        return conn.execute("SELECT count(*) AS n FROM notify.held_ticket_events").fetchone()["n"]


def test_a_reply_first_is_held_and_its_ticket_opened_waits_for_it_then_queues_it(notify_pool):
    intake = Intake(deps_for(notify_pool))
    ticket = ticket_opened(str(uuid.uuid4()))
    opened = delivered("TicketOpened", ticket)
    reply = delivered("ReplyPosted", reply_posted(ticket["ticket_id"]))
    with notify_pool.connection() as conn:
        with conn.transaction():
            intake.reply_posted(conn, reply)  # not found: locks and holds
            thread, errors = in_thread(
                lambda: _in_transaction(notify_pool, intake.ticket_opened, opened)
            )
            thread.join(0.5)
            assert thread.is_alive(), "the TicketOpened must wait for the reply's lock"
    thread.join(10)
    assert not thread.is_alive() and errors == []
    assert queued(notify_pool, ticket["ticket_id"]) == ["ticket_answered", "ticket_opened"]
    assert held(notify_pool) == 0


def test_a_reply_waiting_for_the_lock_finds_the_ticket_its_opening_recorded(notify_pool):
    intake = Intake(deps_for(notify_pool))
    ticket = ticket_opened(str(uuid.uuid4()))
    opened = delivered("TicketOpened", ticket)
    reply = delivered("ReplyPosted", reply_posted(ticket["ticket_id"]))
    with notify_pool.connection() as conn:
        with conn.transaction():
            intake.ticket_opened(conn, opened)  # holds the lock until it commits
            thread, errors = in_thread(
                lambda: _in_transaction(notify_pool, intake.reply_posted, reply)
            )
            thread.join(0.5)
            assert thread.is_alive(), "the reply must wait for the opening's lock"
    thread.join(10)
    assert not thread.is_alive() and errors == []
    assert queued(notify_pool, ticket["ticket_id"]) == ["ticket_answered", "ticket_opened"]
    assert held(notify_pool) == 0  # found under the lock, not held


def test_a_reply_to_a_recorded_ticket_takes_no_lock(notify_pool):
    intake = Intake(deps_for(notify_pool))
    ticket = ticket_opened(str(uuid.uuid4()))
    _in_transaction(notify_pool, intake.ticket_opened, delivered("TicketOpened", ticket))
    reply = delivered("ReplyPosted", reply_posted(ticket["ticket_id"]))
    with notify_pool.connection() as conn:
        with conn.transaction():
            repo.lock_ticket(conn, ticket["ticket_id"])  # someone else holds the lock
            thread, errors = in_thread(
                lambda: _in_transaction(notify_pool, intake.reply_posted, reply)
            )
            thread.join(5)
            assert not thread.is_alive() and errors == []
    assert queued(notify_pool, ticket["ticket_id"]) == ["ticket_answered", "ticket_opened"]


def test_a_batch_of_ticket_openings_takes_every_held_event_once(notify_pool):
    """Several TicketOpened in one batch (the consumer's batch handler form, under its
    batch_lock): each ticket recorded, its own SMS queued, every event held for any of
    them taken and its SMS queued; the same batch again (a redelivery not caught by
    the claim, say under another consumer name) adds nothing."""
    intake = Intake(deps_for(notify_pool))
    one, two, three = (ticket_opened(str(uuid.uuid4())) for _ in range(3))
    held_events = [
        delivered("ReplyPosted", reply_posted(one["ticket_id"])),
        delivered("ReplyPosted", reply_posted(two["ticket_id"])),
        delivered("TicketClosed", ticket_closed(two["ticket_id"])),
    ]
    for event in held_events:
        handler = intake.reply_posted if event.type == "ReplyPosted" else intake.ticket_closed
        _in_transaction(notify_pool, handler, event)
    assert held(notify_pool) == 3
    batch = [delivered("TicketOpened", t) for t in (one, two, three)]

    for _ in range(2):
        with notify_pool.transaction() as tx:
            repo.lock_tickets(tx, [t["ticket_id"] for t in (one, two, three)])
            intake.tickets_opened(tx, batch)

    assert held(notify_pool) == 0
    assert queued(notify_pool, one["ticket_id"]) == ["ticket_answered", "ticket_opened"]
    assert queued(notify_pool, two["ticket_id"]) == [
        "ticket_answered",
        "ticket_closed",
        "ticket_opened",
    ]
    assert queued(notify_pool, three["ticket_id"]) == ["ticket_opened"]
    with notify_pool.connection() as conn:
        recorded = conn.execute(
            "SELECT ticket_id FROM notify.tickets WHERE ticket_id = ANY(%s)",
            ([t["ticket_id"] for t in (one, two, three)],),
        ).fetchall()
    assert len(recorded) == 3


def _in_transaction(pool, handler, event: DeliveredEvent) -> None:
    with pool.transaction() as tx:
        handler(tx, event)


TEHRAN = ZoneInfo("Asia/Tehran")
_MESSAGE_READ = (
    "SELECT message_id, idempotency_key, template, language, urgent, user_id, ticket_id,"
    " cause_event_id, correlation_id, params, recipient, provider, state, attempts,"
    " next_attempt_at, lease_until, expires_at, created_at, updated_at FROM notify.messages"
    " WHERE idempotency_key LIKE %s ORDER BY idempotency_key"
)


def message_rows(prefix: str, count: int, ticket_ids: list[str]) -> list[dict]:
    """``notify.messages`` rows as ``Intake.rows`` makes them, with every kind of value
    a column takes (NULLs, quotes and Persian in the JSON, times with microseconds
    in another zone)."""
    now = datetime(2026, 11, 25, 14, 0, 0, 123456, tzinfo=TEHRAN)
    return [
        {
            "message_id": uuid.uuid4(),
            "idempotency_key": f"{prefix}:{n:03d}",
            "template": "ticket_opened",
            "language": "fa" if n % 2 else None,
            "urgent": n % 3 == 0,
            "user_id": f"user-{n}",
            "ticket_id": ticket_ids[n % len(ticket_ids)],
            "cause_event_id": str(uuid.uuid4()),
            "correlation_id": None if n % 2 else f"corr-{n}",
            "params": {"number": f"P-{n}", "note": 'شماره "۱۲"\\n'} if n % 4 else None,
            "recipient": None,
            "provider": None,
            "state": "queued",
            "attempts": 0,
            "next_attempt_at": now + timedelta(seconds=n),
            "lease_until": None if n % 2 else now + timedelta(minutes=1),
            "expires_at": now + timedelta(days=1),
            "created_at": now,
        }
        for n in range(count)
    ]


@pytest.mark.parametrize("size", [1, 2, 50])
def test_batches_of_ticket_openings_and_messages_store_exactly_their_rows(notify_pool, size):
    """``record_tickets_and_take_held`` and ``insert_messages`` (one statement text for
    every batch size): every ticket and message row exactly as given, the events held
    for every other ticket taken and returned, an idempotency key seen before adding
    nothing."""
    prefix = str(uuid.uuid4())
    tickets = [
        (
            TicketInfo(str(uuid.uuid4()), f"P-{n}", f"customer-{n}", "billing"),
            f"2026-11-25T10:00:{n % 60:02d}.5+03:30",
        )
        for n in range(size)
    ]
    ids = [t.ticket_id for t, _ in tickets]
    messages = message_rows(prefix, size, ids)
    holds = [
        {
            "event_id": str(uuid.uuid4()),
            "ticket_id": ticket_id,
            "event_type": "ReplyPosted",
            "author_role": "agent",
            "correlation_id": f"c-{n}",
        }
        for n, ticket_id in enumerate(ids)
        if n % 2 == 0
    ]
    with notify_pool.transaction() as tx:
        for values in holds:
            assert repo.find_ticket_or_hold(tx, values) is None
    with notify_pool.transaction() as tx:
        taken = repo.record_tickets_and_take_held(tx, tickets, messages[: size // 2])
        assert repo.insert_messages(tx, messages) == size - size // 2

    assert sorted(taken, key=lambda r: r["event_id"]) == sorted(holds, key=lambda r: r["event_id"])
    assert held(notify_pool) == 0
    with notify_pool.connection() as conn:
        stored = conn.execute(
            "SELECT ticket_id, number, customer_id, department, opened_at FROM notify.tickets"
            " WHERE ticket_id = ANY(%s) ORDER BY number",
            (ids,),
        ).fetchall()
        rows = conn.execute(_MESSAGE_READ, (f"{prefix}:%",)).fetchall()
    assert stored == sorted(
        (
            {
                "ticket_id": t.ticket_id,
                "number": t.number,
                "customer_id": t.customer_id,
                "department": t.department,
                "opened_at": datetime.fromisoformat(opened_at),
            }
            for t, opened_at in tickets
        ),
        key=lambda r: r["number"],
    )
    assert rows == [
        {**m, "params": m["params"] or {}, "updated_at": m["created_at"]} for m in messages
    ]
    with notify_pool.transaction() as tx:
        assert repo.insert_messages(tx, messages) == 0
        assert repo.record_tickets_and_take_held(tx, tickets, messages) == []
