"""Replay and catch-up, done by the relay leader between its live batches.

Why the relay: it is the only publisher to ``<source>.events`` and publishes in the
log's committed (xid, position) order, so it alone knows a point in the log where
"everything up to here was published" is true. A job copies the log into its queue
(default exchange, routing key = the queue) up to the relay's *recorded* position;
when it reaches that position, the relay binds the queue to the exchange and marks
the job live in the same thread, before its next live batch. Everything up to the
cursor came by replay, everything after it comes by the binding: no gap, no
duplicate, and per stream the versions stay in order (docs/integration.md).

Each loop advances every active job by at most one chunk, so a long replay never
starves live publishing. A job's cursor is recorded only after the broker confirmed
the chunk; a crash re-sends at most that chunk, with the same message ids.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.eventlog.publisher import ConfirmingPublisher, PublishNacked
from pasokh_common.eventlog.records import LogCursor, RecordedEvent
from pasokh_common.eventlog.replay_jobs import (
    FAILED,
    LIVE,
    PENDING,
    REPLAYING,
    STATES,
    ReplayJobs,
)
from pasokh_common.eventlog.store import EventStore
from pasokh_common.eventlog.topics import matches_any

import amqp
import psycopg
from prometheus_client import Counter, Gauge
from psycopg import sql

log = logging.getLogger("pasokh.relay.replay")

REPLAYED = Counter(
    "pasokh_replay_events_total",
    "Events a replay published to its subscriber's queue, confirmed by the broker.",
    ["source", "queue"],
)
REMAINING = Gauge(
    "pasokh_replay_remaining_events",
    "Events of the log between a replay's cursor and the relay's position (capped at"
    " 1,000,000; before the routing-key filter).",
    ["source", "queue"],
)
STATE = Gauge(
    "pasokh_replay_state",
    "1 for the state a replay job is in (pending, replaying, live, failed, cancelled).",
    ["source", "queue", "state"],
)

REMAINING_CAP = 1_000_000
REMAINING_INTERVAL = 1.0
NACK_HOLD_OFF = 5.0
# With no job active, look for a new one this often, not on every relay loop (the
# relay polls its log 20 times a second when idle): a replay starts within a second.
IDLE_JOB_CHECK = 1.0


def wanted(job: dict[str, Any], event: RecordedEvent) -> bool:
    """Whether the job's subscriber gets ``event``: at or after its start, and routed
    to it by its binding keys (the same choice the broker makes for live events)."""
    if job.get("from_position") is not None and event.position < job["from_position"]:
        return False
    if job.get("from_time") is not None and event.recorded_at < job["from_time"]:
        return False
    return matches_any(job["binding_keys"], event.type)


def chunk_outcome(
    events: list[RecordedEvent], limit: int, relay_cursor: LogCursor
) -> tuple[list[RecordedEvent], bool]:
    """Of one read after a job's cursor, the events at or before the relay's position,
    and whether the job has reached that position (nothing published by the relay is
    left after them). ``events`` come from ``read_committed``: everything at or
    before the relay's position is already below the horizon, so a short read or an
    event past the position means none is missing in between."""
    in_range = [event for event in events if event.cursor <= relay_cursor]
    return in_range, len(in_range) < len(events) or len(events) < limit


class Replayer:
    """Advances the replay jobs of one log; used only by the leading relay, on the
    connection that holds the relay lock."""

    def __init__(self, store: EventStore, schema: str, source: str, chunk_size: int) -> None:
        self.store = store
        self.source = source
        self.chunk_size = chunk_size
        self.jobs = ReplayJobs(schema)
        self._events = sql.Identifier(schema, "events")
        self.enabled = True
        self._hold_off: dict[int, float] = {}
        self._remaining_at: dict[int, float] = {}
        self._next_idle_check = 0.0

    def advance(
        self, conn: psycopg.Connection, publisher: ConfirmingPublisher, relay_cursor: LogCursor
    ) -> bool:
        """One chunk of every active job; True if any job moved (the relay then does
        not idle)."""
        if not self.enabled:
            return False
        now = time.monotonic()
        if now < self._next_idle_check:
            return False
        try:
            active = self.jobs.active(conn)
        except psycopg.errors.UndefinedTable:
            # A relay newer than its schema (the replay_jobs migration not applied):
            # live publishing must not depend on replays.
            log.warning("no replay_jobs table: replays are off until the relay restarts")
            self.enabled = False
            return False
        if not active:
            self._next_idle_check = now + IDLE_JOB_CHECK
        moved = False
        for job in active:
            if self._hold_off.get(job["job_id"], 0.0) > now:
                continue
            moved |= self._advance_job(conn, publisher, job, relay_cursor)
        return moved

    # -- one job -----------------------------------------------------------------------

    def _advance_job(
        self,
        conn: psycopg.Connection,
        publisher: ConfirmingPublisher,
        job: dict[str, Any],
        relay_cursor: LogCursor,
    ) -> bool:
        job_id, queue = job["job_id"], job["queue"]
        if job["state"] == PENDING:
            try:
                created = publisher.ensure_queue(queue)
            except amqp.exceptions.ChannelError as exc:
                self._fail(conn, job, f"cannot declare the queue: {exc}")
                return False
            cursor = min(self._start_cursor(conn, job), relay_cursor)
            if not self.jobs.start(conn, job_id, cursor.xid, cursor.position):
                return self._gone(conn, job)
            log.info(
                "replay started",
                extra={"job_id": job_id, "queue": queue, "queue_created": created},
            )
        else:
            cursor = LogCursor(job["last_xid"], job["last_position"])
        self._set_state(queue, REPLAYING)

        events = self.store.read_committed(conn, cursor, self.chunk_size)
        in_range, reached = chunk_outcome(events, self.chunk_size, relay_cursor)
        selected = [event for event in in_range if wanted(job, event)]
        if selected and not self._publish(conn, publisher, job, selected):
            return False
        new_cursor = relay_cursor if reached else in_range[-1].cursor
        if new_cursor != cursor or selected:
            if not self.jobs.advance(
                conn, job_id, new_cursor.xid, new_cursor.position, len(in_range), len(selected)
            ):
                return self._gone(conn, job)
            REPLAYED.labels(self.source, queue).inc(len(selected))
        if reached:
            self._hand_over(conn, publisher, job, new_cursor)
        else:
            self._report_remaining(conn, job, new_cursor, relay_cursor)
        return bool(in_range)

    def _publish(
        self,
        conn: psycopg.Connection,
        publisher: ConfirmingPublisher,
        job: dict[str, Any],
        events: list[RecordedEvent],
    ) -> bool:
        returned = publisher.returned
        try:
            publisher.publish_batch(events, to_queue=job["queue"])
        except PublishNacked as exc:
            # The subscriber's queue refuses (full, with reject-publish): retry later;
            # live publishing must not suffer from one subscriber's queue.
            self._hold_off[job["job_id"]] = time.monotonic() + NACK_HOLD_OFF
            self.jobs.note_error(conn, job["job_id"], f"the queue refused messages: {exc}")
            log.warning("replay refused by its queue", extra={"job_id": job["job_id"]})
            return False
        if publisher.returned != returned:
            self._fail(conn, job, "the queue no longer exists (messages were returned)")
            return False
        return True

    def _hand_over(
        self,
        conn: psycopg.Connection,
        publisher: ConfirmingPublisher,
        job: dict[str, Any],
        cursor: LogCursor,
    ) -> None:
        """Bind the queue and mark the job live, under the job's row lock. Runs before
        the relay's next live batch, so the first event after ``cursor`` is routed by
        the binding. Bound before marked: a crash in between re-sends (same ids), never
        leaves a gap."""
        try:
            with conn.transaction():
                if not self.jobs.lock_replaying(conn, job["job_id"]):
                    return
                publisher.bind_queue(job["queue"], job["binding_keys"])
                self.jobs.go_live(conn, job["job_id"], cursor.xid, cursor.position)
        except amqp.exceptions.ChannelError as exc:
            self._fail(conn, job, f"cannot bind the queue: {exc}")
            return
        self._set_state(job["queue"], LIVE)
        REMAINING.labels(self.source, job["queue"]).set(0)
        log.info(
            "replay caught up; the queue is bound and live",
            extra={"job_id": job["job_id"], "queue": job["queue"], "position": cursor.position},
        )

    # -- starting point, progress, state -----------------------------------------------

    def _start_cursor(self, conn: psycopg.Connection, job: dict[str, Any]) -> LogCursor:
        """Just before the first transaction holding a wanted event, so a replay from a
        late position or time does not read the whole log; earlier events of that
        transaction and later ones are filtered by ``wanted``."""
        if job["from_position"] is not None:
            condition, value = sql.SQL("position >= %s"), job["from_position"]
        elif job["from_time"] is not None:
            condition, value = sql.SQL("recorded_at >= %s"), job["from_time"]
        else:
            return LogCursor()
        row = conn.execute(
            sql.SQL("SELECT min(xid)::text::bigint AS xid FROM {} WHERE {}").format(
                self._events, condition
            ),
            (value,),
        ).fetchone()
        if row["xid"] is None:
            return LogCursor(2**63 - 1, 0)  # nothing yet: limited to the relay's position
        return LogCursor(int(row["xid"]), 0)

    def _report_remaining(
        self,
        conn: psycopg.Connection,
        job: dict[str, Any],
        cursor: LogCursor,
        relay_cursor: LogCursor,
    ) -> None:
        now = time.monotonic()
        if now - self._remaining_at.get(job["job_id"], 0.0) < REMAINING_INTERVAL:
            return
        self._remaining_at[job["job_id"]] = now
        row = conn.execute(
            sql.SQL(
                "SELECT count(*) AS n FROM (SELECT 1 FROM {} WHERE (xid, position) >"
                " (%(xid)s::text::xid8, %(pos)s) AND (xid, position) <="
                " (%(rxid)s::text::xid8, %(rpos)s) LIMIT {cap}) AS left_"
            ).format(self._events, cap=sql.Literal(REMAINING_CAP)),
            {
                "xid": str(cursor.xid),
                "pos": cursor.position,
                "rxid": str(relay_cursor.xid),
                "rpos": relay_cursor.position,
            },
        ).fetchone()
        REMAINING.labels(self.source, job["queue"]).set(row["n"])
        self.jobs.set_remaining(conn, job["job_id"], row["n"])

    def _fail(self, conn: psycopg.Connection, job: dict[str, Any], error: str) -> None:
        log.error("replay failed", extra={"job_id": job["job_id"], "error": error})
        if self.jobs.fail(conn, job["job_id"], error):
            self._set_state(job["queue"], FAILED)

    def _gone(self, conn: psycopg.Connection, job: dict[str, Any]) -> bool:
        """The row changed under us (cancelled): show its state, do nothing more."""
        self._set_state(job["queue"], self.jobs.get(conn, job["job_id"])["state"])
        return False

    def _set_state(self, queue: str, state: str) -> None:
        for name in STATES:
            STATE.labels(self.source, queue, name).set(1 if name == state else 0)
