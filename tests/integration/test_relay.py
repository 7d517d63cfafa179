"""The event relay as real processes, against real PostgreSQL and RabbitMQ.

The consumer side declares the exchange exactly as a nameko service does (nameko's own
``get_event_exchange``) before any relay starts, so a relay that declared it
differently would fail here with PRECONDITION_FAILED.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pasokh_common  # noqa: F401
from pasokh_common.eventlog import EventMetadata, EventStore, NewEvent

import kombu
import psycopg
import pytest
from nameko.standalone.events import get_event_exchange
from psycopg.rows import dict_row

from tests.support import infra
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
STORE = EventStore("tickets")
ACTOR = EventMetadata(actor_id="agent-1", actor_role="agent", correlation_id="corr-relay")


# -- helpers -------------------------------------------------------------------------


def wait_for(condition: Callable[[], object], timeout: float, what: str, step=None) -> object:
    """Poll ``condition`` until truthy; ``step`` runs between polls (e.g. drain the broker)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        if step is not None:
            step()
        else:
            time.sleep(0.05)


@dataclass
class Received:
    event_id: str
    stream_id: str
    version: int
    event_type: str
    data: dict
    properties: dict
    headers: dict
    content_type: str
    content_encoding: str


def received(body: object, message: kombu.Message, event_type: str) -> Received:
    """What a subscriber got: the event's identity from the message, as published."""
    headers = message.headers or {}
    return Received(
        event_id=message.properties["message_id"],
        stream_id=headers["pasokh_stream_id"],
        version=headers["pasokh_stream_version"],
        event_type=event_type,
        data=body,
        properties=dict(message.properties),
        headers=dict(headers),
        content_type=message.content_type,
        content_encoding=message.content_encoding,
    )


def drain(connection: kombu.Connection, seconds: float = 0.1) -> None:
    """Deliver what arrives for ``seconds`` to the consumers' callbacks."""
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            connection.drain_events(timeout=remaining)
        except TimeoutError:
            return


@dataclass
class Collector:
    """A queue bound to ``tickets.events`` with ``#``, consumed in the test's thread."""

    amqp_uri: str
    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.connection = kombu.Connection(self.amqp_uri)
        self.connection.connect()
        self.channel = self.connection.channel()
        self.exchange = get_event_exchange("tickets", {})(self.channel)
        self.exchange.declare()
        self.queue = kombu.Queue(
            f"relay-test-{uuid.uuid4().hex[:8]}", self.exchange, routing_key="#", exclusive=True
        )(self.channel)
        self.queue.declare()
        self.consumer = kombu.Consumer(
            self.channel, [self.queue], callbacks=[self._on_message], accept=["json"], no_ack=True
        )
        self.consumer.consume()

    def _on_message(self, body: object, message: kombu.Message) -> None:
        self.messages.append(received(body, message, message.delivery_info["routing_key"]))

    def drain(self, seconds: float = 0.1) -> None:
        drain(self.connection, seconds)

    def ids(self) -> set[str]:
        return {m.event_id for m in self.messages}

    def wait_for_ids(self, expected: set[str], timeout: float = 30.0) -> None:
        wait_for(
            lambda: expected <= self.ids(),
            timeout,
            f"{len(expected - self.ids())} of {len(expected)} events to arrive",
            step=self.drain,
        )

    def close(self) -> None:
        self.connection.release()


class RelayProcess:
    def __init__(self, tickets_db: dict, amqp_uri: str, log_path: Path, **env: str) -> None:
        self.log_path = log_path
        self.metrics_port = free_port()
        full_env = {
            **os.environ,
            "TICKETS_DATABASE_URL": tickets_db["url"],
            "AMQP_URI": amqp_uri,
            "TICKETS_RELAY_METRICS_PORT": str(self.metrics_port),
            "LOG_LEVEL": "INFO",
            **env,
        }
        self._log = open(log_path, "ab")  # noqa: SIM115  (kept open for the child)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pasokh_common.eventlog.relay_main"],
            cwd=REPO_ROOT,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log_lines(self) -> list[dict]:
        lines = []
        for raw in self.log_path.read_text(encoding="utf-8").splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                lines.append({"message": raw})
        return lines

    def metric(self, name: str) -> float | None:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2
            ) as response:
                text = response.read().decode()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self._log.close()


