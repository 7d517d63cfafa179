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
from datetime import UTC, datetime
from typing import Any

from pasokh_common.db import ConnectionPool
from pasokh_common.green import green_concurrently, one_by_one

from services.notify.config import NotifyConfig
from services.notify.contacts import ContactBook
from services.notify.providers.base import Provider
from services.notify.supervisors import MembershipSupervisors, SupervisorDirectory

__all__ = ["Dependencies", "green_concurrently", "one_by_one", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)


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
