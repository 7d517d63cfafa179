"""Issuing and checking verification codes (phone verification and password reset).

The code exists in clear only in this process's memory and in the RPC to notify: it
is never logged, never put on an event, and stored only as an HMAC.

Issuing runs in one transaction: rate limits decided, request recorded, code stored,
code handed to notify. If notify does not take it, everything rolls back, so a code
that was never sent neither counts against the limits nor stays valid.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pasokh_common  # noqa: F401

import psycopg

from services.identity import repository as repo
from services.identity.context import Dependencies
from services.identity.domain.codes import (
    HOUR,
    CodeCheck,
    CodeState,
    Outcome,
    Purpose,
    SendDecision,
    check_code,
    code_digest,
    code_matches,
    decide_send,
    generate_code,
)
from services.identity.domain.errors import (
    CodeExpired,
    CodeLocked,
    TooManyCodes,
    WrongCode,
)
from services.identity.domain.roles import Role
from services.identity.metrics import CODES_REFUSED, CODES_SENT, VERIFICATIONS

log = logging.getLogger(__name__)


def _eligible(user: dict | None, purpose: Purpose) -> bool:
    if user is None or user["phone"] is None:
        return False
    if purpose is Purpose.VERIFY_PHONE:
        return user["phone_verified_at"] is None and user["role"] == Role.CUSTOMER
    return True


class Codes:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    def send_decision(
        self, conn: psycopg.Connection, phone: str, purpose: Purpose, client_address: str
    ) -> SendDecision:
        now = self.deps.clock()
        history = repo.send_history(conn, phone, client_address, purpose.value, now - HOUR)
        return decide_send(history, now, self.deps.config.code_policy)

    def refuse_if_limited(self, decision: SendDecision) -> None:
        if not decision.allowed:
            CODES_REFUSED.labels(decision.reason or "limit").inc()
            raise TooManyCodes(decision.retry_after.total_seconds(), decision.reason)

    def answer(self) -> dict[str, Any]:
        """What a code request answers: the same whether or not the number has an
        account, so the answer does not tell which numbers are registered."""
        policy = self.deps.config.code_policy
        return {
            "accepted": True,
            "expires_in_seconds": int(policy.lifetime.total_seconds()),
            "resend_after_seconds": int(policy.cooldown.total_seconds()),
        }

    def request(self, phone: str, purpose: Purpose, client_address: str) -> bool:
        """Send a fresh code for ``purpose`` to ``phone`` if the limits allow and the
        number has an account that may receive one; refuse with TooManyCodes, or
        CodeNotSent when notify did not take it."""
        sent = False
        with self.deps.pool.transaction() as conn:
            repo.lock(conn, "codes-phone:" + phone, "codes-address:" + client_address)
            self.refuse_if_limited(self.send_decision(conn, phone, purpose, client_address))
            now = self.deps.clock()
            repo.record_code_request(conn, phone, client_address, purpose.value, now)
            user = repo.find_user_by_phone(conn, phone)
            if _eligible(user, purpose):
                assert user is not None
                self._issue(conn, user, purpose)
                sent = True
        if sent:
            CODES_SENT.labels(purpose.value).inc()
        return sent

    def _issue(self, conn: psycopg.Connection, user: dict, purpose: Purpose) -> None:
        now = self.deps.clock()
        policy = self.deps.config.code_policy
        code_id = str(uuid.uuid4())
        code = generate_code()
        repo.insert_code(
            conn,
            code_id,
            str(user["user_id"]),
            purpose.value,
            code_digest(self.deps.config.code_key, code_id, code),
            now,
            now + policy.lifetime,
        )
        # Last step before commit: if notify refuses, the code row rolls back with it.
        self.deps.sender.send(
            str(user["user_id"]), user["phone"], code, purpose.value, user["language"]
        )
        log.info("verification code sent", extra={"purpose": purpose.value})

    def check(
        self, conn: psycopg.Connection, user_id: str, purpose: Purpose, presented: str
    ) -> CodeCheck:
        """Decide one attempt and store its effect, in the caller's transaction (which
        holds the user's lock, so concurrent guesses are counted one by one). The caller
        commits and only then raises ``refusal(check)``: a rolled-back wrong try
        would not count."""
        row = repo.newest_code(conn, user_id, purpose.value)
        state = None
        matches = False
        if row is not None:
            state = CodeState(row["expires_at"], row["wrong_tries"], row["used_at"] is not None)
            matches = code_matches(
                self.deps.config.code_key, str(row["code_id"]), presented, row["code_digest"]
            )
        result = check_code(state, matches, self.deps.clock(), self.deps.config.code_policy)
        if row is not None and result.outcome is Outcome.WRONG_CODE:
            repo.set_wrong_tries(conn, str(row["code_id"]), result.wrong_tries)
        elif row is not None and result.outcome is Outcome.OK:
            repo.mark_code_used(conn, str(row["code_id"]), self.deps.clock())
        return result


def count(check: CodeCheck) -> None:
    VERIFICATIONS.labels(check.outcome.value).inc()


def raise_refusal(check: CodeCheck) -> None:
    """After commit: the error the caller sees for a failed check, if any."""
    count(check)
    if check.outcome is Outcome.OK:
        return
    if check.outcome is Outcome.LOCKED or check.now_locked:
        raise CodeLocked()
    if check.outcome is Outcome.WRONG_CODE:
        raise WrongCode(check.tries_left)
    raise CodeExpired()


def no_code() -> CodeCheck:
    """The check of a number that has no account: the same answer as no valid code."""
    return CodeCheck(Outcome.EXPIRED, 0, 0)
