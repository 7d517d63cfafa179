"""The event log against real PostgreSQL, as the unprivileged application role."""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict

from pasokh_common.db import ConnectionPool
from pasokh_common.eventlog import (
    ConcurrencyConflict,
    DuplicateEvent,
    EventMetadata,
    EventStore,
    LogCursor,
    NewEvent,
)

import psycopg
import pytest

pytestmark = pytest.mark.integration

STORE = EventStore("tickets")
ACTOR = EventMetadata(actor_id="agent-1", actor_role="agent", correlation_id="corr-1")


def test_appended_events_load_back_in_version_order_with_metadata(tickets_pool: ConnectionPool):
    with tickets_pool.transaction() as conn:
        STORE.append(conn, "t-1", 0, [NewEvent("TicketOpened", {"subject": "سلام"})], ACTOR)
    with tickets_pool.transaction() as conn:
        STORE.append(conn, "t-1", 1, [NewEvent("TicketClaimed", {"agent_id": "a"})], ACTOR)
    with tickets_pool.connection() as conn:
        events = STORE.load(conn, "t-1")
    assert [(e.version, e.type) for e in events] == [(1, "TicketOpened"), (2, "TicketClaimed")]
    assert events[0].data == {"subject": "سلام"}
    assert events[0].metadata["actor_id"] == "agent-1"
    assert events[0].metadata["actor_role"] == "agent"
    assert events[0].metadata["correlation_id"] == "corr-1"


def test_stale_expected_version_is_a_conflict_and_appends_nothing(tickets_pool: ConnectionPool):
    with tickets_pool.transaction() as conn:
        STORE.append(conn, "t-2", 0, [NewEvent("TicketOpened", {})], ACTOR)
    with pytest.raises(ConcurrencyConflict), tickets_pool.transaction() as conn:
        STORE.append(conn, "t-2", 0, [NewEvent("TicketOpened", {})], ACTOR)
    with pytest.raises(ConcurrencyConflict), tickets_pool.transaction() as conn:
        STORE.append(conn, "t-2", 5, [NewEvent("TicketClaimed", {})], ACTOR)
    with tickets_pool.connection() as conn:
        assert len(STORE.load(conn, "t-2")) == 1


def test_two_agents_claiming_at_once_exactly_one_wins(tickets_pool: ConnectionPool):
    with tickets_pool.transaction() as conn:
        STORE.append(conn, "t-3", 0, [NewEvent("TicketOpened", {})], ACTOR)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def claim(agent: str) -> None:
        try:
            with tickets_pool.transaction() as conn:
                STORE.load(conn, "t-3")
                barrier.wait()
                STORE.append(conn, "t-3", 1, [NewEvent("TicketClaimed", {"agent": agent})], ACTOR)
            outcomes.append("won")
        except ConcurrencyConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=claim, args=(a,)) for a in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "won"]


