"""How fast the tickets event log appends, against raw INSERTs and a peer library.

Run with ``bin/bench`` (``--help`` for options). Everything runs in ONE scratch
database created for the run and dropped afterwards, so every workload meets the
same server, the same configuration and the same disk:

* raw: a single-row INSERT of a comparable row (uuid, text, jsonb), one per
  transaction: the ceiling any event log on this server lives under;
* ours: the tickets service's own path (``TicketRepository``): a new ticket is
  decided without a load, a reply on the ticket from the process's ``TicketCache``;
  one guarded ``EventStore.append`` each; and, for comparison, the same with a load
  of the stream first (the path before the cache);
* eventsourcing: the same decisions and the same JSON stored through the
  ``eventsourcing`` library's ``PostgresApplicationRecorder``, our declared peer:
  a new aggregate saved without a load, a reply on the aggregate from the library's
  own aggregate cache (no fast-forward, its default deep copy); and the same with
  ``select_events`` first;
* full command path: ``TicketCommands.open_ticket`` / ``post_reply`` with the read
  models (cache on, and off for replies), to show what the projections cost;
* the relay's publish rate with broker confirms (``benchmarks.relay_bench``).

Each workload runs at 1 and at 8 clients (threads, each with its own connection)
for a fixed time after a short warm-up, and reports committed commands per
second. Why threads and not processes: the services are single Python processes
too, so the client cost of Python (the GIL) is part of what a service sees.

This is a benchmark, not a test: it prints numbers and whether the targets of the
event log hold; it fails only when a workload itself fails.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import itertools
import json
import os
import platform
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pasokh_common  # noqa: F401  (before psycopg: it picks psycopg's wait function)
from pasokh_common import migrations
from pasokh_common.db import ConnectionPool
from pasokh_common.eventlog import EventMetadata, EventStore, NewEvent

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services.tickets.aggregate_cache import CACHE_LOOKUPS, DEFAULT_SIZE, TicketCache
from services.tickets.application import TicketCommands
from services.tickets.domain import (
    Actor,
    DomainEvent,
    Priority,
    Role,
    Ticket,
    TicketPolicy,
    event_from_data,
    ticket_number_for,
)
from services.tickets.domain.numbers import MAX_SEQUENCE
from services.tickets.ticket_repository import CommandSession, TicketRepository

REPO_ROOT = Path(__file__).resolve().parent.parent
TICKETS_MIGRATIONS = REPO_ROOT / "services" / "tickets" / "migrations"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"

STORE = EventStore("tickets")
ES_SCHEMA = "eventsourcing"
POLICY = TicketPolicy()
# Realistic, Persian text: the body is the bulk of every event's JSON.
SUBJECT = "اینترنت قطع است"
OPEN_BODY = "از دیروز عصر اینترنت منزل قطع است و چراغ مودم قرمز چشمک می‌زند. لطفاً بررسی کنید."
REPLY_BODY = "مودم را خاموش و روشن کردم ولی هنوز وصل نمی‌شود. شمارهٔ اشتراک: ۱۲۳۴۵۶۷۸"
# A stream is retired after this many events, so loads stay as short as real
# tickets' (an opening message and a handful of replies), averaging about half of it.
MAX_STREAM_EVENTS = 20
# Tickets in use at once by each client of the "existing tickets" workloads.
ACTIVE_TICKETS = 10

_numbers = itertools.count(1)


def next_ticket_number() -> str:
    """Numbers from a process-wide counter: the sequence round trip is the
    application's business (measured in the full command path), not the log's."""
    return ticket_number_for(next(_numbers) % MAX_SEQUENCE + 1)


def customer(client: int) -> Actor:
    return Actor(id=f"bench-customer-{client}", role=Role.CUSTOMER)


# -- the decisions: identical for our store and for eventsourcing -------------------


def decide_open(ticket_id: str, history: Sequence[DomainEvent], actor: Actor) -> list:
    if history:
        raise RuntimeError(f"ticket {ticket_id} already exists")
    return Ticket.open(
        ticket_id=ticket_id,
        number=next_ticket_number(),
        message_id=str(uuid.uuid4()),
        actor=actor,
        department="technical",
        subject=SUBJECT,
        priority=Priority.NORMAL,
        body=OPEN_BODY,
        attachments=(),
        now=datetime.now(UTC),
        policy=POLICY,
    )


def decide_reply(history: Sequence[DomainEvent], actor: Actor) -> list:
    return reply_to(Ticket.from_events(history), actor)


def reply_to(ticket: Ticket, actor: Actor) -> list:
    return ticket.post_reply(
        actor, REPLY_BODY, (), datetime.now(UTC), message_id=str(uuid.uuid4()), policy=POLICY
    )


def to_new_event(event: DomainEvent) -> NewEvent:
    return NewEvent(type=event.TYPE, data=event.to_data(), schema_version=event.SCHEMA_VERSION)


def metadata_for(actor: Actor) -> EventMetadata:
    return EventMetadata(actor_id=actor.id, actor_role=actor.role.value, origin="bench")


# -- running a workload --------------------------------------------------------------


class Worker(Protocol):
    """One client: ``setup`` before the clock starts, then ``step`` (one committed
    transaction, returns the number of events it appended) until time is up."""

    def setup(self) -> None: ...

    def step(self) -> int: ...

    def close(self) -> None: ...


@dataclass
class Result:
    workload: str
    label: str
    clients: int
    seconds: float
    commits: int
    events: int
    errors: int = 0
    first_error: str | None = None
    longest_stream: int | None = None
    # Where the time went: CPU of this (client) process per commit, the cores it
    # used, and how busy the whole machine was (database included) while timed.
    client_cpu_us: float | None = None
    client_cores: float | None = None
    machine_busy: float | None = None
    # Share of a cached workload's ticket lookups answered from memory (with warm-up).
    cache_hit_rate: float | None = None
    samples: list[float] = field(default_factory=list)

    @property
    def commits_per_s(self) -> float:
        return self.commits / self.seconds if self.seconds else 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def run_workload(
    workload: str,
    label: str,
    make_worker: Callable[[int], Worker],
    clients: int,
    seconds: float,
    warmup: float,
) -> Result:
    """Start ``clients`` threads together; count what commits in the timed window."""
    workers = [make_worker(i) for i in range(clients)]
    schedule: dict[str, float] = {}

    def set_schedule() -> None:
        now = time.perf_counter()
        schedule["count_from"] = now + warmup
        schedule["stop_at"] = now + warmup + seconds

    ready = threading.Event()

    def start_clock() -> None:
        set_schedule()
        ready.set()

    barrier = threading.Barrier(clients, action=start_clock)
    counts = [[0, 0, 0, 0.0] for _ in range(clients)]  # commits, events, errors, finished
    failures: list[str] = []

    def client(index: int) -> None:
        worker = workers[index]
        try:
            worker.setup()
        except Exception:
            failures.append(traceback.format_exc())
            barrier.abort()
            ready.set()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        tally = counts[index]
        count_from, stop_at = schedule["count_from"], schedule["stop_at"]
        while True:
            started = time.perf_counter()
            if started >= stop_at:
                break
            try:
                events = worker.step()
            except Exception:
                tally[2] += 1
                if len(failures) < 5:
                    failures.append(traceback.format_exc())
                if tally[2] > 50:
                    break
                continue
            if started >= count_from:
                tally[0] += 1
                tally[1] += events
        tally[3] = time.perf_counter()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    usage = None
    if "count_from" in schedule:
        time.sleep(max(0.0, schedule["count_from"] - time.perf_counter()))
        first = (time.perf_counter(), time.process_time(), machine_cpu_times())
        time.sleep(max(0.0, schedule["stop_at"] - time.perf_counter()))
        last = (time.perf_counter(), time.process_time(), machine_cpu_times())
        usage = (first, last)
    for thread in threads:
        thread.join()
    for worker in workers:
        with contextlib.suppress(Exception):
            worker.close()
    if "count_from" not in schedule:
        raise RuntimeError(f"{workload}: a client failed to set up:\n" + "\n".join(failures))
    finished = max(tally[3] for tally in counts)
    longest = [getattr(w, "longest_stream", None) for w in workers]
    commits = sum(t[0] for t in counts)
    client_cpu_us = client_cores = machine_busy = None
    if usage:
        (wall0, cpu0, machine0), (wall1, cpu1, machine1) = usage
        client_cpu_us = round((cpu1 - cpu0) / commits * 1e6, 1) if commits else None
        client_cores = round((cpu1 - cpu0) / (wall1 - wall0), 2)
        if machine0 and machine1:
            busy = machine1[0] - machine0[0]
            total = busy + machine1[1] - machine0[1]
            machine_busy = round(busy / total, 2) if total else None
    return Result(
        workload=workload,
        label=label,
        clients=clients,
        seconds=round(finished - schedule["count_from"], 3),
        commits=commits,
        events=sum(t[1] for t in counts),
        errors=sum(t[2] for t in counts),
        first_error=failures[0] if failures else None,
        longest_stream=max((x for x in longest if x is not None), default=None),
        client_cpu_us=client_cpu_us,
        client_cores=client_cores,
        machine_busy=machine_busy,
    )


def machine_busy_now(seconds: float = 1.0) -> float | None:
    """Share of all CPUs busy over ``seconds`` before the run: anything else running
    on the machine (a test suite, a build) shows up here and in every number."""
    first = machine_cpu_times()
    time.sleep(seconds)
    last = machine_cpu_times()
    if not first or not last:
        return None
    busy, idle = last[0] - first[0], last[1] - first[1]
    return round(busy / (busy + idle), 2) if busy + idle else None


def machine_cpu_times() -> tuple[int, int] | None:
    """(busy, idle) clock ticks of all CPUs from /proc/stat; None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle, idle


