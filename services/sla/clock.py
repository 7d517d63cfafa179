"""The service's sense of "now", in whole epoch seconds.

Deadlines are checked against this clock only (never the database's ``now()``), so a
test can run the service on a shifted clock (``SLA_CLOCK_OFFSET_SECONDS``, guarded in
``config.py``) and the application layer can be driven by a clock a test moves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def now(self) -> int: ...


@dataclass(frozen=True)
class SystemClock:
    """Wall-clock time, plus the (test-only) offset."""

    offset_seconds: int = 0

    def now(self) -> int:
        return int(time.time()) + self.offset_seconds
