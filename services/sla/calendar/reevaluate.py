"""Re-evaluate open SLA clocks after a calendar change, in one pass.

A clock's *used* business time is a fact about the past: it was measured on the
calendar in force at the time, and a change (a heat closure announced this morning,
a new schedule) does not rewrite it. So at the change instant ``now``:

    used_now  = used + old.between(running_since, now)   (paused clocks add nothing)
    remaining = target - used_now
    deadline  = new.add(now, remaining)                   (or ``now`` if remaining <= 0)

A target already exceeded at the change is breached *at the change*, never back-dated.
Both timelines are fetched once and the loop inlines the two bisects, so a million
clocks take well under the 2 s budget (benchmarks/sla_bench.py).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import NamedTuple

from .engine import BusinessTime
from .errors import TargetUnreachableError


class OpenClock(NamedTuple):
    """One running (or paused) SLA target of a ticket, in epoch seconds.

    ``running_since`` is when the clock last started running (None while paused, e.g.
    waiting on the customer); ``used`` is the business time consumed before that.
    """

    running_since: int | None
    used: int
    target: int


def reevaluate(
    old: BusinessTime, new: BusinessTime, now: int, clocks: Sequence[OpenClock]
) -> list[int | None]:
    """New deadlines (epoch seconds; None for paused clocks) in the order of ``clocks``.

    A ``running_since`` after ``now`` (events out of order) counts as no time used.
    Raises TargetUnreachableError (naming the clock) if the new calendar cannot meet a
    target within its horizon, so the caller can refuse the change as a whole.
    """
    earliest = min((clock[0] for clock in clocks if clock[0] is not None), default=now)
    old_tl = old.timeline(min(earliest, now), now)
    old_starts, old_ends, old_cum = old_tl.starts, old_tl.ends, old_tl.cum
    old_now = old_tl.position(now)
    new_tl = new.timeline(now, now + new.horizon)
    new_starts, new_cum = new_tl.starts, new_tl.cum
    new_now = new_tl.position(now)
    end = len(new_cum)
    limit = now + new.horizon

    deadlines: list[int | None] = []
    append = deadlines.append
    for index, (since, used, target) in enumerate(clocks):
        if since is None:
            append(None)
            continue
        k = bisect_right(old_starts, since) - 1
        elapsed = old_now - (old_cum[k] + min(since, old_ends[k]) - old_starts[k] if k >= 0 else 0)
        remaining = target - used - (elapsed if elapsed > 0 else 0)
        if remaining <= 0:
            append(now)
            continue
        goal = new_now + remaining
        i = bisect_left(new_cum, goal)
        deadline = new_starts[i - 1] + goal - new_cum[i - 1] if i < end else limit + 1
        if deadline > limit:
            raise TargetUnreachableError(
                f"clock {index}: {remaining} s of business time do not fit in the new "
                f"calendar's {new.calendar.horizon_days}-day horizon"
            )
        append(deadline)
    return deadlines
