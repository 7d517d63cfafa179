"""One attempt at one message, from a claimed row to a recorded outcome.

Shared by the dispatcher (queued messages) and the verification-code path:

1. ``prepare``: recipient from identity and text from the template, in the
   recipient's language, done once: a retry sends the same text to the same number
   (stored before the first call, so a reconciliation after a crash looks for exactly
   that).
2. ``attempt``: the provider call, preceded by a lookup when the last outcome is
   unknown (``domain.reconcile``). No database connection is held meanwhile.
3. ``finish``: in one statement (``repository.record_outcomes``), the attempt
   records, the fenced state change and the SmsSent / SmsFailed event; then the
   metrics. The dispatcher records a whole batch's outcomes so, one statement per
   kind of change (``record``), and counts them (``announce``) after.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pasokh_common  # noqa: F401

import psycopg
from psycopg.pq import TransactionStatus

from services.notify import recorder
from services.notify import repository as repo
from services.notify.contacts import ContactMissing, ContactUnavailable
from services.notify.context import Dependencies
from services.notify.domain.events import SmsFailed, SmsSent
from services.notify.domain.idempotency import client_id_for, numeric_client_id
from services.notify.domain.outcomes import Reason, SendResult, Status
from services.notify.domain.phones import mask
from services.notify.domain.planning import render_values
from services.notify.domain.reconcile import Step, after_lookup, first_step, gave_up_unknown
from services.notify.domain.retry import Decision, Next, decide
from services.notify.domain.segments import count_segments
from services.notify.domain.templates import SECRET_TEMPLATES, choose_language, render
from services.notify.metrics import (
    DEAD_LETTERS,
    MESSAGES,
    PARTS_SENT,
    RECONCILED,
    RETRIES,
    SEND_SECONDS,
)
from services.notify.providers.base import Outgoing

log = logging.getLogger("pasokh.notify")

PERMANENT = frozenset(
    {
        Reason.INVALID_NUMBER,
        Reason.BLOCKED,
        Reason.INVALID_MESSAGE,
        Reason.REJECTED,
        Reason.NO_CONTACT,
        Reason.TOO_LONG,
        Reason.UNDELIVERED,
    }
)
DEAD = frozenset({Reason.GAVE_UP, Reason.EXPIRED, Reason.OUTCOME_UNKNOWN, Reason.INTERRUPTED})
# Never start a provider call with less lease left than the call may take plus this.
LEASE_MARGIN = timedelta(seconds=1)


@dataclass
class Action:
    action: str  # send | lookup
    outcome: str
    reason: str | None
    detail: str
    started_at: datetime
    finished_at: datetime
    number: int | None = None  # the attempt number, when several sends share one record


@dataclass
class Prepared:
    row: dict[str, Any]
    outgoing: Outgoing | None = None
    problem: SendResult | None = None  # the message can never go (no number, too long)
    release: str | None = None  # not attempted now, for this reason
    exclude_ids: list[str] = field(default_factory=list)


@dataclass
class Recorded:
    """An attempt's outcome: what ``record`` writes, then ``announce`` counts."""

    row: dict[str, Any]
    decision: Decision
    result: SendResult
    attempts: int
    now: datetime
    change: str  # sent | retry | failed
    written: dict[str, Any]  # for repository.record_outcomes


@dataclass
class Attempted:
    prepared: Prepared
    result: SendResult | None  # None: not attempted (released)
    actions: list[Action] = field(default_factory=list)