@pytest.fixture
def collector(amqp_uri: str) -> Iterator[Collector]:
    found = Collector(amqp_uri)
    yield found
    found.close()


@pytest.fixture
def start_relay(tickets_db: dict, amqp_uri: str, tmp_path: Path) -> Iterator[Callable]:
    started: list[RelayProcess] = []

    def start(**env: str) -> RelayProcess:
        relay = RelayProcess(tickets_db, amqp_uri, tmp_path / f"relay-{len(started)}.log", **env)
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.close()
    for relay in started:
        sys.stderr.write(f"--- {relay.log_path.name}\n{relay.log_path.read_text()[-4000:]}\n")


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


def append(url: str, streams: list[str], per_stream: int, versions: dict[str, int]) -> list[str]:
    """One transaction appending ``per_stream`` events to each stream; returns event ids."""
    ids = []
    with connect(url) as conn, conn.transaction():
        for stream in streams:
            events = [
                NewEvent("TicketNoted", {"stream": stream, "n": versions[stream] + i + 1})
                for i in range(per_stream)
            ]
            STORE.append(conn, stream, versions[stream], events, ACTOR)
            versions[stream] += per_stream
            ids.extend(str(e.event_id) for e in events)
    return ids


def relay_position(url: str) -> dict | None:
    with connect(url) as conn:
        return conn.execute(
            "SELECT last_xid::text::bigint AS last_xid, last_position, published"
            " FROM tickets.relay_positions WHERE relay_name = 'tickets'"
        ).fetchone()


def log_order(url: str) -> list[dict]:
    """Every event in the order the relay reads the log."""
    with connect(url) as conn:
        return conn.execute(
            "SELECT event_id::text AS event_id, xid::text::bigint AS xid, position"
            " FROM tickets.events ORDER BY xid, position"
        ).fetchall()


def assert_in_stream_order_with_only_true_duplicates(messages: list[Received], batch: int):
    """Per stream, first deliveries come in version order; a repeat is an id seen
    before, with the same stream, version and body; repeats stay within one batch."""
    first_seen: dict[str, Received] = {}
    next_version: dict[str, int] = defaultdict(lambda: 1)
    duplicates = 0
    for message in messages:
        earlier = first_seen.get(message.event_id)
        if earlier is not None:
            duplicates += 1
            assert (earlier.stream_id, earlier.version, earlier.data) == (
                message.stream_id,
                message.version,
                message.data,
            )
            continue
        first_seen[message.event_id] = message
        assert message.version == next_version[message.stream_id], message
        next_version[message.stream_id] += 1
    assert duplicates <= batch, f"{duplicates} re-deliveries, more than one batch of {batch}"


# -- tests ---------------------------------------------------------------------------