def connect(url: str) -> psycopg.Connection:
    """Autocommit with dict rows: exactly how pasokh_common.db hands connections out."""
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


# -- raw INSERT baseline -----------------------------------------------------------


def sample_event_json() -> dict[str, Any]:
    """The JSON of a real reply event, so raw rows weigh what events weigh."""
    opened = decide_open(str(uuid.uuid4()), [], customer(0))
    reply = decide_reply(opened, customer(0))[0]
    return {"data": reply.to_data(), "metadata": metadata_for(customer(0)).as_dict()}


class RawInsert:
    def __init__(self, url: str, explicit_transaction: bool) -> None:
        self.url = url
        self.explicit = explicit_transaction
        self.payload = sample_event_json()

    def setup(self) -> None:
        self.conn = connect(self.url)

    def step(self) -> int:
        params = (uuid.uuid4(), "ReplyPosted", Jsonb(self.payload))
        query = "INSERT INTO bench.raw_rows (id, kind, data) VALUES (%s, %s, %s)"
        if self.explicit:
            with self.conn.transaction():
                self.conn.execute(query, params)
        else:
            self.conn.execute(query, params)
        return 1

    def close(self) -> None:
        self.conn.close()


# -- our event log -------------------------------------------------------------------


class Streams:
    """The tickets one client replies to: ``ACTIVE_TICKETS`` in turn, each retired
    after ``MAX_STREAM_EVENTS`` events for a fresh one from a reserve made before
    the clock started (so no workload pays for opening tickets it did not time)."""

    def __init__(self, fresh: list[str]) -> None:
        self.active = [[ticket_id, 1] for ticket_id in fresh[:ACTIVE_TICKETS]]
        self.reserve = fresh[ACTIVE_TICKETS:]
        self.turn = 0
        self.longest_stream = 1

    def next(self) -> list:
        self.turn = (self.turn + 1) % len(self.active)
        return self.active[self.turn]

    def appended(self, slot: list, version: int) -> None:
        slot[1] = version
        self.longest_stream = max(self.longest_stream, version)
        if version >= MAX_STREAM_EVENTS and self.reserve:
            slot[0], slot[1] = self.reserve.pop(), 1


