"""Verification codes: how they are made, kept, checked, and when one may be sent.

A 4-digit code has only 10,000 values, so its safety comes from the limits around it,
not from the code: it lives 2 minutes, allows 5 wrong tries and is then void, and
new codes are rationed per phone number and per client address. That bounds a
guesser to a handful of tries per hour against odds of 1 in 10,000 each.

Codes are kept as an HMAC-SHA256 under a server key, over the code's own id and the
code, so a copy of the database alone does not reveal them (without the key, the
10,000 candidates cannot be tested) and two equal codes never have equal digests.
A slow hash (argon2) would add nothing against someone holding the key, and cost
time on every check. Digests are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.identity.domain.limits import ZERO, window_wait

CODE_DIGITS = 4
HOUR = timedelta(hours=1)


class Purpose(StrEnum):
    VERIFY_PHONE = "verify_phone"
    RESET_PASSWORD = "reset_password"


class Outcome(StrEnum):
    """The label values of ``pasokh_identity_verifications_total``."""

    OK = "ok"
    WRONG_CODE = "wrong_code"
    EXPIRED = "expired"
    LOCKED = "locked"


@dataclass(frozen=True)
class CodePolicy:
    lifetime: timedelta = timedelta(seconds=120)
    max_tries: int = 5
    cooldown: timedelta = timedelta(seconds=60)
    per_hour_per_phone: int = 5
    per_hour_per_address: int = 20

    def __post_init__(self) -> None:
        if self.lifetime <= ZERO:
            raise ValueError("the code lifetime must be positive")
        if self.cooldown < ZERO:
            raise ValueError("the resend cooldown must not be negative")
        if min(self.max_tries, self.per_hour_per_phone, self.per_hour_per_address) < 1:
            raise ValueError("code limits must be at least 1")


def generate_code(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A uniformly random code from the OS's CSPRNG, leading zeros kept."""
    return f"{randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(key: bytes, code_id: str, code: str) -> bytes:
    return hmac.new(key, f"{code_id}:{code}".encode(), hashlib.sha256).digest()


def code_matches(key: bytes, code_id: str, presented: str, stored: bytes) -> bool:
    return hmac.compare_digest(code_digest(key, code_id, presented), bytes(stored))


@dataclass(frozen=True)
class CodeState:
    """The newest code of one account and purpose, as stored."""

    expires_at: datetime
    wrong_tries: int
    used: bool


@dataclass(frozen=True)
class CodeCheck:
    outcome: Outcome
    wrong_tries: int
    tries_left: int

    @property
    def now_locked(self) -> bool:
        """This wrong try was the last one allowed: the code is void from now on."""
        return self.outcome is Outcome.WRONG_CODE and self.tries_left == 0


def check_code(
    state: CodeState | None, matches: bool, now: datetime, policy: CodePolicy
) -> CodeCheck:
    """Decide one attempt. The order matters: a void code stays void even when the
    right code arrives, so the 6th guess cannot succeed however lucky it is."""
    if state is None or state.used:
        return CodeCheck(Outcome.EXPIRED, state.wrong_tries if state else 0, 0)
    if state.wrong_tries >= policy.max_tries:
        return CodeCheck(Outcome.LOCKED, state.wrong_tries, 0)
    if now >= state.expires_at:
        return CodeCheck(Outcome.EXPIRED, state.wrong_tries, 0)
    if matches:
        return CodeCheck(Outcome.OK, state.wrong_tries, policy.max_tries - state.wrong_tries)
    tries = state.wrong_tries + 1
    return CodeCheck(Outcome.WRONG_CODE, tries, policy.max_tries - tries)


@dataclass(frozen=True)
class SendHistory:
    """Earlier code requests that bear on the next one (any order).

    Requests are counted whether or not the phone number has an account, so the
    answers do not reveal which numbers are registered."""

    last_same_purpose: datetime | None
    phone_requests: Sequence[datetime]
    address_requests: Sequence[datetime]


@dataclass(frozen=True)
class SendDecision:
    allowed: bool
    retry_after: timedelta = ZERO
    reason: str | None = None


def decide_send(history: SendHistory, now: datetime, policy: CodePolicy) -> SendDecision:
    waits = [(ZERO, "")]
    if history.last_same_purpose is not None:
        waits.append((history.last_same_purpose + policy.cooldown - now, "cooldown"))
    waits.append(
        (window_wait(history.phone_requests, policy.per_hour_per_phone, HOUR, now), "phone")
    )
    waits.append(
        (window_wait(history.address_requests, policy.per_hour_per_address, HOUR, now), "address")
    )
    wait, reason = max(waits, key=lambda pair: pair[0])
    if wait > ZERO:
        return SendDecision(False, wait, reason)
    return SendDecision(True)
