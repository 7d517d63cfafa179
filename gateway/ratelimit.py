"""In-process token buckets for the routes people can abuse cheaply: authentication
(keyed by client address) and ticket creation (keyed by the account).

Caveat, on purpose: the buckets live in this process. With N gateway replicas behind a
load balancer a client gets up to N times the limit, and a restart forgets the counts.
That is acceptable as a first line (identity throttles logins and SMS codes itself, in
its database, whatever the gateway does); a shared limit needs a shared store (Redis,
or RabbitMQ-independent Postgres counters) and is noted in docs/api.md.

Memory is bounded: at most ``max_keys`` buckets, least recently used dropped first
(a dropped bucket comes back full, which errs on the side of letting people in).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from gateway.config import RateLimit


class TokenBuckets:
    def __init__(
        self,
        limit: RateLimit,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one token for ``key``: 0.0 when allowed, else the seconds until a token
        is back (the Retry-After). No I/O and no yield inside, so under eventlet the
        read-modify-write cannot interleave with another greenthread."""
        now = self.clock()
        tokens, last = self._buckets.pop(key, (float(self.limit.capacity), now))
        tokens = min(
            float(self.limit.capacity), tokens + (now - last) * self.limit.refill_per_second
        )
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.limit.refill_per_second
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait
