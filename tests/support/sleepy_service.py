"""A test-only nameko service that proves database calls do not block the eventlet hub.

``sleep`` runs ``pg_sleep`` through the shared ``Database`` dependency and returns when
it started and ended (monotonic clock of the service process), so a test can check
that concurrent calls overlapped. A ticker greenthread wakes every 10 ms and records
the longest gap between wake-ups: a blocked hub shows up as a large gap.
"""

from __future__ import annotations

import time

from pasokh_common.nameko_deps import Database

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

TICK_SECONDS = 0.01


class HubTicker(DependencyProvider):
    """Runs one greenthread for the container's lifetime and reports hub stalls."""

    def setup(self) -> None:
        self.max_gap = 0.0
        self._running = True

    def start(self) -> None:
        self.container.spawn_managed_thread(self._tick, identifier="hub_ticker")

    def stop(self) -> None:
        self._running = False

    def _tick(self) -> None:
        last = time.monotonic()
        while self._running:
            eventlet.sleep(TICK_SECONDS)
            now = time.monotonic()
            self.max_gap = max(self.max_gap, now - last - TICK_SECONDS)
            last = now

    def get_dependency(self, worker_ctx) -> HubTicker:
        return self


class SleepyService:
    name = "sleepy"
    db = Database()
    ticker = HubTicker()

    @rpc
    def sleep(self, seconds: float) -> dict:
        with self.db.connection() as conn:
            started = time.monotonic()
            conn.execute("SELECT pg_sleep(%s)", (seconds,))
            ended = time.monotonic()
        return {"started": started, "ended": ended}

    @rpc
    def reset_hub_stall(self) -> None:
        self.ticker.max_gap = 0.0

    @rpc
    def max_hub_stall(self) -> float:
        return self.ticker.max_gap

    @rpc
    def wait_function(self) -> str:
        import psycopg.waiting

        return psycopg.waiting.wait.__name__

    @rpc
    def round_trip(self, size: int) -> dict:
        """Sends ``size`` bytes and reads them back: a parameter larger than the
        socket buffer makes psycopg wait for reading and writing at once."""
        payload = bytes(range(256)) * (size // 256)
        with self.db.connection() as conn:
            back = conn.execute("SELECT %s::bytea AS back", (payload,)).fetchone()["back"]
        return {"sent": len(payload), "same": bytes(back) == payload}