def test_published_message_carries_body_identity_time_and_cloudevents_headers(
    tickets_db: dict, collector: Collector, start_relay
):
    with connect(tickets_db["url"]) as conn, conn.transaction():
        [event] = STORE.append(
            conn, "ticket-a", 0, [NewEvent("TicketOpened", {"subject": "چاپگر کار نمی‌کند"})], ACTOR
        )
    relay = start_relay()
    collector.wait_for_ids({str(event.event_id)})
    [message] = collector.messages

    assert message.event_type == "TicketOpened"
    assert message.data == {"subject": "چاپگر کار نمی‌کند"}
    assert (message.content_type, message.content_encoding) == ("application/json", "utf-8")
    props = message.properties
    assert props["message_id"] == str(event.event_id)
    assert props["type"] == "TicketOpened"
    assert props["timestamp"] == int(event.recorded_at.timestamp())
    assert props["app_id"] == "tickets"
    assert props["correlation_id"] == "corr-relay"
    assert props["delivery_mode"] == 2
    headers = message.headers
    assert headers["cloudEvents_id"] == str(event.event_id)
    assert headers["cloudEvents_type"] == "TicketOpened"
    assert headers["cloudEvents_source"] == "pasokh/tickets"
    assert headers["cloudEvents_specversion"] == "1.0"
    assert headers["cloudEvents_time"].endswith("Z")
    assert headers["cloudEvents_subject"] == "ticket-a"
    assert headers["pasokh_stream_version"] == 1
    assert headers["pasokh_position"] == event.position
    assert headers["pasokh_schema_version"] == 1
    assert headers["pasokh_actor_role"] == "agent"
    assert headers["pasokh_correlation_id"] == "corr-relay"

    wait_for(
        lambda: (
            relay.metric("pasokh_relay_lag_events") == 0
            and relay.metric("pasokh_relay_lag_seconds") == 0
            and relay.metric("pasokh_relay_published_total") == 1
        ),
        10,
        "lag metrics at 0 once caught up",
    )

    # Graceful stop: exit 0 with the confirmed batch recorded and the lock released.
    assert relay.terminate() == 0
    assert relay_position(tickets_db["url"]) == {
        "last_xid": event.xid,
        "last_position": event.position,
        "published": 1,
    }
    with connect(tickets_db["admin_url"]) as conn:
        held = conn.execute(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()
    assert held["n"] == 0


def test_sigkill_mid_stream_then_restart_delivers_everything_in_stream_order(
    tickets_db: dict, collector: Collector, start_relay
):
    batch = 100
    url = tickets_db["url"]
    streams = [f"ticket-k{i}" for i in range(30)]
    versions = dict.fromkeys(streams, 0)
    appended: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def writer(mine: list[str]) -> None:
        try:
            for _ in range(25):
                ids = append(url, mine, 4, versions)
                with lock:
                    appended.extend(ids)
                time.sleep(0.01)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    relay = start_relay(RELAY_BATCH_SIZE=str(batch))
    writers = [
        threading.Thread(target=writer, args=(streams[:15],)),
        threading.Thread(target=writer, args=(streams[15:],)),
    ]
    for thread in writers:
        thread.start()
    wait_for(lambda: len(collector.messages) >= 600, 30, "600 events", step=collector.drain)
    relay.kill()
    received_before_kill = len(collector.ids())
    for thread in writers:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(appended) == 3000
    assert received_before_kill < 3000, "the relay was not killed mid-stream"
    collector.drain(0.2)

    start_relay(RELAY_BATCH_SIZE=str(batch))
    collector.wait_for_ids(set(appended), timeout=45)
    assert collector.ids() == set(appended)
    assert_in_stream_order_with_only_true_duplicates(collector.messages, batch)
    wait_for(
        lambda: (relay_position(url) or {}).get("last_position") == log_order(url)[-1]["position"],
        15,
        "the position to reach the end of the log",
    )


def test_two_relays_one_leads_and_the_other_takes_over_when_it_dies(
    tickets_db: dict, collector: Collector, start_relay
):
    url = tickets_db["url"]
    streams = [f"ticket-l{i}" for i in range(10)]
    versions = dict.fromkeys(streams, 0)
    relays = [start_relay(RELAY_BATCH_SIZE="50"), start_relay(RELAY_BATCH_SIZE="50")]

    def leaders() -> list[float] | None:
        values = [r.metric("pasokh_relay_is_leader") for r in relays]
        return None if None in values or sum(values) != 1 else values

    first = append(url, streams, 10, versions)
    collector.wait_for_ids(set(first))
    flags = wait_for(leaders, 20, "exactly one leader among two relays")
    leader, follower = (relays[0], relays[1]) if flags[0] == 1 else (relays[1], relays[0])
    assert follower.metric("pasokh_relay_is_leader") == 0

    leader.kill()
    rest = append(url, streams, 20, versions)
    collector.wait_for_ids(set(rest), timeout=30)
    assert follower.metric("pasokh_relay_is_leader") == 1
    assert follower.process.poll() is None
    assert collector.ids() == set(first) | set(rest)
    assert_in_stream_order_with_only_true_duplicates(collector.messages, 50)
    assert follower.terminate() == 0


def test_position_never_passes_events_the_broker_refused(
    tickets_db: dict, amqp_uri: str, collector: Collector, start_relay
):
    """A bounded queue that rejects publishes when full makes the broker nack: the
    relay must keep its position at the last fully confirmed batch and retry."""
    url = tickets_db["url"]
    streams = [f"ticket-n{i}" for i in range(6)]
    versions = dict.fromkeys(streams, 0)
    ids = append(url, streams, 50, versions)  # 300 events, committed before the relay starts
    bounded = kombu.Queue(
        f"relay-bounded-{uuid.uuid4().hex[:8]}",
        collector.exchange,
        routing_key="#",
        queue_arguments={"x-max-length": 100, "x-overflow": "reject-publish"},
    )(collector.channel)
    bounded.declare()
    try:
        relay = start_relay(RELAY_BATCH_SIZE="50")

        def nacked_retries() -> int:
            return sum("PublishNacked" in str(line.get("error", "")) for line in relay.log_lines())

        def refused_twice_or_advanced() -> bool:
            advanced = (relay_position(url) or {}).get("published", 0) > 100
            return advanced or nacked_retries() >= 2

        wait_for(refused_twice_or_advanced, 30, "the relay to retry a refused batch twice")
        order = log_order(url)
        position = relay_position(url)
        assert position == {
            "last_xid": order[99]["xid"],
            "last_position": order[99]["position"],
            "published": 100,
        }
        _, in_bounded, _ = bounded.queue_declare(passive=True)
        assert in_bounded == 100
    finally:
        bounded.delete()

    collector.wait_for_ids(set(ids), timeout=40)
    refused_attempts = nacked_retries()
    wait_for(
        lambda: (relay_position(url) or {}).get("published", 0) >= 300,
        20,
        "the position to reach the end after the queue is gone",
    )
    assert relay_position(url)["last_position"] == log_order(url)[-1]["position"]
    # Each refused attempt also reached the unbounded queue: the same 50 events again.
    assert_in_stream_order_with_only_true_duplicates(collector.messages, 50 * refused_attempts)


@pytest.fixture
def empty_vhost(backends, run_id: str) -> Iterator[str]:
    """A vhost where nothing is bound: the run's own vhost collects bindings from other
    tests (the topology step binds sla's queue to every ticket event)."""
    name = f"{run_id}_unroutable"
    uri = infra.create_vhost(backends.amqp_uri, name)
    yield uri
    infra.delete_vhost(backends.amqp_uri, name)


def test_unroutable_events_are_counted_and_do_not_stop_the_relay(
    tickets_db: dict, empty_vhost: str, start_relay
):
    """With no queue bound, the broker returns every message: counted, not retried."""
    url = tickets_db["url"]
    versions = {"ticket-u": 0}
    ids = append(url, ["ticket-u"], 5, versions)
    relay = start_relay(AMQP_URI=empty_vhost)
    wait_for(
        lambda: (relay_position(url) or {}).get("published") == len(ids), 20, "5 events published"
    )
    value = wait_for(
        lambda: relay.metric("pasokh_relay_unroutable_total"), 10, "the unroutable counter"
    )
    assert value == 5
    assert relay.metric("pasokh_relay_published_total") == 5


def close_relay_broker_connection(amqp_uri: str) -> bool:
    """Have the broker close the relay's AMQP connection (as a broker restart would)."""
    ids = infra.broker_connections(amqp_uri, "pasokh-relay-tickets")
    infra.close_broker_connections(ids, "relay test: cut")
    return bool(ids)


def terminate_relay_db_session(admin_url: str) -> bool:
    with connect(admin_url) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'pasokh-relay-tickets'"
        ).fetchall()
    return any(row["done"] for row in rows)


