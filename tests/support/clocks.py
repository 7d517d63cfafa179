"""Time that tests control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SteppingClock:
    """Each reading is one second after the last, from 2026-11-21 09:00 UTC: ordering
    and windows (reopen, deadlines) come out exact."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now
