"""A token bucket per provider: how many SMS may go now, and how long to wait if none.

Providers block accounts that burst past their limits, so every notify process shares
one bucket per provider (stored in the database and updated under a row lock; the math
is here). Bulk messages take tokens only when there are whole tokens. Verification codes
never wait for bulk: they may borrow, driving the balance down to ``-burst``, which
bulk then has to repay first. So a code goes at once even behind a backlog of thousands,
the long-run rate still holds, and only a flood of codes (which identity rations per
number and per address) could ever make a code wait.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RateLimit:
    """``per_second`` 0 means unlimited."""

    per_second: float
    burst: float

    @property
    def unlimited(self) -> bool:
        return self.per_second <= 0


@dataclass(frozen=True)
class Bucket:
    tokens: float
    refilled_at: datetime


def refill(bucket: Bucket, now: datetime, limit: RateLimit) -> Bucket:
    elapsed = max(0.0, (now - bucket.refilled_at).total_seconds())
    tokens = min(limit.burst, bucket.tokens + elapsed * limit.per_second)
    return Bucket(tokens, max(now, bucket.refilled_at))


def _wait_for(tokens_needed: float, limit: RateLimit) -> float:
    return max(0.0, tokens_needed) / limit.per_second


@dataclass(frozen=True)
class Grant:
    granted: int
    bucket: Bucket
    wait_seconds: float  # until the next whole token, when nothing was granted


def take_bulk(bucket: Bucket, now: datetime, wanted: int, limit: RateLimit) -> Grant:
    """Up to ``wanted`` whole tokens for non-urgent messages."""
    if limit.unlimited:
        return Grant(wanted, bucket, 0.0)
    current = refill(bucket, now, limit)
    granted = max(0, min(wanted, math.floor(current.tokens + 1e-9)))
    after = Bucket(current.tokens - granted, current.refilled_at)
    wait = 0.0 if granted else _wait_for(1 - current.tokens, limit)
    return Grant(granted, after, wait)


def take_urgent(bucket: Bucket, now: datetime, limit: RateLimit) -> Grant:
    """One token for a code, borrowing down to ``-burst`` if need be."""
    if limit.unlimited:
        return Grant(1, bucket, 0.0)
    current = refill(bucket, now, limit)
    if current.tokens - 1 < -limit.burst:
        return Grant(0, current, _wait_for(1 - limit.burst - current.tokens, limit))
    return Grant(1, Bucket(current.tokens - 1, current.refilled_at), 0.0)
