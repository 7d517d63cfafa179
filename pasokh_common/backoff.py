"""Exponential backoff with "equal jitter", shared by every sender that retries over
the network (notify's SMS providers, webhooks' endpoints).

Each step doubles up to a cap; the delay is a random point in the upper half of the
step, so an outage is not met by every queued item retrying in the same second, yet
no retry comes sooner than half its step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


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
