"""What every webhooks flow is given: database, settings, the TLS context, and the
clock, randomness and concurrency it must not take from the world itself (so the
flows run in plain tests one by one and in the service side by side on eventlet)."""

from __future__ import annotations

import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pasokh_common.db import ConnectionPool
from pasokh_common.green import one_by_one

from services.webhooks.bindings import QueueBindings
from services.webhooks.config import WebhooksConfig


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Dependencies:
    pool: ConnectionPool
    config: WebhooksConfig
    tls: ssl.SSLContext
    clock: Callable[[], datetime] = utc_now
    rng: random.Random = field(default_factory=random.Random)
    run_concurrently: Callable[..., list] = one_by_one
    # The event queues' bindings (the service's); None where no queue is consumed
    # (plain tests of the flows): changes are then just transactions.
    bindings: QueueBindings | None = None