class Replying:
    """A worker that replies to its own tickets (``self.streams``), in turn."""

    streams: Streams

    @property
    def longest_stream(self) -> int:
        return self.streams.longest_stream


def chunks(total: int, size: int) -> Iterator[range]:
    """``range(total)`` in pieces of ``size`` (itertools.batched is Python 3.12)."""
    for start in range(0, total, size):
        yield range(start, min(start + size, total))


def reserve_size(expected_rate: float, seconds: float, clients: int) -> int:
    """Fresh tickets one client needs so that no stream outgrows MAX_STREAM_EVENTS:
    the replies it may make (rate of new tickets as an upper bound, with margin)
    divided by the replies a ticket takes before it is retired."""
    replies = expected_rate * seconds * 1.5 / clients
    return ACTIVE_TICKETS + int(replies / (MAX_STREAM_EVENTS - 1)) + 1


class OursNewLoading:
    """Before the aggregate cache: load the (empty) stream, decide, append."""

    def __init__(self, url: str, client: int) -> None:
        self.url = url
        self.actor = customer(client)

    def setup(self) -> None:
        self.conn = connect(self.url)

    def step(self) -> int:
        # As the peer's default way: load, decide, then one atomic append statement
        # (its own transaction on an autocommit connection); optimistic concurrency
        # needs no transaction around the load.
        ticket_id = str(uuid.uuid4())
        history = STORE.load(self.conn, ticket_id, with_metadata=False)
        events = decide_open(ticket_id, to_domain(history), self.actor)
        STORE.append(
            self.conn,
            ticket_id,
            len(history),
            [to_new_event(e) for e in events],
            metadata_for(self.actor),
        )
        return len(events)

    def close(self) -> None:
        self.conn.close()


def to_domain(recorded: Sequence[Any]) -> list[DomainEvent]:
    return [event_from_data(e.type, e.data, e.schema_version) for e in recorded]


def repository_for(cache: TicketCache) -> TicketRepository:
    """The tickets service's own command path: ``TicketRepository`` over the process's
    ``TicketCache`` (services/tickets/ticket_repository.py)."""
    return TicketRepository(STORE, cache, decode=to_domain)


def open_through(
    repository: TicketRepository, conn: psycopg.Connection, actor: Actor, ticket_id: str
) -> int:
    """Open a ticket as the service does: no load (the id is new), decide, one guarded
    append; the session caches the new ticket once the append committed."""

    def attempt(session: CommandSession) -> int:
        _none, version = session.load(conn, new_stream=True)
        events = decide_open(ticket_id, [], actor)
        recorded = STORE.append(
            conn, ticket_id, version, [to_new_event(e) for e in events], metadata_for(actor)
        )
        session.appended(ticket_id, events, recorded)
        return len(events)

    return repository.run(ticket_id, attempt)


class OursNew:
    """New tickets the way the tickets service opens them (no load)."""

    def __init__(self, url: str, client: int, cache: TicketCache) -> None:
        self.url = url
        self.actor = customer(client)
        self.repository = repository_for(cache)

    def setup(self) -> None:
        self.conn = connect(self.url)

    def step(self) -> int:
        return open_through(self.repository, self.conn, self.actor, str(uuid.uuid4()))

    def close(self) -> None:
        self.conn.close()


class OursExistingLoading(Replying):
    """Before the aggregate cache: every reply loads and rebuilds its stream."""

    def __init__(self, url: str, client: int, tickets: int) -> None:
        self.url = url
        self.actor = customer(client)
        self.tickets = tickets

    def setup(self) -> None:
        self.conn = connect(self.url)
        fresh = []
        for batch in chunks(self.tickets, 200):
            with self.conn.transaction():
                for _ in batch:
                    ticket_id = str(uuid.uuid4())
                    events = decide_open(ticket_id, [], self.actor)
                    STORE.append(
                        self.conn,
                        ticket_id,
                        0,
                        [to_new_event(e) for e in events],
                        metadata_for(self.actor),
                    )
                    fresh.append(ticket_id)
        self.streams = Streams(fresh)

    def step(self) -> int:
        slot = self.streams.next()
        ticket_id = slot[0]
        history = STORE.load(self.conn, ticket_id, with_metadata=False)
        events = decide_reply(to_domain(history), self.actor)
        STORE.append(
            self.conn,
            ticket_id,
            len(history),
            [to_new_event(e) for e in events],
            metadata_for(self.actor),
        )
        self.streams.appended(slot, len(history) + len(events))
        return len(events)

    def close(self) -> None:
        self.conn.close()


