"""Verification codes: sent at once, inside identity's RPC call, never queued.

A person is waiting on a form for this SMS, and identity holds the code's transaction
open until we answer, so the code never waits behind bulk messages: it does not enter
the dispatcher's queue at all. The RPC worker records the message (``sending``), takes
a rate-limit token (codes may borrow, see ``domain.rate_limit``), calls the provider
and answers. A provider that refuses (rate limited, busy, unreachable) is retried
with short backoff until ``NOTIFY_CODE_DEADLINE_SECONDS``; a rejection or an unknown
outcome is not: the RPC fails, identity forgets the code and the person asks again.

The code's text is never stored, logged or put on an event; the message row keeps
only template, recipient, state and parts. A redelivered RPC request (same caller call
id) is answered from the first row and sends nothing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pasokh_common  # noqa: F401

from services.notify import repository as repo
from services.notify import schemas
from services.notify.context import Dependencies
from services.notify.domain.errors import SmsNotSent
from services.notify.domain.idempotency import code_message_key, message_id_for
from services.notify.domain.outcomes import Status
from services.notify.domain.phones import mask
from services.notify.domain.rate_limit import take_urgent
from services.notify.domain.retry import RetryPolicy, backoff_seconds
from services.notify.domain.templates import CODE_TEMPLATES
from services.notify.sending import Sender, is_sent

CODE_RETRY = RetryPolicy(max_attempts=5, base_seconds=0.25, max_seconds=2.0)
LEASE_SLACK = timedelta(seconds=5)


def _answer(row: dict[str, Any]) -> dict[str, Any]:
    if row["state"] in ("sent", "delivered", "sending"):
        return {"message_id": str(row["message_id"]), "state": row["state"], "parts": row["parts"]}
    raise SmsNotSent(row.get("failure_reason") or "failed")


class CodeSender:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps
        self.sender = Sender(deps)

    def send(self, payload: dict[str, Any], caller_call_id: str | None) -> dict[str, Any]:
        values = schemas.load(schemas.CodeRequestSchema(), payload)
        config, pool, clock = self.deps.config, self.deps.pool, self.deps.clock
        key = code_message_key(
            caller_call_id or f"uncorrelated-{uuid.uuid4()}", values["user_id"], values["purpose"]
        )
        started = clock()
        deadline = started + timedelta(seconds=config.code_deadline_seconds)
        timeout = timedelta(seconds=config.provider_timeout)
        with pool.transaction() as tx:
            # Inserted first: a redelivered request finds the key taken (after the
            # first request's transaction ends, if it is still open) and is answered
            # from the first row, sending nothing.
            row = repo.insert_code_message(
                tx,
                {
                    "message_id": message_id_for(key),
                    "idempotency_key": key,
                    "template": CODE_TEMPLATES[values["purpose"]],
                    "language": values["language"],
                    "urgent": True,
                    "user_id": values["user_id"],
                    "ticket_id": None,
                    "cause_event_id": None,
                    "correlation_id": None,
                    "params": {},
                    "recipient": values["phone"],
                    "provider": self.deps.provider.name,
                    "state": "sending",
                    "attempts": 1,
                    "next_attempt_at": started,
                    "lease_until": deadline + timeout + LEASE_SLACK,
                    "expires_at": deadline + timeout,
                    "created_at": started,
                },
            )
            if row is None:
                existing = repo.find_by_key(tx, key)
                if existing is None:  # not expected: a conflict is with a committed row
                    raise SmsNotSent("the same request is in progress")
                return _answer(existing)
            wait = self._take_token(tx)
        if wait > 0:
            self.deps.sleep(min(wait, max(0.0, (deadline - clock()).total_seconds())))
        bodies = repo.bodies_of([row])
        prepared = self.sender.prepare(
            row, bodies, code=values["code"], language=values["language"]
        )
        attempted, actions, number = None, [], 0
        while True:
            number += 1
            attempted = self.sender.attempt(prepared, as_code=True)
            for action in attempted.actions:
                action.number = number
            actions.extend(attempted.actions)
            result = attempted.result
            if result is None or result.status is not Status.REFUSED:
                break
            delay = backoff_seconds(number, CODE_RETRY, self.deps.rng)
            delay = max(delay, result.retry_after or 0.0)
            if (
                number >= CODE_RETRY.max_attempts
                or clock() + timedelta(seconds=delay) + timeout > deadline
            ):
                break
            self.deps.sleep(delay)
        attempted.actions = actions
        with pool.transaction() as tx:
            self.sender.finish(tx, attempted, attempts=number, allow_retry=False)
        if not is_sent(attempted):
            reason = attempted.result.reason.value if attempted.result else "not attempted"
            raise SmsNotSent(f"{reason} (to {mask(values['phone'])})")
        return {
            "message_id": str(row["message_id"]),
            "state": "sent",
            "parts": prepared.row.get("parts"),
        }

    def _take_token(self, tx) -> float:
        limit = self.deps.config.rate_limit
        if limit.unlimited:
            return 0.0
        provider, now = self.deps.provider.name, self.deps.clock()
        grant = take_urgent(repo.lock_bucket(tx, provider, now, limit.burst), now, limit)
        repo.save_bucket(tx, provider, grant.bucket)
        return grant.wait_seconds
