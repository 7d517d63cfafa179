"""The relay: tails the committed event log and publishes it to RabbitMQ.

Guarantees (docs/relay.md):
- at least once: the position in ``<schema>.relay_positions`` advances only after
  the broker confirmed every event up to it, so a crash anywhere re-publishes from
  the last recorded position and never skips;
- per-stream order: events are read in (xid, position) order below the oldest
  running transaction (``EventStore.read_committed``), and a stream's later version
  always has the larger xid, so each stream is published in version order;
- duplicates after a crash are the same events again, with the same message id;
- replay jobs (``replayer.py``) fill a new subscriber's queue between live batches
  and bind it at the relay's recorded position, so it continues live with no gap.

Several replicas may run: a session advisory lock elects one leader. Everything
the leader does (reading, recording the position) runs on the connection that holds
the lock, so a leader whose database session dies cannot record anything and the
lock is free for a follower at the same moment.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.eventlog.publisher import ConfirmingPublisher, PublishFailed
from pasokh_common.eventlog.records import LogCursor, RecordedEvent
from pasokh_common.eventlog.replayer import Replayer
from pasokh_common.eventlog.store import Decoder, EventStore

import amqp
import psycopg
from prometheus_client import Counter, Gauge, Histogram
from psycopg import sql
from psycopg.rows import dict_row

log = logging.getLogger("pasokh.relay")

PUBLISHED = Counter(
    "pasokh_relay_published_total", "Events published and confirmed by the broker.", ["source"]
)
LAG_EVENTS = Gauge(
    "pasokh_relay_lag_events",
    "Committed events not yet published (counted up to a cap of 1,000,000).",
    ["source"],
)
LAG_SECONDS = Gauge(
    "pasokh_relay_lag_seconds",
    "Age of the next event to publish; 0 when the relay is caught up.",
    ["source"],
)
BATCH_SECONDS = Histogram(
    "pasokh_relay_batch_seconds",
    "Time to publish one batch with confirms and record the position.",
    ["source"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
IS_LEADER = Gauge(
    "pasokh_relay_is_leader", "1 while this process holds the relay lock and publishes.", ["source"]
)


class LostPosition(RuntimeError):
    """The recorded position moved under us: start over from it, never rewind it."""


# Errors after which the relay drops both connections and starts over from the
# recorded position. Anything else is a bug and ends the process.
RECOVERABLE = (
    psycopg.Error,
    amqp.exceptions.AMQPError,
    OSError,
    PublishFailed,
    LostPosition,
)

LAG_COUNT_CAP = 1_000_000
LAG_REPORT_INTERVAL = 1.0


def lock_key(schema: str, relay_name: str) -> int:
    """A stable signed 64-bit advisory lock key for one relay of one log.

    Python's ``hash`` differs per process, and Postgres' ``hashtext`` is only 32
    bits; a blake2b digest is the same everywhere and collides with nothing else.
    """
    digest = hashlib.blake2b(f"pasokh.relay:{schema}:{relay_name}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class Backoff:
    """Exponential wait with jitter between reconnect attempts, reset on success."""

    def __init__(self, first: float = 0.5, ceiling: float = 10.0) -> None:
        self.first, self.ceiling = first, ceiling
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.ceiling)
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self._next = self.first


class Relay:
    """Publishes ``<schema>.events`` to ``<source>.events``; one leader among replicas."""

    def __init__(
        self,
        database_url: str,
        amqp_uri: str,
        schema: str = "tickets",
        source: str = "tickets",
        relay_name: str = "tickets",
        batch_size: int = 500,
        idle_sleep: float = 0.05,
        lock_retry: float = 1.0,
        confirm_timeout: float = 30.0,
        decoder: Decoder | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.database_url = database_url
        self.amqp_uri = amqp_uri
        self.schema = schema
        self.source = source
        self.relay_name = relay_name
        self.batch_size = batch_size
        self.idle_sleep = idle_sleep
        self.lock_retry = lock_retry
        # What subscribers see, live and replayed alike (tickets opens its sealed
        # personal fields here: docs/privacy.md).
        self.store = EventStore(schema, decoder=decoder)
        self.publisher = ConfirmingPublisher(
            amqp_uri, exchange=f"{source}.events", source=source, confirm_timeout=confirm_timeout
        )
        self.lock_key = lock_key(schema, relay_name)
        # Replays into new subscribers' queues (docs/integration.md), one chunk of
        # each between live batches.
        self.replayer = Replayer(self.store, schema, source, chunk_size=batch_size)
        self._stop = threading.Event()
        self._positions = sql.Identifier(schema, "relay_positions")
        self._events = sql.Identifier(schema, "events")
        self._lag_reported_at = 0.0
        self._metric_labels = {"source": source}
        IS_LEADER.labels(**self._metric_labels).set(0)

    # -- lifecycle -----------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to end after the batch in flight is confirmed and recorded.
        Safe to call from a signal handler."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Lead or wait to lead until ``stop()``; recover from any broker/DB failure."""
        backoff = Backoff()
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    self._follow_until_leader(conn)
                    if self._stop.is_set():
                        break
                    try:
                        self._lead(conn, backoff)
                    finally:
                        self._release(conn)
            except RECOVERABLE as exc:
                delay = backoff.next()
                log.warning(
                    "relay interrupted; starting over from the recorded position",
                    extra={"error": f"{type(exc).__name__}: {exc}", "retry_in": round(delay, 2)},
                )
                self._stop.wait(delay)
        log.info("relay stopped", extra={"relay": self.relay_name})

    def catch_up(self, minimum: int = 0, timeout: float = 120.0) -> int:
        """Take the lead (waiting for it), publish everything committed (and at least
        ``minimum`` events, waiting for a held-back horizon to move), then return the
        number published. For benchmarks and one-off runs; errors propagate."""
        published = 0
        deadline = time.monotonic() + timeout
        with self._connect() as conn:
            while not self._try_lock(conn):
                self._check_deadline(deadline)
                time.sleep(self.lock_retry)
            try:
                cursor, _ = self._load_position(conn)
                while True:
                    events = self.store.read_committed(conn, cursor, self.batch_size)
                    if events:
                        cursor = self._publish_and_record(conn, events)
                        published += len(events)
                    elif published >= minimum:
                        break
                    else:
                        self._check_deadline(deadline)
                        time.sleep(self.idle_sleep)
            finally:
                self._release(conn)
        return published

    @staticmethod
    def _check_deadline(deadline: float) -> None:
        if time.monotonic() > deadline:
            raise TimeoutError("relay catch-up did not finish in time")

    # -- leadership ----------------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(
            self.database_url,
            autocommit=True,
            row_factory=dict_row,
            connect_timeout=10,
            application_name=f"pasokh-relay-{self.relay_name}",
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
        # The server must notice a vanished leader quickly too, or its lock (and so
        # the leadership) outlives it by the OS default of two hours.
        conn.execute(
            "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5;"
            " SET tcp_keepalives_count = 3"
        )
        return conn

    def _try_lock(self, conn: psycopg.Connection) -> bool:
        row = conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (self.lock_key,)).fetchone()
        return bool(row["locked"])

    def _follow_until_leader(self, conn: psycopg.Connection) -> None:
        announced = False
        while not self._stop.is_set():
            if self._try_lock(conn):
                return
            if not announced:
                log.info("another relay leads; waiting", extra={"relay": self.relay_name})
                announced = True
            self._report_lag(conn, self._recorded_cursor(conn), force=True)
            self._stop.wait(self.lock_retry)

    def _release(self, conn: psycopg.Connection) -> None:
        IS_LEADER.labels(**self._metric_labels).set(0)
        self.publisher.close()
        if not conn.closed and not conn.broken:
            try:
                conn.execute("SELECT pg_advisory_unlock(%s)", (self.lock_key,))
            except psycopg.Error:
                log.debug("unlock failed; closing the session frees the lock", exc_info=True)

    # -- leading -------------------------------------------------------------------

    def _lead(self, conn: psycopg.Connection, backoff: Backoff) -> None:
        cursor, published = self._load_position(conn)
        IS_LEADER.labels(**self._metric_labels).set(1)
        log.info(
            "leading: publishing from the recorded position",
            extra={
                "relay": self.relay_name,
                "last_xid": cursor.xid,
                "last_position": cursor.position,
                "published": published,
            },
        )
        # The backoff is reset only by a recorded batch: a failure that repeats after
        # every reconnect (a full queue nacking) must not be retried at the first delay.
        self.publisher.connect()
        while not self._stop.is_set():
            events = self.store.read_committed(conn, cursor, self.batch_size)
            if events:
                cursor = self._publish_and_record(conn, events)
                backoff.reset()
            # Same thread, after the position is recorded and before the next live
            # batch: a replay that reaches ``cursor`` binds its queue in between.
            replayed = self.replayer.advance(conn, self.publisher, cursor)
            self._report_lag(conn, cursor, force=False, caught_up=not events)
            if len(events) < self.batch_size and not replayed:
                self._stop.wait(self.idle_sleep)

    def _publish_and_record(
        self, conn: psycopg.Connection, events: list[RecordedEvent]
    ) -> LogCursor:
        """Publish one batch and, only after every confirm, record the position."""
        started = time.perf_counter()
        self.publisher.publish_batch(events)
        cursor = events[-1].cursor
        self._save_position(conn, cursor, len(events))
        BATCH_SECONDS.labels(**self._metric_labels).observe(time.perf_counter() - started)
        PUBLISHED.labels(**self._metric_labels).inc(len(events))
        log.debug(
            "batch published",
            extra={"count": len(events), "last_position": cursor.position},
        )
        return cursor

    # -- the recorded position -----------------------------------------------------

    def _load_position(self, conn: psycopg.Connection) -> tuple[LogCursor, int]:
        conn.execute(
            sql.SQL("INSERT INTO {} (relay_name) VALUES (%s) ON CONFLICT DO NOTHING").format(
                self._positions
            ),
            (self.relay_name,),
        )
        row = conn.execute(
            sql.SQL(
                "SELECT last_xid::text AS last_xid, last_position, published FROM {}"
                " WHERE relay_name = %s"
            ).format(self._positions),
            (self.relay_name,),
        ).fetchone()
        return LogCursor(int(row["last_xid"]), row["last_position"]), row["published"]

    def _recorded_cursor(self, conn: psycopg.Connection) -> LogCursor:
        row = conn.execute(
            sql.SQL(
                "SELECT last_xid::text AS last_xid, last_position FROM {} WHERE relay_name = %s"
            ).format(self._positions),
            (self.relay_name,),
        ).fetchone()
        return LogCursor(int(row["last_xid"]), row["last_position"]) if row else LogCursor()

    def _save_position(self, conn: psycopg.Connection, cursor: LogCursor, count: int) -> None:
        """Advance, never move back: the guard turns a (should-be-impossible) second
        leader's stale write into an error instead of a rewind."""
        result = conn.execute(
            sql.SQL(
                "UPDATE {} SET last_xid = %s::text::xid8, last_position = %s,"
                " published = published + %s, updated_at = now()"
                " WHERE relay_name = %s AND (last_xid, last_position) < (%s::text::xid8, %s)"
            ).format(self._positions),
            (
                str(cursor.xid),
                cursor.position,
                count,
                self.relay_name,
                str(cursor.xid),
                cursor.position,
            ),
        )
        if result.rowcount != 1:
            raise LostPosition(
                f"relay position of {self.relay_name!r} is missing or already past"
                f" {cursor}; another relay wrote it"
            )

    # -- lag -----------------------------------------------------------------------

    def _report_lag(
        self, conn: psycopg.Connection, cursor: LogCursor, force: bool, caught_up: bool = False
    ) -> None:
        """Count what is left at most once a second: cheap enough at any lag, and
        what alerts need. Counted rather than ``head - position`` because positions
        commit out of order; this also counts events held back by a long transaction."""
        now = time.monotonic()
        if not force and now - self._lag_reported_at < LAG_REPORT_INTERVAL:
            return
        self._lag_reported_at = now
        params: dict[str, Any] = {"xid": str(cursor.xid), "pos": cursor.position}
        row = conn.execute(
            sql.SQL(
                "SELECT (SELECT count(*) FROM (SELECT 1 FROM {events}"
                "   WHERE (xid, position) > (%(xid)s::text::xid8, %(pos)s) LIMIT {cap}) AS left_)"
                "   AS events,"
                " (SELECT extract(epoch FROM clock_timestamp() - recorded_at) FROM {events}"
                "   WHERE (xid, position) > (%(xid)s::text::xid8, %(pos)s)"
                "   ORDER BY xid, position LIMIT 1) AS seconds"
            ).format(events=self._events, cap=sql.Literal(LAG_COUNT_CAP)),
            params,
        ).fetchone()
        LAG_EVENTS.labels(**self._metric_labels).set(row["events"])
        seconds = float(row["seconds"]) if row["seconds"] is not None else 0.0
        LAG_SECONDS.labels(**self._metric_labels).set(max(seconds, 0.0))
        if caught_up and row["events"]:
            log.debug("events held back by an older open transaction", extra=dict(row))