class OursExisting(Replying):
    """Replies the way the tickets service decides them: the ticket from the process's
    cache (one cache shared by the clients, as by a service's workers), decide, one
    guarded append; a miss or a stale entry loads the stream."""

    def __init__(self, url: str, client: int, tickets: int, cache: TicketCache) -> None:
        self.url = url
        self.actor = customer(client)
        self.tickets = tickets
        self.repository = repository_for(cache)

    def setup(self) -> None:
        self.conn = connect(self.url)
        fresh = [str(uuid.uuid4()) for _ in range(self.tickets)]
        for ticket_id in fresh:
            open_through(self.repository, self.conn, self.actor, ticket_id)
        self.streams = Streams(fresh)

    def step(self) -> int:
        slot = self.streams.next()
        ticket_id = slot[0]

        def attempt(session: CommandSession) -> int:
            ticket, version = session.load(self.conn, new_stream=False)
            assert ticket is not None
            events = reply_to(ticket, self.actor)
            recorded = STORE.append(
                self.conn,
                ticket_id,
                version,
                [to_new_event(e) for e in events],
                metadata_for(self.actor),
            )
            session.appended(ticket_id, events, recorded)
            return version + len(events)

        version = self.repository.run(ticket_id, attempt)
        appended = version - slot[1]
        self.streams.appended(slot, version)
        return appended

    def close(self) -> None:
        self.conn.close()


# -- the eventsourcing library --------------------------------------------------------


class EventsourcingLog:
    """The library's own Postgres recorder, as an eventsourcing application would make
    it: one datastore (a psycopg_pool pool of ``clients`` connections) shared by the
    application's threads, the default ``PostgresApplicationRecorder`` (which locks
    the table for every insert to keep its notification ids gap-free) in a schema
    of its own."""

    def __init__(self, url: str, clients: int) -> None:
        from eventsourcing.application import LRUCache
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

        params = conninfo_to_dict(url)
        self.datastore = PostgresDatastore(
            dbname=str(params.get("dbname", "postgres")),
            host=str(params.get("host", "127.0.0.1")),
            port=str(params.get("port", 5432)),
            user=str(params.get("user", "postgres")),
            password=str(params.get("password", "")),
            schema=ES_SCHEMA,
            pool_size=clients,
            max_overflow=0,
        )
        self.recorder = PostgresApplicationRecorder(self.datastore)
        # The library's aggregate cache (an application's AGGREGATE_CACHE_MAXSIZE),
        # shared by the threads as one application's repository would share it.
        self.cache: LRUCache[str, Ticket] = LRUCache(maxsize=DEFAULT_SIZE)

    def load(self, ticket_id: str) -> list[DomainEvent]:
        events = []
        for stored in self.recorder.select_events(uuid.UUID(ticket_id)):
            state = json.loads(stored.state)
            events.append(event_from_data(stored.topic, state["data"], state["schema_version"]))
        return events

    def get_cached(self, ticket_id: str) -> Ticket:
        """What the library's ``Repository.get`` does with an aggregate cache and
        ``AGGREGATE_CACHE_FASTFORWARD=n``: the cached aggregate, deep-copied (its
        default ``DEEPCOPY_FROM_AGGREGATE_CACHE=y``), with no ``select_events``; on
        a miss, rebuilt from ``select_events`` and cached."""
        try:
            ticket = self.cache.get(ticket_id)
        except KeyError:
            ticket = Ticket.from_events(self.load(ticket_id))
            self.cache.put(ticket_id, ticket)
        return copy.deepcopy(ticket)

    def stored(self, ticket_id: str, version: int, events: Sequence[DomainEvent], actor: Actor):
        """Our events as the library's StoredEvent: the same JSON as our rows hold
        (event id, schema version, data, metadata), as bytes."""
        from eventsourcing.persistence import StoredEvent

        meta = metadata_for(actor).as_dict()
        return [
            StoredEvent(
                originator_id=uuid.UUID(ticket_id),
                originator_version=version + offset + 1,
                topic=event.TYPE,
                state=json.dumps(
                    {
                        "event_id": str(uuid.uuid4()),
                        "schema_version": event.SCHEMA_VERSION,
                        "data": event.to_data(),
                        "metadata": meta,
                    },
                    ensure_ascii=False,
                ).encode(),
            )
            for offset, event in enumerate(events)
        ]

    def append(
        self, ticket_id: str, version: int, events: Sequence[DomainEvent], actor: Actor
    ) -> None:
        self.recorder.insert_events(self.stored(ticket_id, version, events, actor))

    def save(self, ticket: Ticket, version: int, events: Sequence[DomainEvent], actor: Actor):
        """``Application.save`` with a non-fast-forwarding cache: the aggregate has
        applied its new events (the library's aggregates do so as they trigger
        them), they are recorded, then the aggregate is put in the cache."""
        for event in events:
            ticket.apply(event)
        assert ticket.id is not None
        self.append(ticket.id, version, events, actor)
        self.cache.put(ticket.id, ticket)

    def close(self) -> None:
        self.datastore.close()