class Sender:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps
        self.provider = deps.provider

    # -- 1. prepare ------------------------------------------------------------------

    def prepare(
        self,
        row: dict[str, Any],
        bodies: dict[tuple[str, str], str],
        code: str | None = None,
        language: str | None = None,
    ) -> Prepared:
        prepared = Prepared(row)
        if row.get("body") and row.get("recipient") and code is None:
            text, recipient, lang = row["body"], row["recipient"], row["language"]
        else:
            recipient = row.get("recipient")
            lang = language
            if recipient is None:
                try:
                    contact = self.deps.contacts.get(row["user_id"])
                except ContactMissing as exc:
                    prepared.problem = SendResult.rejected(Reason.NO_CONTACT, str(exc))
                    return prepared
                except ContactUnavailable as exc:
                    prepared.release = f"identity unavailable: {exc}"
                    return prepared
                recipient, lang = contact.phone, contact.language
            lang = choose_language(lang)
            body = bodies.get((row["template"], lang)) or bodies.get((row["template"], "fa"))
            if body is None:
                prepared.problem = SendResult.rejected(Reason.REJECTED, "template missing")
                return prepared
            config = self.deps.config
            values = render_values(repo.params_of(row), lang, config.public_url, config.zone)
            if code is not None:
                values["code"] = code
            text = render(body, values)
        segments = count_segments(text)
        secret = row["template"] in SECRET_TEMPLATES
        row.update(
            recipient=recipient,
            language=lang,
            body=None if secret else text,
            encoding=segments.encoding.value,
            parts=segments.parts,
        )
        if segments.parts > self.deps.config.max_parts:
            prepared.problem = SendResult.rejected(
                Reason.TOO_LONG, f"{segments.parts} parts > {self.deps.config.max_parts}"
            )
            return prepared
        message_id = row["message_id"]
        prepared.outgoing = Outgoing(
            message_id=str(message_id),
            client_id=client_id_for(message_id),
            numeric_client_id=numeric_client_id(message_id),
            recipient=recipient,
            text=text,
            template=row["template"],
            language=lang,
            code=code,
        )
        return prepared

    def load_exclusions(self, conn: psycopg.Connection, prepared: Prepared) -> None:
        """Provider ids other messages to this number already own (content lookups)."""
        row = prepared.row
        if row.get("uncertain") and prepared.outgoing is not None and self.provider.can_lookup:
            prepared.exclude_ids = repo.provider_ids_of_others(
                conn, row["recipient"], self.provider.name, row["created_at"], row["message_id"]
            )

    # -- 2. attempt ------------------------------------------------------------------

    def _timed(self, action: str, call) -> tuple[Any, datetime, datetime]:
        started, t0 = self.deps.clock(), time.monotonic()
        try:
            return call(), started, self.deps.clock()
        finally:
            SEND_SECONDS.labels(self.provider.name, action).observe(time.monotonic() - t0)

    def attempt(self, prepared: Prepared, as_code: bool = False) -> Attempted:
        if prepared.problem is not None or prepared.release is not None:
            return Attempted(prepared, prepared.problem)
        row, outgoing = prepared.row, prepared.outgoing
        assert outgoing is not None
        timeout = timedelta(seconds=self.deps.config.provider_timeout)
        if self.deps.clock() + timeout + LEASE_MARGIN > row["lease_until"]:
            prepared.release = "lease too short to start a provider call"
            return Attempted(prepared, None)
        attempted = Attempted(prepared, None)
        step = first_step(
            bool(row.get("uncertain")), self.provider.dedupes_client_id, self.provider.can_lookup
        )
        if step is Step.GIVE_UP:
            attempted.result = gave_up_unknown()
            return attempted
        if step is Step.LOOKUP:
            found, started, finished = self._timed(
                "lookup",
                lambda: self.provider.lookup(outgoing, row["created_at"], prepared.exclude_ids),
            )
            RECONCILED.labels(self.provider.name, found.answer.value).inc()
            attempted.actions.append(
                Action("lookup", found.answer.value, None, found.detail, started, finished)
            )
            settled = after_lookup(found, self.provider.dedupes_client_id)
            if settled is not None:
                attempted.result = settled
                return attempted
        send = self.provider.send_code if as_code else self.provider.send
        result, started, finished = self._timed("send", lambda: send(outgoing))
        reason = result.reason.value if result.reason else None
        attempted.actions.append(
            Action("send", result.status.value, reason, result.detail, started, finished)
        )
        attempted.result = result
        return attempted

    # -- 3. finish -------------------------------------------------------------------

    def finish(
        self,
        conn: psycopg.Connection,
        attempted: Attempted,
        attempts: int | None = None,
        allow_retry: bool = True,
    ) -> Decision | None:
        """Record the outcome and count it; None if the message was released or the
        lease lost."""
        if self.release(conn, attempted):
            return None
        recorded = self.record(conn, [self.outcome_of(attempted, attempts, allow_retry)])
        if not recorded:
            return None
        self.announce(recorded[0])
        return recorded[0].decision

    def release(self, conn: psycopg.Connection, attempted: Attempted) -> bool:
        """Give the message back if it was not attempted (its attempt is not counted)."""
        if attempted.result is not None:
            return False
        prepared, now = attempted.prepared, self.deps.clock()
        retry_at = now + timedelta(seconds=min(30.0, self.deps.config.retry.base_seconds))
        repo.release(conn, prepared.row, retry_at, prepared.release or "released")
        return True

    def outcome_of(
        self, attempted: Attempted, attempts: int | None = None, allow_retry: bool = True
    ) -> Recorded:
        """What an attempt's result does to its message (not yet written)."""
        prepared, result = attempted.prepared, attempted.result
        assert result is not None
        row, now = prepared.row, self.deps.clock()
        fence = row["attempts"]
        attempts = fence if attempts is None else attempts
        config = self.deps.config
        decision = decide(
            result,
            attempts,
            now,
            row["expires_at"],
            config.retry,
            self.deps.rng,
            config.quiet_hours,
            bool(row.get("urgent")),
        )
        if decision.next is Next.RETRY and not allow_retry:
            decision = Decision(Next.FAIL, result.reason or Reason.GAVE_UP)
        actions = [
            {
                "message_id": row["message_id"],
                "attempt": action.number or attempts,
                "provider": self.provider.name,
                "action": action.action,
                "outcome": action.outcome,
                "reason": action.reason,
                "detail": action.detail[:500],
                "started_at": action.started_at,
                "finished_at": action.finished_at,
            }
            for action in attempted.actions
        ]
        values = {
            "message_id": row["message_id"],
            "fence": fence,
            "attempts": attempts,
            "now": now,
            "error": f"{result.status.value}: {result.detail}"[:500] if result.detail else None,
        }
        event: SmsSent | SmsFailed | None = None
        if decision.next is Next.SENT:
            change = "sent"
            values.update(
                provider_id=result.provider_message_id,
                recipient=row.get("recipient"),
                language=row.get("language"),
                encoding=row.get("encoding"),
                parts=row.get("parts"),
            )
            event = SmsSent(
                str(row["message_id"]),
                row["template"],
                row["user_id"],
                row.get("ticket_id"),
                row.get("cause_event_id"),
                self.provider.name,
                int(row.get("parts") or 0),
                row.get("encoding") or "",
                attempts,
                now,
            )
        elif decision.next is Next.RETRY:
            change = "retry"
            values.update(at=decision.at, uncertain=decision.uncertain)
        else:
            change = "failed"
            values.update(reason=decision.reason.value)
            event = self._failed(row, decision.reason, attempts, now)
        meta = recorder.metadata_for(row.get("correlation_id"), row.get("cause_event_id"))
        written = recorder.event_row(event, meta) if event is not None else None
        return Recorded(
            row,
            decision,
            result,
            attempts,
            now,
            change,
            {"values": values, "attempts": actions, "event": written},
        )

    def record(self, conn: psycopg.Connection, outcomes: list[Recorded]) -> list[Recorded]:
        """Write ``outcomes``: one statement per kind of change (``repo.record_outcomes``:
        the attempt records, the fenced state change and SmsSent / SmsFailed). Returns
        those whose change applied; metrics and logs are ``announce``'s, once committed.
        Outside a transaction, a batch the database refuses is retried one by one."""
        done: set[Any] = set()
        for change in ("sent", "retry", "failed"):
            group = [o.written for o in outcomes if o.change == change]
            if len(group) <= 1 or conn.info.transaction_status != TransactionStatus.IDLE:
                done |= repo.record_outcomes(conn, change, group)
                continue
            try:
                done |= repo.record_outcomes(conn, change, group)
            except psycopg.Error:
                # One outcome the database refuses must not hold back the others
                # (until their leases run out): each on its own.
                log.exception("recording a batch of outcomes failed; one by one")
                for one in group:
                    try:
                        done |= repo.record_outcomes(conn, change, [one])
                    except psycopg.Error:
                        log.exception("recording an outcome failed")
        for outcome in outcomes:
            if outcome.row["message_id"] not in done:
                log.warning(
                    "outcome not recorded: the message was taken over after its lease ran out",
                    extra={"message_id": str(outcome.row["message_id"])},
                )
        return [o for o in outcomes if o.row["message_id"] in done]

    def announce(self, recorded: Recorded) -> None:
        """Metrics and the log line of a recorded outcome."""
        row, decision, attempts = recorded.row, recorded.decision, recorded.attempts
        template, provider = row["template"], self.provider.name
        extra = {
            "message_id": str(row["message_id"]),
            "template": template,
            "to": mask(row.get("recipient")),
            "attempts": attempts,
            "event_id": row.get("cause_event_id"),
        }
        if decision.next is Next.SENT:
            MESSAGES.labels(template, provider, "sent").inc()
            PARTS_SENT.labels(template, provider, row.get("encoding") or "ucs2").inc(
                int(row.get("parts") or 0)
            )
            log.info("SMS sent", extra={**extra, "parts": row.get("parts")})
        elif decision.next is Next.RETRY:
            reason = (decision.reason or Reason.SERVER_ERROR).value
            RETRIES.labels(template, provider, reason).inc()
            log.warning(
                "SMS attempt failed, will retry",
                extra={**extra, "reason": reason, "retry_at": decision.at.isoformat()},
            )
        else:
            self._count_failure(row, decision.reason)
            log.warning(
                "SMS failed",
                extra={
                    **extra,
                    "reason": decision.reason.value,
                    "detail": recorded.result.detail,
                },
            )

    def _failed(
        self, row: dict[str, Any], reason: Reason, attempts: int, now: datetime
    ) -> SmsFailed:
        return SmsFailed(
            str(row["message_id"]),
            row["template"],
            row["user_id"],
            row.get("ticket_id"),
            row.get("cause_event_id"),
            row.get("provider") or self.provider.name,
            reason.value,
            reason in PERMANENT,
            attempts,
            now,
        )

    def _count_failure(self, row: dict[str, Any], reason: Reason) -> None:
        template, provider = row["template"], row.get("provider") or self.provider.name
        outcome = "undelivered" if reason is Reason.UNDELIVERED else "failed"
        MESSAGES.labels(template, provider, outcome).inc()
        if reason in DEAD:
            DEAD_LETTERS.labels(template, provider, reason.value).inc()

    def announce_failure(
        self,
        tx: psycopg.Connection,
        row: dict[str, Any],
        reason: Reason,
        attempts: int,
        now: datetime,
    ) -> None:
        """SmsFailed for a message failed outside an attempt (the sweep, a report)."""
        recorder.record(
            tx,
            self._failed(row, reason, attempts, now),
            recorder.metadata_for(row.get("correlation_id"), row.get("cause_event_id")),
        )
        self._count_failure(row, reason)


def is_sent(attempted: Attempted) -> bool:
    return attempted.result is not None and attempted.result.status is Status.ACCEPTED
