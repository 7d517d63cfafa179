"""The delivery worker: one tick claims due deliveries, sends them side by side, and
records each outcome, in short transactions and never holding a connection during a
request.

1. claim (one transaction): up to ``WEBHOOKS_CONCURRENCY`` due deliveries of enabled
   endpoints, oldest first, become ``sending`` with a lease and their next attempt
   number (``FOR UPDATE SKIP LOCKED``: replicas never take the same row). Committed
   before any request, so a crash afterwards leaves a row whose lease runs out and
   which is sent again: at least once, never lost.
2. send: POST the stored CloudEvents body, signed with a fresh timestamp.
3. finish (one transaction per delivery, fenced by the attempt number): the attempt
   row, the delivery's new state, the endpoint's failure count, and, at the limit, the
   endpoint disabled with its reason (WebhookEndpointDisabled).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.http_client import NotSent, OutcomeUnknown, request, retry_after_seconds

import psycopg

from services.webhooks import repository as repo
from services.webhooks.context import Dependencies
from services.webhooks.domain.payload import CONTENT_TYPE, PING_TYPE
from services.webhooks.domain.policy import (
    Answer,
    Kind,
    Next,
    classify_status,
    decide,
    should_disable,
)
from services.webhooks.domain.signing import signature_header
from services.webhooks.metrics import ATTEMPTS, BACKLOG, ENDPOINTS_DISABLED, REQUEST_SECONDS

log = logging.getLogger("pasokh.webhooks")
USER_AGENT = "Pasokh-Webhooks/1"
BACKLOG_EVERY_SECONDS = 10.0


@dataclass
class Sent:
    """One attempt's result, before it is recorded."""

    row: dict[str, Any]
    answer: Answer
    started_at: datetime
    duration_ms: int
    excerpt: str | None


def secrets_for(row: dict[str, Any], now: datetime) -> list[str]:
    """The current secret, and the previous one during a rotation's grace period."""
    found = [row["secret"]]
    until = row.get("previous_secret_until")
    if row.get("previous_secret") and until is not None and until > now:
        found.append(row["previous_secret"])
    return found


def headers_for(row: dict[str, Any], body: bytes, now: datetime) -> dict[str, str]:
    timestamp = int(now.timestamp())
    return {
        **(row.get("headers") or {}),  # the admin's; none may be one of ours
        "Content-Type": CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        "X-Pasokh-Event-Id": str(row["event_id"]),
        "X-Pasokh-Event-Type": str(row["event_type"]),
        "X-Pasokh-Delivery-Id": str(row["delivery_id"]),
        "X-Pasokh-Timestamp": str(timestamp),
        "X-Pasokh-Signature": signature_header(secrets_for(row, now), timestamp, body),
    }


