"""Sends what is queued: one batch per tick, within the provider's rate limit.

A tick, in short transactions and never holding a connection during a provider call:

1. sweep (at most every ``context.SWEEP_SECONDS`` per process): a message left ``sending``
   past its lease (its sender died) goes back to the queue marked *uncertain* (the
   next attempt reconciles before any resend); a code left so fails as
   ``interrupted`` (identity gave up on it and forgot the code); a queued message past
   its time to live fails as ``expired``;
2. one cheap query for a due message; an idle tick stops there (one statement);
3. claim up to ``NOTIFY_SEND_CONCURRENCY`` due messages (urgent first, then oldest),
   no more than the rate limit's tokens, and not in quiet hours; each becomes
   ``sending`` with a lease and the next attempt number, committed before any call
   (one transaction: the bucket's row lock, then one statement that claims, stores
   the bucket and reads the messages' templates);
4. prepare (number from identity, text from the template), store every number and
   text in one statement;
5. call the provider for all of them concurrently;
6. record the outcomes, fenced by the attempt number: attempt records, state and
   SmsSent / SmsFailed of the whole batch in one statement per kind of outcome.

Verification codes do not pass through here (``codes.py`` sends them at once).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pasokh_common  # noqa: F401

import psycopg

from services.notify import repository as repo
from services.notify.context import Dependencies
from services.notify.domain.outcomes import Reason
from services.notify.domain.rate_limit import take_bulk
from services.notify.sending import Attempted, Prepared, Sender

log = logging.getLogger("pasokh.notify.dispatcher")
SWEEP_BATCH = 100
MAX_WAIT = 1.0


class Dispatcher:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps
        self.sender = Sender(deps)

    def tick(self) -> float | None:
        """Send one batch. Returns 0 when more is waiting, a wait in seconds when the
        rate limit says so, or None when idle (the caller's poll interval)."""
        config, pool = self.deps.config, self.deps.pool
        now = self.deps.clock()
        if self.deps.sweeps.due(now):
            with pool.transaction() as tx:
                self.sweep(tx, now)
            self.deps.sweeps.done(now)
        if config.quiet_hours is not None and config.quiet_hours.is_quiet(now):
            return None
        with pool.connection() as conn:
            if not repo.has_due(conn, now):
                return None
        with pool.transaction() as tx:
            claimed, wait = self._claim(tx, now, config.send_concurrency)
        if not claimed:
            return wait
        bodies = repo.bodies_of(claimed)
        prepared = [self.sender.prepare(row, bodies) for row in claimed]
        self._fix(prepared)
        attempted = self.deps.run_concurrently(
            self.sender.attempt, prepared, config.send_concurrency
        )
        self._record(attempted)
        return 0.0 if len(claimed) >= config.send_concurrency else None

    def _fix(self, prepared: list[Prepared]) -> None:
        """Store every number and text before any call, in one statement."""
        going = [item for item in prepared if item.outgoing is not None]
        if not going:
            return
        with self.deps.pool.connection() as conn:
            fixed = repo.fix_texts(conn, [item.row for item in going])
            for item in going:
                if item.row["message_id"] not in fixed:
                    item.release = "lease lost before sending"
                    item.outgoing = None
                else:
                    self.sender.load_exclusions(conn, item)

    def _record(self, attempted: list[Attempted]) -> None:
        """Every outcome of the batch: one statement per kind of change (normally one,
        ``sent``), on an autocommit connection; counted and logged after."""
        with self.deps.pool.connection() as conn:
            outcomes = [
                self.sender.outcome_of(item)
                for item in attempted
                if not self.sender.release(conn, item)
            ]
            recorded = self.sender.record(conn, outcomes)
        for item in recorded:
            self.sender.announce(item)

    def sweep(self, tx: psycopg.Connection, now: datetime) -> None:
        for row in repo.take_stale(tx, now, SWEEP_BATCH):
            if row["urgent"]:
                repo.fail_unsent(tx, row["message_id"], Reason.INTERRUPTED.value, now)
                self.sender.announce_failure(tx, row, Reason.INTERRUPTED, row["attempts"], now)
            else:
                log.warning(
                    "a sender stopped during a provider call; reconciling",
                    extra={"message_id": str(row["message_id"])},
                )
                repo.requeue_uncertain(tx, row["message_id"], now)
        for row in repo.take_expired(tx, now, SWEEP_BATCH):
            repo.fail_unsent(tx, row["message_id"], Reason.EXPIRED.value, now)
            self.sender.announce_failure(tx, row, Reason.EXPIRED, row["attempts"], now)

    def _claim(
        self, tx: psycopg.Connection, now: datetime, batch: int
    ) -> tuple[list[dict], float | None]:
        config, provider = self.deps.config, self.deps.provider.name
        lease_until = now + timedelta(seconds=config.lease_seconds)
        limit = config.rate_limit
        if limit.unlimited:
            return repo.claim_due(tx, now, batch, provider, lease_until), None
        bucket = repo.lock_bucket(tx, provider, now, limit.burst)
        grant = take_bulk(bucket, now, batch, limit)
        if not grant.granted:
            repo.save_bucket(tx, provider, grant.bucket)
            return [], min(MAX_WAIT, grant.wait_seconds)
        # The claim stores the bucket too, giving back the tokens of messages it did
        # not find (another process took them, or fewer were due).
        rows = repo.claim_due(tx, now, grant.granted, provider, lease_until, grant.bucket)
        return rows, None
