"""Replay and catch-up (issue 9): a new subscriber receives the history into its own
queue from the relay (a real process), then continues live with no gap and no
reordering per stream, while live subscribers see nothing of it. Real PostgreSQL and
RabbitMQ; the CLI and the RPC as real processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.errors import ServiceError
from pasokh_common.eventlog import NewEvent
from pasokh_common.eventlog.replay_jobs import ReplayJobs

import kombu
import pytest
from amqp.exceptions import NotFound
from nameko.standalone.rpc import ClusterRpcProxy

from tests.integration import test_relay
from tests.integration.test_relay import (
    ACTOR,
    REPO_ROOT,
    STORE,
    Collector,
    Received,
    RelayProcess,
    append,
    assert_in_stream_order_with_only_true_duplicates,
    connect,
    drain,
    received,
    relay_position,
    wait_for,
)

pytestmark = pytest.mark.integration

# The relay tests' fixtures: a live subscriber bound with '#', relays as processes.
collector = test_relay.collector
start_relay = test_relay.start_relay

JOBS = ReplayJobs("tickets")
ADMIN = {"id": "admin-1", "role": "admin"}


# -- helpers -------------------------------------------------------------------------


class QueueReader:
    """Consumes a subscriber's queue that the relay declared (the test never declares
    or binds it). The event type comes from the message: replayed messages arrive
    through the default exchange, with the queue's name as routing key."""

    def __init__(self, amqp_uri: str, queue: str) -> None:
        self.queue_name = queue
        self.messages: list[Received] = []
        self.connection = kombu.Connection(amqp_uri)
        self.connection.connect()
        self.channel = self.connection.channel()
        wait_for(self._exists, 30, f"the relay to declare {queue}")
        self.queue = kombu.Queue(queue, no_declare=True)(self.channel)
        self.consumer = kombu.Consumer(
            self.channel, [self.queue], callbacks=[self._on_message], accept=["json"], no_ack=True
        )
        self.consumer.consume()

    def _exists(self) -> bool:
        return self.message_count() is not None

    def message_count(self) -> int | None:
        """Messages ready in the queue, or None if it does not exist."""
        channel = self.connection.channel()
        try:
            return channel.queue_declare(self.queue_name, passive=True).message_count
        except NotFound:
            return None
        finally:
            if channel.is_open:
                channel.close()

    def _on_message(self, body: object, message: kombu.Message) -> None:
        self.messages.append(received(body, message, message.properties["type"]))

    def drain(self, seconds: float = 0.1) -> None:
        drain(self.connection, seconds)

    def ids(self) -> set[str]:
        return {m.event_id for m in self.messages}

    def read_all(self, expected: set[str], timeout: float = 60.0) -> None:
        """Until every expected id arrived and the queue is empty: with the relay's
        position at the end of the log, everything is already in the queue (a confirm
        means enqueued), so nothing more can come."""
        wait_for(
            lambda: expected <= self.ids() and self.message_count() == 0,
            timeout,
            f"{len(expected - self.ids())} of {len(expected)} events in {self.queue_name}",
            step=self.drain,
        )
        self.drain(0.2)

    def close(self) -> None:
        self.connection.release()


