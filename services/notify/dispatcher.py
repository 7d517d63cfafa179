"""Sends what is queued: one batch per tick, within the provider's rate limit.

A tick, in short transactions and never holding a connection during a provider call:

1. sweep: a message left ``sending`` past its lease (its sender died) goes back to the
   queue marked *uncertain* (the next attempt reconciles before any resend); a code
   left so fails as ``interrupted`` (identity gave up on it and forgot the code); a
   queued message past its time to live fails as ``expired``;
2. claim up to ``NOTIFY_SEND_CONCURRENCY`` due messages (urgent first, then oldest),
   no more than the rate limit's tokens, and not in quiet hours; each becomes
   ``sending`` with a lease and the next attempt number, committed before any call;
3. prepare (number from identity, text from the template), store number and text;
4. call the provider for all of them concurrently;
5. record each outcome (fenced by the attempt number).

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
from services.notify.domain.rate_limit import Bucket, take_bulk
from services.notify.sending import Prepared, Sender

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
        with pool.transaction() as tx:
            self.sweep(tx, now)
            if config.quiet_hours is not None and config.quiet_hours.is_quiet(now):
                return None
            claimed, wait = self._claim(tx, now, config.send_concurrency)
        if not claimed:
            return wait
        with pool.connection() as conn:
            bodies = repo.template_bodies(conn)
        prepared = [self.sender.prepare(row, bodies) for row in claimed]
        with pool.transaction() as tx:
            for item in prepared:
                self._fix(tx, item)
        attempted = self.deps.run_concurrently(
            self.sender.attempt, prepared, config.send_concurrency
        )
        for outcome in attempted:
            with pool.transaction() as tx:
                self.sender.finish(tx, outcome)
        return 0.0 if len(claimed) >= config.send_concurrency else None

    def _fix(self, tx: psycopg.Connection, item: Prepared) -> None:
        if item.outgoing is None:
            return
        if not repo.fix_text(tx, item.row):
            item.release = "lease lost before sending"
            item.outgoing = None
            return
        self.sender.load_exclusions(tx, item)

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
        if not repo.has_due(tx, now):
            return [], None
        if limit.unlimited:
            return repo.claim_due(tx, now, batch, provider, lease_until), None
        bucket = repo.lock_bucket(tx, provider, now, limit.burst)
        grant = take_bulk(bucket, now, batch, limit)
        if not grant.granted:
            repo.save_bucket(tx, provider, grant.bucket)
            return [], min(MAX_WAIT, grant.wait_seconds)
        rows = repo.claim_due(tx, now, grant.granted, provider, lease_until)
        unused = grant.granted - len(rows)
        left = Bucket(grant.bucket.tokens + unused, grant.bucket.refilled_at)
        repo.save_bucket(tx, provider, left)
        return rows, None
