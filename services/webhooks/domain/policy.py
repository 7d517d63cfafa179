"""What an attempt's answer means, when to try again, and when to stop an endpoint.

* 2xx: delivered.
* 408, 425, 429 and 5xx, a timeout, a refused or reset connection, a TLS failure:
  transient; retried with exponential backoff and jitter (``pasokh_common.backoff``),
  never sooner than the endpoint's ``Retry-After``, until ``max_attempts``.
* Any other status (3xx included: redirects are not followed, a signed POST must not
  wander): permanent for this delivery, not retried.
* An endpoint whose last ``disable_after`` deliveries all failed for good is disabled,
  with the last error as its reason; one delivered event resets the count.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pasokh_common.backoff import RetryPolicy, backoff_seconds

RETRYABLE_STATUSES = frozenset({408, 425, 429})
MAX_RETRY_AFTER_SECONDS = 3600.0


class Kind(StrEnum):
    DELIVERED = "delivered"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Answer:
    """One attempt's result as the policy sees it."""

    kind: Kind
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None


def classify_status(status: int, retry_after: float | None = None) -> Answer:
    if 200 <= status < 300:
        return Answer(Kind.DELIVERED, status)
    if status in RETRYABLE_STATUSES or status >= 500:
        return Answer(Kind.TRANSIENT, status, f"HTTP {status}", retry_after)
    return Answer(Kind.PERMANENT, status, f"HTTP {status}")


class Next(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Decision:
    next: Next
    at: datetime | None = None  # when to retry


def decide(
    answer: Answer, attempts: int, now: datetime, policy: RetryPolicy, rng: random.Random
) -> Decision:
    """After attempt number ``attempts`` (1-based) of a delivery ended with ``answer``."""
    if answer.kind is Kind.DELIVERED:
        return Decision(Next.DELIVERED)
    if answer.kind is Kind.PERMANENT or attempts >= policy.max_attempts:
        return Decision(Next.FAILED)
    delay = backoff_seconds(attempts, policy, rng)
    if answer.retry_after is not None:
        delay = max(delay, min(answer.retry_after, MAX_RETRY_AFTER_SECONDS))
    return Decision(Next.RETRY, now + timedelta(seconds=delay))


def should_disable(consecutive_failures: int, disable_after: int) -> bool:
    """``disable_after`` 0 never disables (the receiver is watched some other way)."""
    return disable_after > 0 and consecutive_failures >= disable_after
