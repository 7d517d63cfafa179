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

from pasokh_common.backoff import RetryPolicy, backoff_seconds

from services.notify.domain.outcomes import Reason, SendResult, Status
from services.notify.domain.quiet_hours import QuietHours, allowed_at

__all__ = ["Decision", "Next", "RetryPolicy", "backoff_seconds", "decide"]


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