def metric(relay: RelayProcess, name: str, **labels: str) -> float | None:
    """One sample of the relay's /metrics, chosen by name and (a subset of) labels."""
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{relay.metrics_port}/metrics", timeout=2
        ) as response:
            text = response.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        match = re.match(r"^(\w+)\{(.*)\} (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2)))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(match.group(3))
    return None


def job_row(url: str, queue: str) -> dict | None:
    with connect(url) as conn:
        return next((job for job in JOBS.list(conn) if job["queue"] == queue), None)


def wait_for_state(url: str, queue: str, state: str, step, timeout: float = 60.0) -> dict:
    return wait_for(
        lambda: (job := job_row(url, queue)) and job["state"] == state and job,
        timeout,
        f"the replay into {queue} to be {state}",
        step=step,
    )


def log_ids(url: str, where: str = "TRUE", params: tuple = ()) -> set[str]:
    with connect(url) as conn:
        rows = conn.execute(
            f"SELECT event_id::text AS id FROM tickets.events WHERE {where}", params
        ).fetchall()
    return {row["id"] for row in rows}


def wait_until_published(url: str, step, timeout: float = 60.0) -> None:
    """The relay's recorded position covers every event in the log."""

    def done() -> bool:
        with connect(url) as conn:
            total = conn.execute("SELECT count(*) AS n FROM tickets.events").fetchone()["n"]
        return (relay_position(url) or {}).get("published", 0) >= total

    wait_for(done, timeout, "the relay to publish the whole log", step=step)


def cli(url: str, *args: str, wait: bool = True) -> Any:
    """``pasokh events ...`` as a process: its result, or the running process."""
    argv = [sys.executable, "-m", "pasokh_common.cli", "events", *args]
    env = {**os.environ, "TICKETS_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    if wait:  # the timeout is a safety net, not an assertion
        return subprocess.run(
            argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    return subprocess.Popen(
        argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def append_typed(url: str, stream_types: list[tuple[str, str]], versions: dict) -> list[str]:
    """One transaction, one event per (stream, type)."""
    ids = []
    with connect(url) as conn, conn.transaction():
        for stream, event_type in stream_types:
            event = NewEvent(event_type, {"stream": stream, "n": versions[stream] + 1})
            STORE.append(conn, stream, versions[stream], [event], ACTOR)
            versions[stream] += 1
            ids.append(str(event.event_id))
    return ids


@pytest.fixture
def readers(amqp_uri: str) -> Iterator:
    opened: list[QueueReader] = []

    def open_reader(queue: str) -> QueueReader:
        opened.append(QueueReader(amqp_uri, queue))
        return opened[-1]

    yield open_reader
    for reader in opened:
        reader.close()


def new_queue() -> str:
    return f"replay-test-{uuid.uuid4().hex[:8]}"


# -- tests ---------------------------------------------------------------------------


def test_a_subscriber_joining_after_5000_events_gets_all_history_then_live_with_no_gap(
    tickets_db: dict, collector: Collector, start_relay, readers
):
    """The issue's test. A live subscriber (bound with '#') is there from the start;
    after 5,000 events in 200 streams a new subscriber asks for a replay from the
    beginning (the CLI, --wait) while a writer keeps appending, before and after the
    handover."""
    url = tickets_db["url"]
    streams = [f"ticket-r{i}" for i in range(200)]
    versions = dict.fromkeys(streams, 0)
    history: list[str] = []
    for _ in range(25):
        history += append(url, streams, 1, versions)
    assert len(history) == 5000
    relay = start_relay()
    collector.wait_for_ids(set(history), timeout=60)

    written: list[str] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            n = 0
            while not stop.is_set():
                mine = [streams[(n * 7 + k) % len(streams)] for k in range(20)]
                written.extend(append(url, mine, 1, versions))
                n += 1
                time.sleep(0.01)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        queue = new_queue()
        command = cli(url, "replay", "--service", "tickets", "--queue", queue, "--wait", wait=False)
        reader = readers(queue)

        def drain_both() -> None:
            reader.drain(0.05)
            collector.drain(0.05)

        live = wait_for_state(url, queue, "live", drain_both)
        written_at_handover = len(written)
        wait_for(
            lambda: len(written) >= written_at_handover + 300,
            60,
            "300 more events after the handover",
            step=drain_both,
        )
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors
    out, err = command.communicate(timeout=60)
    assert command.returncode == 0, err
    assert "live" in out.splitlines()[-1]

    everything = log_ids(url)
    assert everything == set(history) | set(written)
    wait_until_published(url, drain_both)
    reader.read_all(everything)
    collector.wait_for_ids(everything)

    # The new subscriber: every event exactly once, each stream from version 1 up,
    # with no gap and nothing out of order, across replay and handover.
    assert len(reader.messages) == len(everything) == len(reader.ids())
    assert_in_stream_order_with_only_true_duplicates(reader.messages, 0)
    # Replayed and live copies of an event are the same message.
    live_copy = {m.event_id: m for m in collector.messages}
    for replayed in reader.messages[:50] + reader.messages[-50:]:
        original = live_copy[replayed.event_id]
        assert (replayed.data, replayed.headers) == (original.data, original.headers)
        assert replayed.properties == original.properties
    # The live subscriber: untouched, no history twice.
    assert len(collector.messages) == len(collector.ids()) == len(everything)

    job = job_row(url, queue)
    assert job["state"] == "live" and job["error"] is None
    assert job["replayed"] >= 5000 and job["replayed"] == job["scanned"]
    assert (job["last_xid"], job["last_position"]) == (live["last_xid"], live["last_position"])
    assert metric(relay, "pasokh_replay_events_total", queue=queue) == job["replayed"]
    assert metric(relay, "pasokh_replay_state", queue=queue, state="live") == 1
    assert metric(relay, "pasokh_replay_state", queue=queue, state="replaying") == 0
    assert metric(relay, "pasokh_replay_remaining_events", queue=queue) == 0


def test_replay_from_a_position_or_a_time_with_binding_keys(tickets_db: dict, start_relay, readers):
    url = tickets_db["url"]
    streams = [f"ticket-p{i}" for i in range(10)]
    versions = dict.fromkeys(streams, 0)
    types = ["TicketNoted", "TicketClosed", "TicketReopened"]
    for round_ in range(12):
        append_typed(url, [(s, types[(round_ + i) % 3]) for i, s in enumerate(streams)], versions)
    relay = start_relay()
    wait_until_published(url, None)
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT position, recorded_at FROM tickets.events ORDER BY position"
        ).fetchall()
    from_position = rows[37]["position"]
    from_time = rows[81]["recorded_at"]

    by_position, by_time = new_queue(), new_queue()
    first = cli(
        url,
        "replay",
        "--service",
        "tickets",
        "--queue",
        by_position,
        "--from-position",
        str(from_position),
        "--binding-key",
        "TicketClosed",
        "--binding-key",
        "*.never",
    )
    assert first.returncode == 0, first.stderr
    second = cli(
        url,
        "replay",
        "--service",
        "tickets",
        "--queue",
        by_time,
        "--from-time",
        from_time.isoformat(),
    )
    assert second.returncode == 0, second.stderr
    wait_for_state(url, by_position, "live", None)
    wait_for_state(url, by_time, "live", None)
    later = []
    for round_ in range(3):
        mix = [(s, types[(round_ + i) % 3]) for i, s in enumerate(streams)]
        later += append_typed(url, mix, versions)
    wait_until_published(url, None)

    closed = log_ids(url, "event_type = 'TicketClosed'")
    expected_by_position = closed & (log_ids(url, "position >= %s", (from_position,)) | set(later))
    expected_by_time = log_ids(url, "recorded_at >= %s", (from_time,)) | set(later)
    assert 0 < len(expected_by_position) < len(closed)
    assert 0 < len(expected_by_time) < 150

    reader = readers(by_position)
    reader.read_all(expected_by_position)
    assert reader.ids() == expected_by_position
    assert len(reader.messages) == len(expected_by_position)
    reader = readers(by_time)
    reader.read_all(expected_by_time)
    assert reader.ids() == expected_by_time
    assert len(reader.messages) == len(expected_by_time)
    for stream in streams:
        got = [m.version for m in reader.messages if m.stream_id == stream]
        assert got == sorted(got) and len(set(got)) == len(got)

    status = cli(url, "replay-status", "--service", "tickets")
    assert status.returncode == 0
    assert by_position in status.stdout and by_time in status.stdout
    assert status.stdout.count(": live,") == 2
    assert metric(relay, "pasokh_replay_state", queue=by_time, state="live") == 1


def test_relay_killed_mid_replay_continues_after_restart_with_no_gap(
    tickets_db: dict, amqp_uri: str, start_relay, readers
):
    """The subscriber's queue holds 300 messages and refuses more (reject-publish), so
    the replay deterministically stops part-way: recorded after 3 chunks of 100, the
    4th refused. Then the relay is SIGKILLed, the queue read, and a new relay
    continues the same job; only same-id duplicates are allowed."""
    url = tickets_db["url"]
    streams = [f"ticket-k{i}" for i in range(100)]
    versions = dict.fromkeys(streams, 0)
    history = []
    for _ in range(20):
        history += append(url, streams, 1, versions)
    relay = start_relay(RELAY_BATCH_SIZE="100")
    wait_until_published(url, None)

    queue = new_queue()
    with kombu.Connection(amqp_uri) as conn:
        conn.channel().queue_declare(
            queue,
            durable=True,
            arguments={"x-max-length": 300, "x-overflow": "reject-publish"},
        )
    with connect(url) as conn:
        JOBS.create(conn, {"queue": queue}, "test")

    stuck = wait_for(
        lambda: (job := job_row(url, queue)) and job["error"] and job,
        30,
        "the replay to be refused by the full queue",
    )
    assert (stuck["state"], stuck["replayed"]) == ("replaying", 300)
    assert "refused" in stuck["error"]
    wait_for(
        lambda: (metric(relay, "pasokh_replay_remaining_events", queue=queue) or 0) > 0,
        10,
        "the remaining-events gauge",
    )
    assert metric(relay, "pasokh_replay_events_total", queue=queue) == 300
    assert metric(relay, "pasokh_replay_state", queue=queue, state="replaying") == 1
    relay.kill()

    reader = readers(queue)
    restarted = start_relay(RELAY_BATCH_SIZE="100")
    more = []
    for _ in range(3):
        more += append(url, streams, 1, versions)
    wait_for_state(url, queue, "live", reader.drain)
    more += append(url, streams, 1, versions)
    wait_until_published(url, reader.drain)
    everything = set(history) | set(more)
    reader.read_all(everything)
    assert reader.ids() == everything
    assert_in_stream_order_with_only_true_duplicates(reader.messages, 200)
    assert metric(restarted, "pasokh_replay_state", queue=queue, state="live") == 1


def test_bad_replay_requests_are_refused_and_create_nothing(
    tickets_db: dict, running_tickets: dict, readers
):
    url = tickets_db["url"]
    bad = [
        ({"queue": "amq.mine"}, "queue"),
        ({"queue": "billing.tickets", "from_position": 0}, "from_position"),
        ({"queue": "billing.tickets", "from_time": "yesterday"}, "from_time"),
        ({"queue": "q", "from_position": 5, "from_time": "2026-01-01T00:00:00Z"}, "from_time"),
        ({"queue": "billing.tickets", "binding_keys": ["Ticket*"]}, "binding_keys"),
    ]
    with ClusterRpcProxy({"AMQP_URI": running_tickets["amqp_uri"]}, timeout=30) as cluster:
        for payload, field in bad:
            with pytest.raises(ServiceError) as caught:
                cluster.tickets.start_replay(ADMIN, payload)
            error = caught.value
            assert (error.code, error.http_status) == ("validation_failed", 400), payload
            [message] = error.payload["fields"][field]
            assert message["fa"] and message["en"] and message["fa"] != message["en"]
            assert error.payload["message"]["fa"] and error.payload["message"]["en"]
        with pytest.raises(ServiceError) as caught:
            cluster.tickets.start_replay({"id": "s-1", "role": "supervisor"}, {"queue": "q1"})
        assert (caught.value.code, caught.value.http_status) == ("not_permitted", 403)

        refused = cli(url, "replay", "--service", "tickets", "--queue", "rpc-tickets")
        assert refused.returncode == 2
        assert json.loads(refused.stderr)["error"]["fields"]["queue"][0]["fa"]
        refused = cli(url, "replay", "--service", "tickets", "--queue", "q", "--from-time", "x")
        assert json.loads(refused.stderr)["error"]["code"] == "validation_failed"
        with connect(url) as conn:
            assert JOBS.list(conn) == []

        # A good request through the RPC goes live; the same queue is then taken.
        queue = new_queue()
        job = cluster.tickets.start_replay(ADMIN, {"queue": queue})
        assert (job["state"], job["requested_by"]) == ("pending", "admin:admin-1")
        readers(queue)
        wait_for(
            lambda: cluster.tickets.replay_status(ADMIN, job["job_id"])["state"] == "live",
            30,
            "the RPC-started replay to go live",
        )
        with pytest.raises(ServiceError) as caught:
            cluster.tickets.start_replay(ADMIN, {"queue": queue})
        assert (caught.value.code, caught.value.http_status) == ("replay_already_active", 409)
        with pytest.raises(ServiceError) as caught:
            cluster.tickets.cancel_replay(ADMIN, job["job_id"])
        assert caught.value.code == "replay_finished"
        with pytest.raises(ServiceError) as caught:
            cluster.tickets.replay_status(ADMIN, 999999)
        assert caught.value.code == "replay_not_found"
        assert [j["queue"] for j in cluster.tickets.replay_status(ADMIN)["jobs"]] == [queue]


def test_a_cancelled_replay_is_left_alone(tickets_db: dict):
    """Without a relay: the row is the whole interface, and a cancel is final."""
    url = tickets_db["url"]
    queue = new_queue()
    with connect(url) as conn:
        job = JOBS.create(conn, {"queue": queue, "binding_keys": ["#"]}, "test")
        cancelled = cli(url, "replay-cancel", "--service", "tickets", "--job", str(job["job_id"]))
        assert cancelled.returncode == 0, cancelled.stderr
        assert JOBS.get(conn, job["job_id"])["state"] == "cancelled"
        again = cli(url, "replay-cancel", "--service", "tickets", "--job", str(job["job_id"]))
        assert json.loads(again.stderr)["error"]["code"] == "replay_finished"
        # A cancelled job frees the queue for a new one.
        assert JOBS.create(conn, {"queue": queue}, "test")["state"] == "pending"


def test_a_relay_without_the_replay_table_still_publishes(
    tickets_db: dict, collector: Collector, start_relay
):
    """Replays must never stop live publishing, not even on a schema from before them."""
    with connect(tickets_db["admin_url"]) as conn:
        conn.execute("DROP TABLE tickets.replay_jobs")
    relay = start_relay()
    versions = {"ticket-n1": 0, "ticket-n2": 0}
    for _ in range(3):
        ids = append(tickets_db["url"], ["ticket-n1", "ticket-n2"], 3, versions)
        collector.wait_for_ids(set(ids))
    messages = [line.get("message") for line in relay.log_lines()]
    assert messages.count("no replay_jobs table: replays are off until the relay restarts") == 1
    assert "relay interrupted; starting over from the recorded position" not in messages
    assert len(collector.messages) == 18


def test_the_plain_amqp_example_joins_by_replay(tickets_db: dict, amqp_uri: str, start_relay):
    """docs/examples/plain_amqp_subscriber.py --replayed: declares its queue, does not
    bind it, and gets the history then live events, each once, streams in order."""
    url = tickets_db["url"]
    streams = [f"ticket-e{i}" for i in range(5)]
    versions = dict.fromkeys(streams, 0)
    history = append(url, streams, 4, versions)
    start_relay()
    wait_until_published(url, None)
    queue = new_queue()
    example = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "docs" / "examples" / "plain_amqp_subscriber.py"),
         "--uri", amqp_uri, "--queue", queue, "--replayed", "--max", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        ready = example.stderr.readline()
        assert ready.startswith("listening on"), ready
        with connect(url) as conn:
            JOBS.create(conn, {"queue": queue}, "test")
        wait_for_state(url, queue, "live", None)
        live = append(url, streams, 2, versions)
        out, err = example.communicate(timeout=60)  # a safety net, not an assertion
    finally:
        if example.poll() is None:
            example.kill()
    assert example.returncode == 0, err
    lines = [line.split() for line in out.splitlines()]
    assert {fields[0] for fields in lines} == set(history) | set(live)
    assert len(lines) == 30
    for stream in streams:
        seen = [int(fields[3][1:]) for fields in lines if fields[2] == stream]
        assert seen == list(range(1, 7))


def test_replayed_ticket_events_carry_the_opened_personal_fields_like_live_ones(
    tickets_db: dict, tickets_pool, start_relay, readers
):
    """tickets stores personal fields sealed (docs/privacy.md); subscribers must get
    the same opened text by replay as live, never the stored envelope."""
    from services.tickets.application import TicketCommands

    url = tickets_db["url"]
    commands = TicketCommands(tickets_pool)
    body = "متن شخصی مشتری برای بازپخش"
    opened = commands.open_ticket(
        {"id": "cust-replay", "role": "customer"},
        {
            "department": "technical",
            "subject": "بازپخش رویدادها",
            "priority": "normal",
            "body": body,
        },
    )
    with connect(url) as conn:
        stored = conn.execute(
            "SELECT data FROM tickets.events WHERE event_type = 'TicketOpened'"
        ).fetchone()["data"]
    assert body not in json.dumps(stored, ensure_ascii=False)

    start_relay()
    wait_until_published(url, None)
    queue = new_queue()
    assert cli(url, "replay", "--service", "tickets", "--queue", queue).returncode == 0
    wait_for_state(url, queue, "live", None)
    reader = readers(queue)
    reader.read_all(log_ids(url))
    [replayed] = [m for m in reader.messages if m.event_type == "TicketOpened"]
    assert replayed.data["body"] == body
    assert replayed.data["ticket_id"] == opened["ticket_id"]