@pytest.mark.skipif(not shutil.which("rabbitmqctl"), reason="needs rabbitmqctl to cut a connection")
def test_cut_broker_and_database_connections_lose_nothing(
    tickets_db: dict, amqp_uri: str, collector: Collector, start_relay
):
    batch = 100
    url = tickets_db["url"]
    streams = [f"ticket-c{i}" for i in range(20)]
    versions = dict.fromkeys(streams, 0)
    appended: list[str] = []
    stop_writing = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while not stop_writing.is_set() and len(appended) < 4000:
                appended.extend(append(url, streams, 2, versions))
                time.sleep(0.02)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    relay = start_relay(RELAY_BATCH_SIZE=str(batch))
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_for(lambda: len(collector.messages) >= 200, 30, "200 events", step=collector.drain)
        assert close_relay_broker_connection(amqp_uri)
        after_cut = len(appended)

        def resumed() -> bool:
            connects = [
                line for line in relay.log_lines() if line.get("message") == "connected to broker"
            ]
            return len(connects) >= 2 and set(appended[after_cut : after_cut + 40]) <= (
                collector.ids()
            )

        wait_for(resumed, 30, "publishing to resume after the broker cut", step=collector.drain)
        assert terminate_relay_db_session(tickets_db["admin_url"])
        wait_for(lambda: len(appended) >= 1200, 30, "more appends after the database cut")
    finally:
        stop_writing.set()
        thread.join(timeout=30)
    assert not errors, errors
    collector.wait_for_ids(set(appended), timeout=40)
    assert collector.ids() == set(appended)
    interruptions = [
        line for line in relay.log_lines() if "relay interrupted" in str(line.get("message"))
    ]
    assert len(interruptions) >= 2, interruptions
    assert relay.process.poll() is None
    assert_in_stream_order_with_only_true_duplicates(collector.messages, 2 * batch)