class EsNew:
    """A new aggregate as the library saves one: created in memory, no
    ``select_events``, ``insert_events``, then cached (``Application.save``); with
    ``load_first``, ``select_events`` for the new id first, as our "before" row."""

    def __init__(self, log: EventsourcingLog, client: int, load_first: bool) -> None:
        self.log = log
        self.actor = customer(client)
        self.load_first = load_first

    def setup(self) -> None:
        pass

    def step(self) -> int:
        ticket_id = str(uuid.uuid4())
        if self.load_first:
            history = self.log.load(ticket_id)
            events = decide_open(ticket_id, history, self.actor)
            self.log.append(ticket_id, len(history), events, self.actor)
        else:
            events = decide_open(ticket_id, [], self.actor)
            self.log.save(Ticket(), 0, events, self.actor)
        return len(events)

    def close(self) -> None:
        pass


class EsExistingLoading(Replying):
    """The library's default (no aggregate cache): ``select_events`` every time."""

    def __init__(self, log: EventsourcingLog, client: int, tickets: int) -> None:
        self.log = log
        self.actor = customer(client)
        self.tickets = tickets

    def setup(self) -> None:
        fresh = []
        for batch in chunks(self.tickets, 200):
            stored = []
            for _ in batch:
                ticket_id = str(uuid.uuid4())
                events = decide_open(ticket_id, [], self.actor)
                stored.extend(self.log.stored(ticket_id, 0, events, self.actor))
                fresh.append(ticket_id)
            self.log.recorder.insert_events(stored)
        self.streams = Streams(fresh)

    def step(self) -> int:
        slot = self.streams.next()
        ticket_id = slot[0]
        history = self.log.load(ticket_id)
        events = decide_reply(history, self.actor)
        self.log.append(ticket_id, len(history), events, self.actor)
        self.streams.appended(slot, len(history) + len(events))
        return len(events)

    def close(self) -> None:
        pass


class EsExisting(Replying):
    """The library with its aggregate cache and no fast-forward: the cached
    aggregate (deep-copied), decide, ``insert_events``, cache the result."""

    def __init__(self, log: EventsourcingLog, client: int, tickets: int) -> None:
        self.log = log
        self.actor = customer(client)
        self.tickets = tickets

    def setup(self) -> None:
        fresh = [str(uuid.uuid4()) for _ in range(self.tickets)]
        for ticket_id in fresh:
            self.log.save(Ticket(), 0, decide_open(ticket_id, [], self.actor), self.actor)
        self.streams = Streams(fresh)

    def step(self) -> int:
        slot = self.streams.next()
        ticket = self.log.get_cached(slot[0])
        version = ticket.version
        events = reply_to(ticket, self.actor)
        self.log.save(ticket, version, events, self.actor)
        self.streams.appended(slot, version + len(events))
        return len(events)

    def close(self) -> None:
        pass


# -- the whole command path (with read models) ------------------------------------------


def actor_data(client: int) -> dict[str, Any]:
    return {"id": f"bench-customer-{client}", "role": "customer"}


def open_payload() -> dict[str, Any]:
    return {"department": "technical", "subject": SUBJECT, "body": OPEN_BODY}


class FullOpen:
    def __init__(self, commands: TicketCommands, client: int) -> None:
        self.commands = commands
        self.actor = actor_data(client)

    def setup(self) -> None:
        pass

    def step(self) -> int:
        return self.commands.open_ticket(self.actor, open_payload())["version"]

    def close(self) -> None:
        pass


class FullReply(Replying):
    def __init__(self, commands: TicketCommands, client: int, tickets: int) -> None:
        self.commands = commands
        self.actor = actor_data(client)
        self.tickets = tickets

    def setup(self) -> None:
        fresh = [
            self.commands.open_ticket(self.actor, open_payload())["ticket_id"]
            for _ in range(self.tickets)
        ]
        self.streams = Streams(fresh)

    def step(self) -> int:
        slot = self.streams.next()
        view = self.commands.post_reply(self.actor, {"ticket_id": slot[0], "body": REPLY_BODY})
        appended = view["version"] - slot[1]
        self.streams.appended(slot, view["version"])
        return appended

    def close(self) -> None:
        pass


# -- the scratch database ------------------------------------------------------------


def with_database(url: str, dbname: str) -> str:
    """``url`` pointing at ``dbname`` instead (URL or key=value form)."""
    if "://" in url:
        parts = urllib.parse.urlsplit(url)
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, ""))
    return psycopg.conninfo.make_conninfo(url, dbname=dbname)


@contextlib.contextmanager
def scratch_database(admin_url: str, keep: bool = False) -> Iterator[str]:
    """A database of this run only, with the tickets migrations, a plain table for
    the raw INSERTs and the eventsourcing library's tables in a schema of their own."""
    name = f"pasokh_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(admin_url, name)
    try:
        migrations.apply(url, "tickets", TICKETS_MIGRATIONS)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA bench")
            conn.execute(
                "CREATE TABLE bench.raw_rows (id uuid PRIMARY KEY, kind text NOT NULL,"
                " data jsonb NOT NULL)"
            )
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(ES_SCHEMA)))
        log = EventsourcingLog(url, 1)
        try:
            log.recorder.create_table()
        finally:
            log.close()
        yield url
    finally:
        if keep:
            print(f"kept scratch database {name}", file=sys.stderr)
        else:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


