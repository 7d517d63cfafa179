"""When a login may be tried at all.

Failures are counted per account (since its last successful login) and per client
address, each within a sliding window. The check happens *before* the password is
verified and a refused attempt is not recorded, so a throttled caller learns nothing
about the password and cannot extend the lock by hammering it. The per-address limit
is generous because many people share one address behind a mobile carrier's NAT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.identity.domain.limits import ZERO, window_wait


@dataclass(frozen=True)
class LoginPolicy:
    max_failures_per_account: int = 5
    max_failures_per_address: int = 30
    window: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.max_failures_per_account < 1 or self.max_failures_per_address < 1:
            raise ValueError("login failure limits must be at least 1")
        if self.window <= ZERO:
            raise ValueError("the login window must be positive")


@dataclass(frozen=True)
class LoginDecision:
    allowed: bool
    retry_after: timedelta = ZERO
    reason: str | None = None


def decide_login(
    account_failures: Sequence[datetime],
    address_failures: Sequence[datetime],
    now: datetime,
    policy: LoginPolicy,
) -> LoginDecision:
    """``account_failures``: this account's failures since its last success;
    ``address_failures``: failures from this client address. Any order."""
    waits = [
        (
            window_wait(account_failures, policy.max_failures_per_account, policy.window, now),
            "account",
        ),
        (
            window_wait(address_failures, policy.max_failures_per_address, policy.window, now),
            "address",
        ),
    ]
    wait, reason = max(waits, key=lambda pair: pair[0])
    if wait > ZERO:
        return LoginDecision(False, wait, reason)
    return LoginDecision(True)