NAMEKO_PROBE = """
import json
import os

from nameko.events import event_handler


class Probe:
    name = "relayprobe"

    @event_handler("tickets", "TicketOpened")
    def on_opened(self, payload):
        with open(os.environ["PROBE_OUT"], "a", encoding="utf-8") as out:
            out.write(json.dumps(payload, ensure_ascii=False) + "\\n")
"""

PROBE_QUEUE = "evt-tickets-TicketOpened--relayprobe.on_opened"  # nameko's naming


def queue_exists(amqp_uri: str, name: str) -> bool:
    with kombu.Connection(amqp_uri) as connection:
        try:
            kombu.Queue(name)(connection.channel()).queue_declare(passive=True)
        except connection.channel_errors:
            return False
    return True


def test_a_nameko_event_handler_receives_the_event_data(
    tickets_db: dict, amqp_uri: str, start_relay, tmp_path: Path
):
    (tmp_path / "relay_probe.py").write_text(NAMEKO_PROBE, encoding="utf-8")
    out = tmp_path / "received.jsonl"
    env = {
        **os.environ,
        "AMQP_URI": amqp_uri,
        "PROBE_OUT": str(out),
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    probe_log = open(tmp_path / "probe.log", "wb")  # noqa: SIM115  (the child writes it)
    service = subprocess.Popen(
        [sys.executable, "-m", "pasokh_common.runner", "relayprobe", "relay_probe:Probe"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=probe_log,
    )
    try:
        wait_for(
            lambda: queue_exists(amqp_uri, PROBE_QUEUE),
            30,
            "the nameko service to declare its event queue",
        )
        start_relay()
        with connect(tickets_db["url"]) as conn, conn.transaction():
            STORE.append(
                conn, "ticket-p", 0, [NewEvent("TicketOpened", {"subject": "سلام"})], ACTOR
            )
        wait_for(lambda: out.exists() and out.read_text().strip(), 30, "the handler to run")
        assert [json.loads(line) for line in out.read_text().splitlines()] == [{"subject": "سلام"}]
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=20)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        probe_log.close()
        with kombu.Connection(amqp_uri) as connection:
            kombu.Queue(PROBE_QUEUE)(connection.channel()).delete()