def test_same_event_id_twice_is_refused(tickets_pool: ConnectionPool):
    event = NewEvent("TicketOpened", {})
    with tickets_pool.transaction() as conn:
        STORE.append(conn, "t-4", 0, [event], ACTOR)
    with pytest.raises(DuplicateEvent), tickets_pool.transaction() as conn:
        STORE.append(conn, "t-5", 0, [event], ACTOR)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE tickets.events SET data = '{}'::jsonb",
        "DELETE FROM tickets.events",
        "TRUNCATE tickets.events",
    ],
)
def test_application_role_cannot_change_or_remove_events(
    tickets_pool: ConnectionPool, tickets_db: dict, statement: str
):
    with tickets_pool.transaction() as conn:
        STORE.append(conn, "t-6", 0, [NewEvent("TicketOpened", {"x": 1})], ACTOR)
    with psycopg.connect(tickets_db["url"], autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
    # Even the owner (who may be granted anything) is stopped by the triggers.
    with psycopg.connect(tickets_db["admin_url"], autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
        assert conn.execute("SELECT data FROM tickets.events").fetchone()[0] == {"x": 1}


def test_concurrent_writers_reader_sees_every_event_once_in_stream_order(
    tickets_pool: ConnectionPool,
):
    """8 writers, 2,000 events, interleaved commits: a tailing reader that only keeps its
    (xid, position) cursor must see each event exactly once, each stream in order."""
    writers, per_writer, streams_per_writer = 8, 250, 5
    stop = threading.Event()
    seen: list = []
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            versions = defaultdict(int)
            for n in range(per_writer):
                # Streams shared by pairs of writers, so appends also conflict and retry.
                stream = f"s-{(writer // 2)}-{n % streams_per_writer}"
                while True:
                    try:
                        with tickets_pool.transaction() as conn:
                            current = STORE.load(conn, stream)
                            versions[stream] = len(current)
                            STORE.append(
                                conn,
                                stream,
                                len(current),
                                [NewEvent("Tick", {"writer": writer, "n": n})],
                                ACTOR,
                            )
                            if n % 7 == 0:
                                conn.execute("SELECT pg_sleep(0.002)")
                        break
                    except ConcurrencyConflict:
                        continue
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    total = writers * per_writer

    def read() -> None:
        # Stop only when every event was seen (or long after the writers finished): the
        # horizon is cluster-wide, so another session's open transaction may hold rows
        # back for a while; an early stop would be the reader's bug, not the log's.
        cursor = LogCursor()
        deadline = None
        with psycopg.connect(
            tickets_pool._dsn, autocommit=True, row_factory=psycopg.rows.dict_row
        ) as conn:
            while len(seen) < total:
                batch = STORE.read_committed(conn, cursor, limit=100)
                seen.extend(batch)
                if batch:
                    cursor = batch[-1].cursor
                elif stop.is_set():
                    deadline = deadline or time.monotonic() + 60
                    if time.monotonic() > deadline:
                        return
                    time.sleep(0.01)

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    reader.join(timeout=120)
    assert not errors, errors
    ids = [e.event_id for e in seen]
    assert len(ids) == total
    assert len(set(ids)) == total
    last_version: dict[str, int] = defaultdict(int)
    for event in seen:
        assert event.version == last_version[event.stream_id] + 1, event
        last_version[event.stream_id] = event.version


def test_idempotency_key_returns_first_result(tickets_pool: ConnectionPool):
    key = str(uuid.uuid4())
    with tickets_pool.transaction() as conn:
        assert STORE.find_result(conn, key) is None
        STORE.append(conn, "t-7", 0, [NewEvent("TicketOpened", {})], ACTOR)
        STORE.record_result(conn, key, "open_ticket", "t-7", {"id": "t-7"})
    with tickets_pool.connection() as conn:
        assert STORE.find_result(conn, key) == {"id": "t-7"}


def test_append_is_one_atomic_statement_even_in_autocommit(tickets_pool: ConnectionPool):
    """Without a surrounding transaction an append is still all-or-nothing, and its
    events take positions in version order (rebuilds replay by position)."""
    events = [NewEvent("TicketOpened", {}), NewEvent("AttachmentAdded", {}), NewEvent("X", {})]
    with tickets_pool.connection() as conn:  # autocommit
        recorded = STORE.append(conn, "t-8", 0, events, ACTOR)
        assert [e.version for e in recorded] == [1, 2, 3]
        assert [e.position for e in recorded] == sorted(e.position for e in recorded)
        duplicate_inside = [NewEvent("A", {}), events[1]]  # second one reuses an event id
        with pytest.raises(DuplicateEvent):
            STORE.append(conn, "t-8", 3, duplicate_inside, ACTOR)
        assert len(STORE.load(conn, "t-8")) == 3  # the first of the pair was not kept
        loaded = STORE.load(conn, "t-8", with_metadata=False)
        assert loaded[0].metadata == {} and loaded[0].data == {}
