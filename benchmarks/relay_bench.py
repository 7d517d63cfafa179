"""How fast the relay publishes a backlog to RabbitMQ with publisher confirms.

``measure_relay_publish_rate`` appends ``n`` events (untimed), then times one relay
catching up on exactly those: read from the log, publish with pipelined confirms,
record the position per batch. The messages go to a durable queue, so the broker
writes them to disk before confirming, as it does in production.

Run alone: ``python -m benchmarks.relay_bench [--events N]`` creates a scratch
database (from PASOKH_TEST_DATABASE_URL or a local default) and, when the test
helpers can, a scratch RabbitMQ vhost; both are removed afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common import migrations
from pasokh_common.eventlog import EventMetadata, EventStore, NewEvent
from pasokh_common.eventlog.publisher import connection_params
from pasokh_common.eventlog.relay import Relay

import amqp
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

REPO_ROOT = Path(__file__).resolve().parent.parent
TICKETS_MIGRATIONS = REPO_ROOT / "services" / "tickets" / "migrations"
BENCH_SOURCE = "relaybench"  # its own exchange (relaybench.events): never tickets.events
STREAMS = 50
APPEND_CHUNK = 500


def prefill(database_url: str, n: int) -> None:
    """Append ``n`` events over ``STREAMS`` new streams, ``APPEND_CHUNK`` per transaction."""
    store = EventStore("tickets")
    actor = EventMetadata(actor_id="bench", actor_role="agent")
    streams = [f"relay-bench-{uuid.uuid4().hex[:8]}-{i}" for i in range(STREAMS)]
    versions = dict.fromkeys(streams, 0)
    data = {"ticket_id": "x", "body": "متن نمونهٔ یک پاسخ برای سنجش", "attachments": []}
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        appended = 0
        while appended < n:
            chunk = min(APPEND_CHUNK, n - appended)
            with conn.transaction():
                for offset in range(chunk):
                    stream = streams[(appended + offset) % STREAMS]
                    store.append(
                        conn, stream, versions[stream], [NewEvent("ReplyPosted", data)], actor
                    )
                    versions[stream] += 1
            appended += chunk


def start_at_log_end(database_url: str, relay_name: str) -> None:
    """Record the relay's position at the current end of the log, so only the events
    appended afterwards are published (the log may already hold many)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tickets.relay_positions (relay_name, last_xid, last_position)"
            " SELECT %s, coalesce(max(xid), '0'::xid8),"
            "  coalesce((SELECT position FROM tickets.events ORDER BY xid DESC, position DESC"
            "            LIMIT 1), 0)"
            " FROM tickets.events",
            (relay_name,),
        )


@contextlib.contextmanager
def bound_queue(amqp_uri: str, exchange: str) -> Iterator[str]:
    """A durable queue taking every message, so publishes are routed and persisted."""
    connection = amqp.Connection(**connection_params(amqp_uri))
    connection.connect()
    channel = connection.channel()
    queue = f"relay-bench-{uuid.uuid4().hex[:8]}"
    try:
        channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
        channel.queue_declare(queue, durable=True, auto_delete=False)
        channel.queue_bind(queue, exchange, "#")
        yield queue
    finally:
        with contextlib.suppress(Exception):
            channel.queue_delete(queue)
            channel.exchange_delete(exchange)
        connection.close()


def measure_relay_publish_rate(database_url: str, amqp_uri: str, n: int = 5000) -> float:
    """Events per second one relay publishes, confirmed, from a backlog of ``n``."""
    relay_name = f"bench-{uuid.uuid4().hex[:8]}"
    start_at_log_end(database_url, relay_name)
    prefill(database_url, n)
    relay = Relay(database_url, amqp_uri, source=BENCH_SOURCE, relay_name=relay_name)
    with bound_queue(amqp_uri, f"{BENCH_SOURCE}.events"):
        started = time.perf_counter()
        published = relay.catch_up(minimum=n)
        elapsed = time.perf_counter() - started
    if published < n:
        raise RuntimeError(f"relay published {published} of {n} events")
    return published / elapsed


# -- standalone run ----------------------------------------------------------------


def with_database(url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, ""))


@contextlib.contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    name = f"pasokh_relaybench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = with_database(admin_url, name)
        migrations.apply(url, "tickets", TICKETS_MIGRATIONS)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextlib.contextmanager
def scratch_vhost(amqp_uri: str) -> Iterator[str]:
    try:
        from tests.support import infra
    except ImportError:
        yield amqp_uri
        return
    name = f"pasokh_relaybench_{uuid.uuid4().hex[:8]}"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "PASOKH_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--amqp-uri",
        default=os.environ.get("PASOKH_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
    )
    args = parser.parse_args()
    with scratch_database(args.admin_url) as url, scratch_vhost(args.amqp_uri) as vhost:
        rate = measure_relay_publish_rate(url, vhost, n=args.events)
    print(f"relay publish rate (confirmed, {args.events} events): {rate:,.0f} events/s")


if __name__ == "__main__":
    main()
