"""After an attempt: sent, try again (when), or give up (why).

Transient failures back off exponentially with jitter ("equal jitter": a random point
in the upper half of the exponential delay), so a provider outage is not met by every
queued message retrying in the same second, yet no retry comes sooner than half its
step. A provider's own ``Retry-After`` is a floor. Retries never land in quiet hours
(for non-urgent messages) and stop when attempts run out or the message has grown too
old to be worth sending (a "your ticket was answered" SMS a day late only confuses).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.notify.domain.outcomes import Reason, SendResult, Status
from services.notify.domain.quiet_hours import QuietHours, allowed_at


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 2.0
    max_seconds: float = 600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_seconds <= 0 or self.max_seconds <= 0:
            raise ValueError("retry policy needs max_attempts >= 1 and positive delays")


def backoff_seconds(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Delay after failed attempt number ``attempt`` (1-based)."""
    step = min(policy.max_seconds, policy.base_seconds * 2 ** max(0, attempt - 1))
    return rng.uniform(step / 2, step)


class Next(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAIL = "fail"


@dataclass(frozen=True)
class Decision:
    next: Next
    reason: Reason | None = None
    at: datetime | None = None  # when to retry
    uncertain: bool = False  # the provider may already hold the message


def decide(
    result: SendResult,
    attempts: int,
    now: datetime,
    expires_at: datetime,
    policy: RetryPolicy,
    rng: random.Random,
    quiet: QuietHours | None = None,
    urgent: bool = False,
) -> Decision:
    """What to do with a message whose ``attempts``-th attempt ended with ``result``."""
    if result.status is Status.ACCEPTED:
        return Decision(Next.SENT)
    if result.status is Status.REJECTED:
        return Decision(Next.FAIL, result.reason or Reason.REJECTED)
    uncertain = result.status is Status.UNKNOWN
    if attempts >= policy.max_attempts:
        return Decision(Next.FAIL, Reason.GAVE_UP, uncertain=uncertain)
    delay = backoff_seconds(attempts, policy, rng)
    if result.retry_after is not None:
        delay = max(delay, result.retry_after)
    at = allowed_at(now + timedelta(seconds=delay), quiet, urgent)
    if at > expires_at:
        return Decision(Next.FAIL, Reason.EXPIRED, uncertain=uncertain)
    return Decision(Next.RETRY, result.reason, at, uncertain)