@contextlib.contextmanager
def scratch_vhost(amqp_uri: str) -> Iterator[str]:
    """A RabbitMQ vhost of this run (the test helpers'), else the given URI as is."""
    try:
        from tests.support import infra
    except ImportError:
        yield amqp_uri
        return
    name = f"pasokh_bench_{uuid.uuid4().hex[:8]}"
    try:
        uri = infra.create_vhost(amqp_uri, name)
    except Exception as exc:
        print(f"no scratch vhost ({exc}); using {amqp_uri}", file=sys.stderr)
        yield amqp_uri
        return
    try:
        yield uri
    finally:
        infra.delete_vhost(amqp_uri, name)


def checkpoint(url: str) -> None:
    """Start every workload from a clean WAL, so no workload inherits another's
    checkpoint (needs a superuser; skipped otherwise)."""
    with contextlib.suppress(psycopg.Error), psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def count_rows(url: str, table: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def server_facts(url: str) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        settings = {
            name: conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0]
            for name in (
                "server_version",
                "synchronous_commit",
                "fsync",
                "wal_sync_method",
                "shared_buffers",
                "commit_delay",
            )
        }
    from importlib.metadata import version

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine_busy_before": machine_busy_now(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "psycopg": psycopg.__version__,
        "psycopg_wait_func": os.environ.get("PSYCOPG_WAIT_FUNC", "default"),
        "eventsourcing": version("eventsourcing"),
        "postgres": settings,
    }


# -- the domain's own CPU cost ------------------------------------------------------------


