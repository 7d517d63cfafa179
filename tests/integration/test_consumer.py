"""Idempotent event handlers against real RabbitMQ and PostgreSQL, the service running
as a real process through the runner: retries, dead letters, replay, duplicates and a
crash in the middle of a handler."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common import dlq
from pasokh_common.consumer import (
    dead_queue_name,
    declare_topology,
    lock_advisory,
    service_topologies,
)
from pasokh_common.consumer_sql import create_processed_events

import psycopg
import pytest
from kombu import Connection, Exchange
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql
from psycopg.rows import dict_row

from tests.support import infra
from tests.support.consumer_service import (
    MAX_ATTEMPTS,
    SCHEMA,
    TABLES_SQL,
    ConsumerTestService,
)
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICE_SPEC = "tests.support.consumer_service:ConsumerTestService"
RETRY_DELAYS = "0.05,0.1"
CONFIG = {"CONSUMER_RETRY_DELAYS": RETRY_DELAYS}
TOPOLOGIES = service_topologies(ConsumerTestService, CONFIG)
TOPOLOGY = next(t for t in TOPOLOGIES if t.queue.name.endswith(".record"))
BATCH_TOPOLOGY = next(t for t in TOPOLOGIES if t.queue.name.endswith(".record_batch"))
QUEUE = TOPOLOGY.queue.name
DEAD_QUEUE = TOPOLOGY.dead_queue.name
CONSUMER = "consumertest.record"
EXCHANGE = Exchange("tickets.events", type="topic", durable=True)
WAIT_SECONDS = 15


# -- helpers ---------------------------------------------------------------------------


class ServiceProcess:
    """The test service as a subprocess of the runner, its logs in a file."""

    def __init__(
        self, amqp_uri: str, database_url: str, log_path: Path, extra_env: dict | None = None
    ) -> None:
        self.metrics_port = free_port()
        self.log_path = log_path
        env = {
            **os.environ,
            "AMQP_URI": amqp_uri,
            "CONSUMERTEST_DATABASE_URL": database_url,
            "CONSUMERTEST_METRICS_PORT": str(self.metrics_port),
            "PASOKH_CONSUMER_RETRY_DELAYS": RETRY_DELAYS,
            **(extra_env or {}),
        }
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pasokh_common.runner", "consumertest", SERVICE_SPEC],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self) -> str:
        return self.log_text()[-4000:]

    def metric(self, name: str, **labels: str) -> float:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        wanted = {"consumer": CONSUMER, **labels}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in wanted.items()
                ):
                    return sample.value
        return 0.0

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_for(predicate: Callable[[], object], what: str, service: ServiceProcess) -> object:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if service.proc.poll() is not None:
            pytest.fail(
                f"service exited ({service.proc.returncode}) while waiting for {what}:\n"
                f"{service.log_tail()}"
            )
        try:
            value = predicate()
        except (OSError, ConnectionError):
            value = None
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}; service log:\n{service.log_tail()}")


def queue_counts(amqp_uri: str, queue: str) -> tuple[int, int]:
    """(ready messages, consumers) of an existing queue."""
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        try:
            _, messages, consumers = channel.queue_declare(queue, passive=True)
        finally:
            channel.close()
    return messages, consumers


def publish(
    amqp_uri: str,
    body: object,
    message_id: str | None,
    *,
    content_type: str = "application/json",
) -> None:
    """Publish the way the relay does: persistent, confirmed, with CloudEvents headers."""
    headers = {"cloudEvents_type": "TicketOpened", "cloudEvents_source": "tickets"}
    properties = {"type": "TicketOpened", "app_id": "tickets", "timestamp": int(time.time())}
    if message_id is not None:
        headers["cloudEvents_id"] = message_id
        properties["message_id"] = message_id
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(
            raw,
            exchange=EXCHANGE,
            routing_key="TicketOpened",
            content_type=content_type,
            content_encoding="utf-8",
            headers=headers,
            delivery_mode=2,
            mandatory=True,
            **properties,
        )


def publish_burst(
    amqp_uri: str, events: list[tuple[str, dict]], event_type: str = "TicketOpened"
) -> None:
    """Publish (id, body) pairs in this order on one confirmed connection."""
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        for event_id, body in events:
            producer.publish(
                json.dumps(body).encode(),
                exchange=EXCHANGE,
                routing_key=event_type,
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=event_id,
                type=event_type,
            )


def all_applied(admin_url: str) -> list[dict]:
    """Every application, in the order it happened."""
    with psycopg.connect(admin_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT event_id, attempt, payload, xact FROM consumertest.applied ORDER BY id"
        ).fetchall()


def applied_rows(admin_url: str, event_id: str) -> list[dict]:
    with psycopg.connect(admin_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT event_id, attempt, redelivered, event_type FROM consumertest.applied"
            " WHERE event_id = %s ORDER BY id",
            (event_id,),
        ).fetchall()


def processed_count(admin_url: str, event_id: str) -> int:
    with psycopg.connect(admin_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM consumertest.processed_events"
            " WHERE consumer = %s AND event_id = %s",
            (CONSUMER, event_id),
        ).fetchone()[0]


def run_sql(admin_url: str, query: str, params: tuple = ()) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(query, params)


def new_id() -> str:
    return str(uuid.uuid4())


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture
def consumer_db(pg_admin_url: str, run_id: str, app_role: str) -> Iterator[dict]:
    """A fresh database with the consumer's tables; the service connects as the app role."""
    name = f"{run_id}_consumer_{uuid.uuid4().hex[:8]}"
    infra.create_database(pg_admin_url, name)
    admin_url = infra.with_database(pg_admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        create_processed_events(conn, SCHEMA, app_role)
        role = sql.Identifier(app_role).as_string(conn)
        conn.execute(TABLES_SQL.replace("{app_role}", role))
    yield {"url": infra.with_database(pg_admin_url, name, user=app_role), "admin_url": admin_url}
    infra.drop_database(pg_admin_url, name)


@pytest.fixture
def topology(amqp_uri: str) -> str:
    """This run's vhost with the handler's queues empty and declared, as the deploy-time
    topology step leaves them: events published before the service starts wait."""
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        for queue in (q for t in TOPOLOGIES for q in t.all_queues):
            channel.queue_delete(queue.name)
        channel.close()
    declare_topology(amqp_uri, ConsumerTestService, CONFIG)
    return amqp_uri


@pytest.fixture
def start_service(
    topology: str, consumer_db: dict, tmp_path: Path
) -> Iterator[Callable[..., ServiceProcess]]:
    started: list[ServiceProcess] = []

    def start(database_url: str | None = None, batch_size: int | None = None) -> ServiceProcess:
        extra = {} if batch_size is None else {"PASOKH_CONSUMER_BATCH_SIZE": str(batch_size)}
        service = ServiceProcess(
            topology, database_url or consumer_db["url"], tmp_path / "service.log", extra
        )
        started.append(service)
        wait_for(lambda: queue_counts(topology, QUEUE)[1] >= 1, "the consumer", service)
        wait_for(
            lambda: service.metric("pasokh_consumer_processed_total") is not None,
            "metrics",
            service,
        )
        return service

    yield start
    for service in started:
        service.stop()


# -- tests -----------------------------------------------------------------------------


def test_handler_failing_twice_is_retried_and_applied_once(
    start_service, topology: str, consumer_db: dict
):
    service = start_service()
    event_id = new_id()
    publish(topology, {"fail_times": 2}, event_id)

    wait_for(lambda: service.metric("pasokh_consumer_processed_total") == 1, "processing", service)
    rows = applied_rows(consumer_db["admin_url"], event_id)
    assert [(r["attempt"], r["event_type"]) for r in rows] == [(3, "TicketOpened")]
    assert processed_count(consumer_db["admin_url"], event_id) == 1
    assert service.metric("pasokh_consumer_retries_total") == 2
    assert service.metric("pasokh_consumer_dead_lettered_total") == 0
    assert service.metric("pasokh_consumer_handler_seconds_count") == 3
    for queue in TOPOLOGY.all_queues:
        assert queue_counts(topology, queue.name)[0] == 0, queue.name


def test_handler_that_keeps_failing_is_parked_with_the_error_and_replay_applies_it(
    start_service, topology: str, consumer_db: dict
):
    admin_url = consumer_db["admin_url"]
    run_sql(admin_url, "INSERT INTO consumertest.blocks (key) VALUES ('bug-1')")
    service = start_service()
    event_id = new_id()
    publish(topology, {"blocked_by": "bug-1"}, event_id)

    wait_for(lambda: queue_counts(topology, DEAD_QUEUE)[0] == 1, "the dead letter", service)
    listed = dlq.list_dead(topology, QUEUE)
    assert [d.message_id for d in listed] == [event_id]
    parked = listed[0]
    assert parked.error == "PlannedFailure: blocked by bug-1"
    assert parked.attempts == MAX_ATTEMPTS
    assert parked.original_queue == QUEUE
    assert parked.failed_at and parked.failed_at.endswith("+00:00")
    assert parked.headers["cloudEvents_id"] == event_id  # the original headers travel
    assert json.loads(parked.body) == {"blocked_by": "bug-1"}
    # Listing looked without taking: the message is still there, the queue it came from
    # is empty, nothing was applied.
    assert [d.message_id for d in dlq.list_dead(topology, DEAD_QUEUE)] == [event_id]
    assert queue_counts(topology, QUEUE)[0] == 0
    assert applied_rows(admin_url, event_id) == []
    assert service.metric("pasokh_consumer_retries_total") == MAX_ATTEMPTS - 1
    assert service.metric("pasokh_consumer_dead_lettered_total") == 1

    # Fix the "bug", then replay with the command an operator would run.
    run_sql(admin_url, "DELETE FROM consumertest.blocks WHERE key = 'bug-1'")
    replayed = subprocess.run(
        [sys.executable, "-m", "pasokh_common.dlq", "replay", "--queue", QUEUE],
        cwd=REPO_ROOT,
        env={**os.environ, "AMQP_URI": topology},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(replayed.stdout) == {"replayed": 1, "queue": QUEUE}

    wait_for(lambda: applied_rows(admin_url, event_id), "the replayed event", service)
    assert [r["attempt"] for r in applied_rows(admin_url, event_id)] == [1]
    assert queue_counts(topology, DEAD_QUEUE)[0] == 0


def test_the_same_event_delivered_twice_is_applied_once(
    start_service, topology: str, consumer_db: dict
):
    service = start_service()
    event_id = new_id()
    publish(topology, {"n": 1}, event_id)
    publish(topology, {"n": 1}, event_id)

    wait_for(
        lambda: service.metric("pasokh_consumer_duplicates_total") == 1, "the duplicate", service
    )
    assert service.metric("pasokh_consumer_processed_total") == 1
    assert len(applied_rows(consumer_db["admin_url"], event_id)) == 1
    assert processed_count(consumer_db["admin_url"], event_id) == 1


def test_a_service_killed_while_handling_gets_the_event_again_and_applies_it_once(
    start_service, topology: str, consumer_db: dict
):
    admin_url = consumer_db["admin_url"]
    # The server notices a vanished client within 100 ms instead of finishing pg_sleep:
    # the killed transaction's locks go at once, as they would with TCP keepalives.
    url = (
        consumer_db["url"]
        + "?"
        + urllib.parse.urlencode(
            {"options": "-c client_connection_check_interval=100"}, quote_via=urllib.parse.quote
        )
    )
    first = start_service(url)
    event_id = new_id()
    publish(topology, {"sleep": 30}, event_id)

    def handler_sleeping() -> bool:
        with psycopg.connect(admin_url) as conn:
            return bool(
                conn.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
                    " AND query LIKE 'SELECT pg_sleep%%' AND state = 'active'"
                ).fetchone()
            )

    wait_for(handler_sleeping, "the handler to be mid-transaction", first)
    first.kill()
    assert applied_rows(admin_url, event_id) == []  # the transaction died with it

    second = start_service(url)
    wait_for(lambda: second.metric("pasokh_consumer_processed_total") == 1, "redelivery", second)
    rows = applied_rows(admin_url, event_id)
    assert [(r["attempt"], r["redelivered"]) for r in rows] == [(1, True)]
    assert processed_count(admin_url, event_id) == 1
    assert queue_counts(topology, QUEUE)[0] == 0


def test_messages_that_cannot_be_handled_at_all_are_parked_and_the_service_goes_on(
    start_service, topology: str, consumer_db: dict
):
    service = start_service()
    publish(topology, b"{not json", "bad-body")
    publish(topology, {"n": 2}, None)  # no id: it could never be deduplicated
    good_id = new_id()
    publish(topology, {"n": 3}, good_id)

    wait_for(lambda: queue_counts(topology, DEAD_QUEUE)[0] == 2, "two dead letters", service)
    errors = sorted(d.error.split(":")[0] for d in dlq.list_dead(topology, QUEUE))
    assert errors == ["MissingEventId", "UndecodableMessage"]
    wait_for(lambda: applied_rows(consumer_db["admin_url"], good_id), "the good event", service)
    assert service.proc.poll() is None


def test_when_the_retry_copy_cannot_be_published_the_original_is_kept(
    start_service, topology: str, consumer_db: dict
):
    service = start_service()
    # A first retry makes the publisher remember the retry queue as declared.
    publish(topology, {"fail_times": 1}, new_id())
    wait_for(lambda: service.metric("pasokh_consumer_processed_total") == 1, "warm-up", service)
    # Lose the retry queue behind the service's back: the next copy is unroutable, so
    # the original must be requeued (not acked) and the queue declared again.
    with Connection(topology) as conn:
        channel = conn.channel()
        channel.queue_delete(TOPOLOGY.retry_queues[0].name)
        channel.close()
    event_id = new_id()
    publish(topology, {"fail_times": 1}, event_id)

    wait_for(lambda: service.metric("pasokh_consumer_processed_total") == 2, "processing", service)
    assert "could not publish" in service.log_text()
    assert [r["attempt"] for r in applied_rows(consumer_db["admin_url"], event_id)] == [2]
    assert service.metric("pasokh_consumer_retries_total") == 2


def test_sigterm_during_a_burst_loses_nothing_and_applies_nothing_twice(
    start_service, topology: str, consumer_db: dict
):
    """Graceful shutdown (issue 7): on SIGTERM the service stops taking messages,
    finishes or returns what it holds, and exits 0 in time; a new process takes the
    rest. Every event ends up applied exactly once."""
    ids = [new_id() for _ in range(600)]
    # The burst waits in the queue first (the topology step declared it), and each
    # event holds its worker a little, so SIGTERM surely lands in the middle of it.
    with Connection(topology, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        for event_id in ids:
            producer.publish(
                json.dumps({"sleep": 0.02}).encode(),
                exchange=EXCHANGE,
                routing_key="TicketOpened",
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=event_id,
            )

    def applied_total() -> int:
        with psycopg.connect(consumer_db["admin_url"]) as conn:
            return conn.execute("SELECT count(*) FROM consumertest.applied").fetchone()[0]

    service = start_service()
    wait_for(lambda: applied_total() >= 20, "the burst to be under way", service)
    service.proc.send_signal(signal.SIGTERM)
    assert service.proc.wait(timeout=30) == 0, service.log_tail()
    assert applied_total() < len(ids), "the burst ended before SIGTERM; nothing was proved"

    successor = start_service()
    wait_for(lambda: applied_total() >= len(ids), "every event to be applied", successor)
    with psycopg.connect(consumer_db["admin_url"]) as conn:
        per_event = conn.execute(
            "SELECT event_id, count(*) FROM consumertest.applied GROUP BY event_id"
        ).fetchall()
    assert len(per_event) == len(ids)
    assert all(count == 1 for _, count in per_event)
    assert queue_counts(topology, dead_queue_name(QUEUE))[0] == 0


# -- batches ---------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 1], ids=["batched", "batch-size-1"])
def test_a_burst_waiting_in_the_queue_is_applied_once_in_order(
    start_service, topology: str, consumer_db: dict, batch_size: int | None
):
    """Published while the service is down, the burst waits in its queue. Batched
    (the default), it is applied in delivery order by fewer transactions than
    events; with a batch size of 1, one transaction per event as before (concurrent
    workers, so in no particular order)."""
    events = [(new_id(), {"seq": n}) for n in range(120)]
    publish_burst(topology, events)

    service = start_service(batch_size=batch_size)
    wait_for(
        lambda: service.metric("pasokh_consumer_processed_total") == len(events),
        "the burst",
        service,
    )
    rows = all_applied(consumer_db["admin_url"])
    applied = [r["event_id"] for r in rows]
    published = [event_id for event_id, _ in events]
    transactions = len({r["xact"] for r in rows})
    batches = service.metric("pasokh_consumer_batch_size_count")
    if batch_size == 1:
        # Concurrent workers, one event each: once each, in no particular order.
        assert sorted(applied) == sorted(published)
        assert transactions == len(events)
        assert batches == 0  # no batch path at all
    else:
        assert applied == published  # once each, in delivery order
        assert transactions < len(events)
        assert 1 <= batches < len(events)
        assert service.metric("pasokh_consumer_batch_size_sum") == len(events)
        # Some batch was larger than nameko's prefetch of max_workers (10) would allow.
        assert service.metric("pasokh_consumer_batch_size_bucket", le="10.0") < batches
        assert service.metric("pasokh_consumer_batch_fallbacks_total") == 0
    assert service.metric("pasokh_consumer_handler_seconds_count") == len(events)
    assert service.metric("pasokh_consumer_duplicates_total") == 0
    assert queue_counts(topology, QUEUE)[0] == 0


def test_a_poison_event_in_a_batch_fails_alone_and_the_rest_is_applied_once(
    start_service, topology: str, consumer_db: dict
):
    admin_url = consumer_db["admin_url"]
    run_sql(admin_url, "INSERT INTO consumertest.blocks (key) VALUES ('poison')")
    events = [(new_id(), {"seq": n}) for n in range(40)]
    poison_id = events[20][0]
    events[20] = (poison_id, {"seq": 20, "blocked_by": "poison"})
    publish_burst(topology, events)

    service = start_service()
    wait_for(lambda: queue_counts(topology, DEAD_QUEUE)[0] == 1, "the dead letter", service)
    wait_for(
        lambda: service.metric("pasokh_consumer_processed_total") == len(events) - 1,
        "the others",
        service,
    )
    assert [d.message_id for d in dlq.list_dead(topology, QUEUE)] == [poison_id]
    rows = all_applied(admin_url)
    expected = [event_id for event_id, _ in events if event_id != poison_id]
    assert [r["event_id"] for r in rows] == expected  # each once, in order
    assert processed_count(admin_url, poison_id) == 0
    assert service.metric("pasokh_consumer_batch_fallbacks_total") >= 1
    assert service.metric("pasokh_consumer_retries_total") == MAX_ATTEMPTS - 1
    assert service.metric("pasokh_consumer_dead_lettered_total") == 1
    assert service.metric("pasokh_consumer_duplicates_total") == 0


def test_duplicates_inside_a_batch_are_skipped(start_service, topology: str, consumer_db: dict):
    """An event already processed (its row is there, as after a redelivery) and an
    event delivered twice within the burst are each applied once at most."""
    admin_url = consumer_db["admin_url"]
    done_id, twice_id = new_id(), new_id()
    run_sql(
        admin_url,
        "INSERT INTO consumertest.processed_events (consumer, event_id) VALUES (%s, %s)",
        (CONSUMER, done_id),
    )
    events = [(new_id(), {"seq": n}) for n in range(30)]
    events[5:5] = [(twice_id, {"seq": "twice"})]
    events[10:10] = [(done_id, {"seq": "done"})]
    events[20:20] = [(twice_id, {"seq": "twice"})]
    publish_burst(topology, events)

    service = start_service()
    wait_for(
        lambda: service.metric("pasokh_consumer_duplicates_total") == 2, "the duplicates", service
    )
    wait_for(lambda: service.metric("pasokh_consumer_processed_total") == 31, "the rest", service)
    rows = all_applied(admin_url)
    expected = [e for e, _ in events if e != done_id]
    del expected[expected.index(twice_id, 6)]  # its second copy
    assert [r["event_id"] for r in rows] == expected
    assert len({r["xact"] for r in rows}) < len(rows)
    assert service.metric("pasokh_consumer_batch_fallbacks_total") == 0
    assert queue_counts(topology, QUEUE)[0] == 0


def calls_of(admin_url: str) -> list[dict]:
    """The batch handler's applications, in order, with the call each came in."""
    with psycopg.connect(admin_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT event_id, call_id, xact FROM consumertest.applied"
            " WHERE event_type = 'TicketClosed' ORDER BY id"
        ).fetchall()


BATCH_CONSUMER = "consumertest.record_batch"


def test_a_batch_handler_gets_a_burst_in_few_calls_in_order_each_event_once(
    start_service, topology: str, consumer_db: dict
):
    """``batch_handler=True``: one call per transaction with all its new events, in
    delivery order; an event already processed is not passed again."""
    admin_url = consumer_db["admin_url"]
    done_id = new_id()
    run_sql(
        admin_url,
        "INSERT INTO consumertest.processed_events (consumer, event_id) VALUES (%s, %s)",
        (BATCH_CONSUMER, done_id),
    )
    events = [(new_id(), {"seq": n}) for n in range(60)]
    events[7:7] = [(done_id, {"seq": "done"})]
    publish_burst(topology, events, "TicketClosed")

    service = start_service()
    wait_for(
        lambda: service.metric("pasokh_consumer_processed_total", consumer=BATCH_CONSUMER) == 60,
        "the burst",
        service,
    )
    rows = calls_of(admin_url)
    assert [r["event_id"] for r in rows] == [e for e, _ in events if e != done_id]
    calls = {r["call_id"] for r in rows}
    assert len(calls) < len(rows)  # several events per call
    for call in calls:  # one call, one transaction
        assert len({r["xact"] for r in rows if r["call_id"] == call}) == 1
    assert service.metric("pasokh_consumer_duplicates_total", consumer=BATCH_CONSUMER) == 1
    assert service.metric("pasokh_consumer_batch_fallbacks_total", consumer=BATCH_CONSUMER) == 0
    assert queue_counts(topology, BATCH_TOPOLOGY.queue.name)[0] == 0


def test_a_batch_handler_on_the_fallback_path_isolates_the_poison_event(
    start_service, topology: str, consumer_db: dict
):
    """A call that raises rolls the whole batch back; each event is then passed alone
    (a one-element list): the poison one is retried and parked, the rest applied once."""
    admin_url = consumer_db["admin_url"]
    run_sql(admin_url, "INSERT INTO consumertest.blocks (key) VALUES ('poison')")
    events = [(new_id(), {"seq": n}) for n in range(30)]
    poison_id = events[12][0]
    events[12] = (poison_id, {"seq": 12, "blocked_by": "poison"})
    publish_burst(topology, events, "TicketClosed")

    service = start_service()
    batch_queue = BATCH_TOPOLOGY.queue.name
    wait_for(
        lambda: queue_counts(topology, BATCH_TOPOLOGY.dead_queue.name)[0] == 1,
        "the dead letter",
        service,
    )
    wait_for(
        lambda: service.metric("pasokh_consumer_processed_total", consumer=BATCH_CONSUMER) == 29,
        "the others",
        service,
    )
    assert [d.message_id for d in dlq.list_dead(topology, batch_queue)] == [poison_id]
    rows = calls_of(admin_url)
    assert [r["event_id"] for r in rows] == [e for e, _ in events if e != poison_id]
    assert service.metric("pasokh_consumer_batch_fallbacks_total", consumer=BATCH_CONSUMER) >= 1
    assert service.metric("pasokh_consumer_retries_total", consumer=BATCH_CONSUMER) == (
        MAX_ATTEMPTS - 1
    )
    assert service.metric("pasokh_consumer_dead_lettered_total", consumer=BATCH_CONSUMER) == 1


def test_batch_locks_are_taken_in_one_order_whatever_the_order_of_the_events(
    consumer_db: dict,
):
    """``lock_advisory`` takes a batch's locks in the order of their lock values,
    whatever order its events came in, so two batches locking the same tickets never
    hold one each while waiting for the other's (a deadlock). Here the lock with the
    highest value is held elsewhere and listed first: the batch must have taken every
    other lock and wait for that one last."""
    admin_url = consumer_db["admin_url"]
    keys = [f"ticket:{n}" for n in range(10)]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        by_value = conn.execute(
            "SELECT k FROM unnest(%s::text[]) AS k ORDER BY hashtextextended(k, 0)", (keys,)
        ).fetchall()
    highest = by_value[-1][0]
    listed = [highest] + [k for k in keys if k != highest]
    outcome: list[object] = []

    with psycopg.connect(admin_url) as holder, psycopg.connect(admin_url) as batch:
        batch_pid = batch.info.backend_pid
        holder.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (highest,))

        def run_batch() -> None:
            try:
                with batch.transaction():
                    lock_advisory(batch, listed)
                outcome.append("done")
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=run_batch)
        thread.start()

        def locks_of_batch() -> tuple[int, int]:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                return conn.execute(
                    "SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted)"
                    " FROM pg_locks WHERE locktype = 'advisory' AND pid = %s",
                    (batch_pid,),
                ).fetchone()

        try:
            deadline = time.monotonic() + WAIT_SECONDS
            while locks_of_batch()[1] == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            held_while_waiting = locks_of_batch()
        finally:
            holder.commit()
            thread.join(timeout=WAIT_SECONDS)
    assert held_while_waiting == (len(keys) - 1, 1)
    assert outcome == ["done"]