class Sender:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps
        self._backlog_at = 0.0
        self._disabled_some = False

    def tick(self) -> float | None:
        """Send one batch. 0 when more may be waiting, None when idle (poll interval)."""
        config, pool = self.deps.config, self.deps.pool
        now = self.deps.clock()
        lease_until = now + timedelta(seconds=config.lease_seconds)
        with pool.transaction() as tx:
            claimed = repo.claim_due(tx, now, config.concurrency, lease_until, PING_TYPE)
        self._publish_backlog()
        if not claimed:
            return None
        results = self.deps.run_concurrently(self.send, claimed, config.concurrency)
        for sent in results:
            with pool.transaction() as tx:
                self.finish(tx, sent)
        if self._disabled_some:
            # Unbound only after the disabling committed.
            self._disabled_some = False
            if self.deps.bindings is not None:
                self.deps.bindings.reconcile_quietly()
        return 0.0 if len(claimed) >= config.concurrency else None

    def _publish_backlog(self) -> None:
        if time.monotonic() - self._backlog_at < BACKLOG_EVERY_SECONDS:
            return
        self._backlog_at = time.monotonic()
        with self.deps.pool.connection() as conn:
            BACKLOG.set(repo.backlog(conn))

    def send(self, row: dict[str, Any]) -> Sent:
        config = self.deps.config
        body = row["body"].encode("utf-8")
        started = self.deps.clock()
        t0 = time.monotonic()
        excerpt = None
        try:
            reply = request(
                "POST",
                row["url"],
                timeout=config.timeout_seconds,
                headers=headers_for(row, body, started),
                body=body,
                context=self.deps.tls,
                max_body=config.max_response_bytes,
            )
        except (NotSent, OutcomeUnknown) as exc:
            answer = Answer(Kind.TRANSIENT, None, str(exc)[:500])
        else:
            answer = classify_status(reply.status, retry_after_seconds(reply))
            excerpt = reply.text(config.response_excerpt_chars) or None
        elapsed = time.monotonic() - t0
        REQUEST_SECONDS.observe(elapsed)
        return Sent(row, answer, started, round(elapsed * 1000), excerpt)

    def finish(self, tx: psycopg.Connection, sent: Sent) -> Next | None:
        """Record the outcome; None if the delivery was taken over (lease ran out)."""
        row, answer, now = sent.row, sent.answer, self.deps.clock()
        decision = decide(answer, row["attempts"], now, self.deps.config.retry, self.deps.rng)
        values = {
            "delivery_id": row["delivery_id"],
            "fence": row["attempts"],
            "status": answer.status,
            "error": answer.error,
            "now": now,
            "at": decision.at,
        }
        if decision.next is Next.DELIVERED:
            done = repo.mark_delivered(tx, values)
        elif decision.next is Next.RETRY:
            done = repo.mark_retry(tx, values)
        else:
            done = repo.mark_failed(tx, values)
        if not done:
            log.warning(
                "outcome not recorded: the delivery was taken over after its lease ran out",
                extra={"delivery_id": str(row["delivery_id"])},
            )
            return None
        outcome = {Next.DELIVERED: "delivered", Next.RETRY: "retry", Next.FAILED: "failed"}
        repo.record_attempt(
            tx,
            {
                "delivery_id": row["delivery_id"],
                "started_at": sent.started_at,
                "duration_ms": sent.duration_ms,
                "status": answer.status,
                "outcome": outcome[decision.next],
                "error": answer.error,
                "excerpt": sent.excerpt,
            },
        )
        extra = {
            "delivery_id": str(row["delivery_id"]),
            "endpoint_id": str(row["endpoint_id"]),
            "event_id": row["event_id"],
            "event_type": row["event_type"],
            "attempt": row["attempts"],
            "status": answer.status,
        }
        if decision.next is Next.DELIVERED:
            ATTEMPTS.labels("delivered").inc()
            repo.reset_failures(tx, row["endpoint_id"])
            log.info("webhook delivered", extra=extra)
        elif decision.next is Next.RETRY:
            ATTEMPTS.labels("retried").inc()
            log.warning(
                "webhook attempt failed, will retry",
                extra={**extra, "error": answer.error, "retry_at": decision.at.isoformat()},
            )
        else:
            ATTEMPTS.labels("failed").inc()
            log.warning("webhook delivery failed", extra={**extra, "error": answer.error})
            self._count_failure(tx, row, answer, now)
        return decision.next

    def _count_failure(
        self, tx: psycopg.Connection, row: dict[str, Any], answer: Answer, now: datetime
    ) -> None:
        counted = repo.count_failure(tx, row["endpoint_id"], now)
        if counted is None or not counted["enabled"]:
            return
        failures = counted["consecutive_failures"]
        if not should_disable(failures, self.deps.config.disable_after):
            return
        reason = f"{failures} deliveries in a row failed; the last: {answer.error}"
        repo.disable(tx, row["endpoint_id"], reason, "system", now)
        repo.log_endpoint(tx, row["endpoint_id"], "auto_disabled", "system", reason, now)
        ENDPOINTS_DISABLED.labels("auto").inc()
        self._disabled_some = True
        log.error(
            "WebhookEndpointDisabled",
            extra={"endpoint_id": str(row["endpoint_id"]), "reason": reason},
        )
