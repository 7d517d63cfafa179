"""Sliding-window limits: "at most N in any window of W", and how long until the next
one is allowed. Shared by code sending and login throttling."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

ZERO = timedelta(0)


def window_wait(
    times: Iterable[datetime], limit: int, window: timedelta, now: datetime
) -> timedelta:
    """How long until one more event fits, given earlier events at ``times``.

    With ``limit`` events already inside the window, the next one fits when the oldest
    of the newest ``limit`` leaves it. ZERO means "now".
    """
    inside = sorted((t for t in times if now - t < window), reverse=True)
    if len(inside) < limit:
        return ZERO
    return max(ZERO, inside[limit - 1] + window - now)