def domain_cost_us(stream_length: int = MAX_STREAM_EVENTS // 2, rounds: int = 2000) -> float:
    """Microseconds of Python per reply command without any database: decode a
    stream of ``stream_length`` stored events, rebuild the ticket, decide, encode.
    The part of every command that the GIL serialises."""
    actor = customer(0)
    history = decide_open(str(uuid.uuid4()), [], actor)
    while len(history) < stream_length:
        history += decide_reply(history, actor)
    stored = [(e.TYPE, e.to_data(), e.SCHEMA_VERSION) for e in history]
    started = time.perf_counter()
    for _ in range(rounds):
        events = decide_reply([event_from_data(t, d, v) for t, d, v in stored], actor)
        [to_new_event(e) for e in events]
    return (time.perf_counter() - started) / rounds * 1e6


# -- the whole run ----------------------------------------------------------------------


WORKLOADS = (
    ("raw", "raw INSERT, 1 row/transaction (autocommit)"),
    ("raw_tx", "raw INSERT in BEGIN/COMMIT"),
    ("ours_new", "ours: new tickets (decide+append)"),
    ("es_new", "eventsourcing: new tickets"),
    ("ours_new_load", "ours, loading first: new tickets"),
    ("es_new_load", "eventsourcing, loading first: new tickets"),
    ("ours_existing", "ours: reply, cached (decide+append)"),
    ("es_existing", "eventsourcing: reply, cached"),
    ("ours_existing_load", "ours, uncached: reply (load+decide+append)"),
    ("es_existing_load", "eventsourcing, uncached: reply"),
    ("full_open", "full command: open_ticket (+read models)"),
    ("full_reply", "full command: post_reply (+read models)"),
    ("full_reply_uncached", "full command: post_reply, cache off"),
)
LABELS = dict(WORKLOADS)
# Which eventsourcing workload each of ours is compared with.
PEERS = {
    "ours_new": "es_new",
    "ours_existing": "es_existing",
    "ours_new_load": "es_new_load",
    "ours_existing_load": "es_existing_load",
}
# The targets are on the service's own path (the first two pairs).
TARGETS = ("ours_new", "ours_existing")
# Workloads whose appends go through a TicketCache (their hit rate is reported).
CACHED = {"ours_existing", "full_reply"}
CHECKED_TABLES = {
    "raw": "bench.raw_rows",
    "raw_tx": "bench.raw_rows",
    **{name: "tickets.events" for name in PEERS},
    **{name: f"{ES_SCHEMA}.stored_events" for name in PEERS.values()},
}


@dataclass
class Run:
    url: str
    seconds: float
    warmup: float
    measured: dict[tuple[str, int], list[Result]] = field(default_factory=dict)

    def rate(self, workload: str, clients: int, default: float = 3000.0) -> float:
        results = self.measured.get((workload, clients))
        return max(r.commits_per_s for r in results) if results else default

    def measure(self, workload: str, clients: int) -> Result:
        checkpoint(self.url)
        table = CHECKED_TABLES.get(workload)
        before = count_rows(self.url, table) if table else 0
        resources: list[Callable[[], None]] = []
        span = self.seconds + self.warmup
        if workload in ("raw", "raw_tx"):

            def make(i: int) -> Worker:
                return RawInsert(self.url, explicit_transaction=workload == "raw_tx")

        elif workload in ("ours_new", "ours_new_load"):
            cache = TicketCache(DEFAULT_SIZE)

            def make(i: int) -> Worker:
                if workload == "ours_new":
                    return OursNew(self.url, i, cache)
                return OursNewLoading(self.url, i)

        elif workload in ("ours_existing", "ours_existing_load"):
            # The fastest new-ticket rate bounds the reply rate: enough fresh tickets.
            tickets = reserve_size(self.rate("ours_new", clients), span, clients)
            cache = TicketCache(DEFAULT_SIZE)

            def make(i: int) -> Worker:
                if workload == "ours_existing":
                    return OursExisting(self.url, i, tickets, cache)
                return OursExistingLoading(self.url, i, tickets)

        elif workload in PEERS.values():
            log = EventsourcingLog(self.url, clients)
            resources.append(log.close)
            tickets = reserve_size(self.rate("es_new", clients), span, clients)
            workers = {
                "es_new": lambda i: EsNew(log, i, load_first=False),
                "es_new_load": lambda i: EsNew(log, i, load_first=True),
                "es_existing": lambda i: EsExisting(log, i, tickets),
                "es_existing_load": lambda i: EsExistingLoading(log, i, tickets),
            }

            def make(i: int) -> Worker:
                return workers[workload](i)

        else:
            pool = ConnectionPool(self.url, max_size=clients)
            resources.append(pool.close)
            # As the service: one TicketCache per process; "cache off" is size 0.
            size = 0 if workload == "full_reply_uncached" else DEFAULT_SIZE
            commands = TicketCommands(pool, cache=TicketCache(size))
            tickets = reserve_size(self.rate("full_open", clients), span, clients)

            def make(i: int) -> Worker:
                if workload == "full_open":
                    return FullOpen(commands, i)
                return FullReply(commands, i, tickets)

        lookups_before = cache_lookups()
        try:
            result = run_workload(
                workload, LABELS[workload], make, clients, self.seconds, self.warmup
            )
        finally:
            for release in resources:
                release()
        if workload in CACHED:
            hits, misses = (a - b for a, b in zip(cache_lookups(), lookups_before, strict=True))
            result.cache_hit_rate = round(hits / (hits + misses), 3) if hits + misses else None
        if table and not result.errors:
            written = count_rows(self.url, table) - before
            if written < result.events:
                raise RuntimeError(
                    f"{workload}: counted {result.events} events but {written} rows were written"
                )
        self.measured.setdefault((workload, clients), []).append(result)
        return result

    def summary(self, workload: str, clients: int) -> Result:
        """The median run of a workload (by commit rate), with every run's rate."""
        results = sorted(self.measured[(workload, clients)], key=lambda r: r.commits_per_s)
        chosen = results[len(results) // 2]
        chosen.samples = [round(r.commits_per_s, 1) for r in self.measured[(workload, clients)]]
        return chosen


def evaluate(run: Run, clients_list: Sequence[int]) -> list[dict[str, Any]]:
    """The issue's targets: ours >= 2x eventsourcing on both workloads, and >= half
    the raw INSERT rate, at each number of clients."""
    checks = []
    for clients in clients_list:
        if ("raw", clients) not in run.measured:
            continue
        raw = run.summary("raw", clients).commits_per_s
        for ours in TARGETS:
            peer = PEERS[ours]
            if (ours, clients) not in run.measured:
                continue
            mine = run.summary(ours, clients).commits_per_s
            if (peer, clients) in run.measured:
                theirs = run.summary(peer, clients).commits_per_s
                ratio = mine / theirs if theirs else float("inf")
                checks.append(
                    {
                        "target": f"{ours} >= 2x {peer}",
                        "clients": clients,
                        "ratio": round(ratio, 2),
                        "holds": ratio >= 2.0,
                    }
                )
            ratio = mine / raw if raw else 0.0
            checks.append(
                {
                    "target": f"{ours} >= 0.5x raw",
                    "clients": clients,
                    "ratio": round(ratio, 2),
                    "holds": ratio >= 0.5,
                }
            )
    return checks


def cache_lookups() -> tuple[float, float]:
    """(hits, misses) of every TicketCache in this process so far."""
    return (
        CACHE_LOOKUPS.labels("hit")._value.get(),
        CACHE_LOOKUPS.labels("miss")._value.get(),
    )


def relay_rate(url: str, amqp_uri: str, n: int) -> dict[str, Any]:
    try:
        from benchmarks.relay_bench import measure_relay_publish_rate
    except ImportError as exc:
        return {"status": "missing", "detail": f"benchmarks.relay_bench not available ({exc})"}
    try:
        with scratch_vhost(amqp_uri) as vhost_uri:
            rate = measure_relay_publish_rate(url, vhost_uri, n=n)
    except Exception as exc:
        return {"status": "failed", "detail": f"{type(exc).__name__}: {exc}"}
    return {"status": "ok", "events_per_s": round(rate, 1), "events": n}


def ratio_text(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def print_table(run: Run, clients_list: Sequence[int], order: Sequence[str]) -> None:
    header = (
        f"{'workload':<44} {'clients':>7} {'commits/s':>10} {'events/s':>9}"
        f" {'vs eventsourcing':>17} {'vs raw':>7} {'client CPU/commit':>18} {'CPU busy':>9}"
    )
    print(header)
    print("-" * len(header))
    for workload in order:
        for clients in clients_list:
            if (workload, clients) not in run.measured:
                continue
            result = run.summary(workload, clients)
            peer = PEERS.get(workload)
            vs_peer = None
            if peer and (peer, clients) in run.measured:
                vs_peer = result.commits_per_s / run.summary(peer, clients).commits_per_s
            vs_raw = None
            if ("raw", clients) in run.measured and workload != "raw":
                vs_raw = result.commits_per_s / run.summary("raw", clients).commits_per_s
            note = f"  ({result.errors} errors)" if result.errors else ""
            cpu = f"{result.client_cpu_us:,.0f} µs" if result.client_cpu_us else "-"
            busy = f"{result.machine_busy:.0%}" if result.machine_busy is not None else "-"
            print(
                f"{result.label:<44} {clients:>7} {result.commits_per_s:>10,.0f}"
                f" {result.events_per_s:>9,.0f} {ratio_text(vs_peer):>17}"
                f" {ratio_text(vs_raw):>7} {cpu:>18} {busy:>9}{note}"
            )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bin/bench", description="Benchmark of the tickets event log (prints, never asserts)."
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("PASOKH_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="a role that may create databases; a scratch database is made on it",
    )
    parser.add_argument(
        "--amqp-uri", default=os.environ.get("PASOKH_BENCH_AMQP_URI", DEFAULT_AMQP_URI)
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="timed seconds per workload")
    parser.add_argument("--warmup", type=float, default=1.0, help="untimed seconds before each")
    parser.add_argument("--clients", default="1,8", help="comma-separated client counts")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each workload; the median is reported"
    )
    parser.add_argument(
        "--workloads",
        default=",".join(name for name, _ in WORKLOADS),
        help="comma-separated subset of: " + ", ".join(name for name, _ in WORKLOADS),
    )
    parser.add_argument("--relay-events", type=int, default=5000, help="0 skips the relay")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    clients_list = [int(c) for c in args.clients.split(",") if c.strip()]
    order = [w for w in args.workloads.split(",") if w.strip()]
    unknown = sorted(set(order) - set(LABELS))
    if unknown:
        print(f"unknown workloads: {', '.join(unknown)}", file=sys.stderr)
        return 2
    # New-ticket runs come first: they size the reserves of the existing-ticket runs.
    order = [name for name, _ in WORKLOADS if name in order]

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    with scratch_database(args.database_url, keep=args.keep_database) as url:
        facts = server_facts(url)
        progress(f"scratch database ready; measuring {len(order)} workloads x {clients_list}")
        domain_us = domain_cost_us()
        run = Run(url, args.seconds, args.warmup)
        for round_no in range(1, args.repeat + 1):
            for clients in clients_list:
                for workload in order:
                    result = run.measure(workload, clients)
                    progress(
                        f"[{round_no}/{args.repeat}] {workload:<19} clients={clients:<2}"
                        f" {result.commits_per_s:>8,.0f} commits/s"
                        + (f"  errors={result.errors}" if result.errors else "")
                        + (
                            f"  cache hits {result.cache_hit_rate:.1%}"
                            if result.cache_hit_rate is not None
                            else ""
                        )
                    )
                    if result.first_error and result.errors:
                        progress(result.first_error)
        relay = (
            relay_rate(url, args.amqp_uri, args.relay_events)
            if args.relay_events > 0
            else {"status": "skipped"}
        )
        checks = evaluate(run, clients_list)

    failed = any(run.summary(w, c).errors for (w, c) in run.measured)
    if args.json:
        summaries = []
        for workload in order:
            for clients in clients_list:
                if (workload, clients) in run.measured:
                    r = run.summary(workload, clients)
                    summaries.append(
                        {
                            **{k: v for k, v in asdict(r).items() if k != "first_error"},
                            "commits_per_s": round(r.commits_per_s, 1),
                            "events_per_s": round(r.events_per_s, 1),
                        }
                    )
        document = {
            "machine": facts,
            "settings": {
                "seconds": args.seconds,
                "warmup": args.warmup,
                "repeat": args.repeat,
                "max_stream_events": MAX_STREAM_EVENTS,
            },
            "domain_cpu_us_per_reply": round(domain_us, 1),
            "results": summaries,
            "relay": relay,
            "targets": checks,
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 1 if failed else 0

    pg = facts["postgres"]
    print(
        f"\nPasokh event log benchmark, {facts['date']}: {facts['cpus']} CPUs,"
        f" PostgreSQL {pg['server_version']} (synchronous_commit={pg['synchronous_commit']},"
        f" fsync={pg['fsync']}), Python {facts['python']}, psycopg {facts['psycopg']},"
        f" eventsourcing {facts['eventsourcing']}"
    )
    if facts["machine_busy_before"] is not None:
        print(
            f"CPUs busy before the run (other work on the machine):"
            f" {facts['machine_busy_before']:.0%}"
        )
    print(
        f"{args.seconds:g} s per workload after {args.warmup:g} s warm-up,"
        f" median of {args.repeat} run(s); one event per command; streams kept"
        f" <= {MAX_STREAM_EVENTS} events\n"
    )
    print_table(run, clients_list, order)
    hit_rates = [
        f"{workload} x{clients} {run.summary(workload, clients).cache_hit_rate:.1%}"
        for workload in order
        for clients in clients_list
        if (workload, clients) in run.measured
        and run.summary(workload, clients).cache_hit_rate is not None
    ]
    if hit_rates:
        print("\naggregate cache hit rate: " + ", ".join(hit_rates))
    print(f"\ndomain CPU per reply command (decode ~10 events, decide, encode): {domain_us:.0f} µs")
    if relay["status"] == "ok":
        print(f"relay publish rate with confirms: {relay['events_per_s']:,.0f} events/s")
    else:
        detail = f" ({relay['detail']})" if relay.get("detail") else ""
        print(f"relay publish rate: {relay['status']}{detail}")
    if checks:
        print("\ntargets:")
        for check in checks:
            verdict = "holds" if check["holds"] else "MISSED"
            print(
                f"  {check['target']:<34} clients={check['clients']:<2}"
                f" {check['ratio']:>5.2f}x  {verdict}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
