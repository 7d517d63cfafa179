"""What every notify flow is given: database, settings, provider, contacts, and the
clock, randomness, sleep and concurrency it must not take from the world itself.

Injecting them keeps the flows testable without waiting (a movable clock, a seeded
random source) and lets the service run sends concurrently on eventlet while a plain
test runs them one after another.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pasokh_common.db import ConnectionPool
from pasokh_common.green import green_concurrently, one_by_one

from services.notify.config import NotifyConfig
from services.notify.contacts import ContactBook
from services.notify.providers.base import Provider
from services.notify.supervisors import MembershipSupervisors, SupervisorDirectory

__all__ = ["Dependencies", "SweepSchedule", "green_concurrently", "one_by_one", "utc_now"]

# How often a process sweeps for crashed senders' and expired messages: a lease (at
# least a minute in production) or a time to live (a day) is acted on at most this late.
SWEEP_SECONDS = 5.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class SweepSchedule:
    """When the dispatcher of this process last swept: the sweep's two locking queries
    need not run on every tick (four times a second when idle). Kept by the process
    (the service's runtime), as a new Dispatcher serves each tick."""

    def __init__(self, every: float = SWEEP_SECONDS) -> None:
        self.every = timedelta(seconds=every)
        self.last: datetime | None = None

    def due(self, now: datetime) -> bool:
        """True on the first tick, after ``every``, and if the clock went back."""
        return self.last is None or not timedelta(0) <= now - self.last < self.every

    def done(self, now: datetime) -> None:
        self.last = now


@dataclass
class Dependencies:
    pool: ConnectionPool
    config: NotifyConfig
    provider: Provider
    contacts: ContactBook
    supervisors: SupervisorDirectory = field(default_factory=MembershipSupervisors)
    clock: Callable[[], datetime] = utc_now
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], Any] = time.sleep
    run_concurrently: Callable[..., list] = one_by_one
    sweeps: SweepSchedule = field(default_factory=SweepSchedule)
