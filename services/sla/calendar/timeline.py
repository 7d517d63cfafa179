"""The precomputed timeline: every working interval of a range of years as UTC epoch
seconds, with the cumulative business seconds before each one.

``position(t)`` (business seconds from the timeline's origin to ``t``) and its inverse
are one ``bisect`` each, so a deadline costs O(log n) whatever the target: no stepping
through minutes or days. Holidays and the weekly schedule are applied per *local*
date, and each local boundary is converted with the zone, so offsets (and historic DST)
are exact to the second.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .model import BusinessCalendar
from .schedule import DAY_SECONDS

ONE_DAY = timedelta(days=1)


def local_epoch(zone: ZoneInfo, day: date, seconds: int) -> int:
    """Epoch second of local ``day`` at ``seconds`` after midnight (86,400 is 24:00).

    Non-existent local times (a DST gap) resolve with fold=0, PEP 495's rule; the
    builder then clamps so intervals stay ordered and never overlap.
    """
    if seconds >= DAY_SECONDS:
        day, seconds = day + ONE_DAY, seconds - DAY_SECONDS
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return int(
        datetime(day.year, day.month, day.day, hours, minutes, secs, tzinfo=zone).timestamp()
    )


def year_start(zone: ZoneInfo, year: int) -> int:
    return local_epoch(zone, date(year, 1, 1), 0)


def year_intervals(calendar: BusinessCalendar, year: int) -> list[tuple[int, int]]:
    """Working intervals of one local (Gregorian) year, as ordered epoch pairs."""
    zone = calendar.zone
    holidays = calendar.holidays_in(year)
    schedule = calendar.schedule
    out: list[tuple[int, int]] = []
    day = date(year, 1, 1)
    while day.year == year:
        if day not in holidays:
            for interval in schedule.intervals_on(day.weekday()):
                out.append(
                    (local_epoch(zone, day, interval.start), local_epoch(zone, day, interval.end))
                )
        day += ONE_DAY
    return out


@dataclass(frozen=True, slots=True)
class Timeline:
    """Working intervals over local years ``first_year..last_year`` (inclusive).

    ``starts``/``ends`` are sorted, disjoint and non-touching (touching ones are
    joined, so a 24/7 calendar is one long interval); ``cum[k]`` is the business time
    before interval ``k`` and ``cum[-1]`` the total. It covers ``[lo, hi]``.
    """

    first_year: int
    last_year: int
    lo: int
    hi: int
    starts: list[int]
    ends: list[int]
    cum: list[int]

    @classmethod
    def build(
        cls, first_year: int, last_year: int, lo: int, hi: int, years: list[list[tuple[int, int]]]
    ) -> Timeline:
        starts: list[int] = []
        ends: list[int] = []
        for intervals in years:
            for start, end in intervals:
                if ends and start < ends[-1]:
                    start = ends[-1]  # only in a DST gap: keep the intervals disjoint
                if end <= start:
                    continue
                if ends and start == ends[-1]:
                    ends[-1] = end
                else:
                    starts.append(start)
                    ends.append(end)
        cum = [0]
        for start, end in zip(starts, ends, strict=True):
            cum.append(cum[-1] + end - start)
        return cls(first_year, last_year, lo, hi, starts, ends, cum)

    def covers(self, t: int) -> bool:
        return self.lo <= t <= self.hi

    def position(self, t: int) -> int:
        """Business seconds from the origin to ``t`` (constant while closed)."""
        k = bisect_right(self.starts, t) - 1
        if k < 0:
            return 0
        return self.cum[k] + min(t, self.ends[k]) - self.starts[k]

    def instant_at(self, position: int) -> int | None:
        """The earliest instant whose position is ``position`` (> 0), or None past the end.

        Earliest means a target met at the last second of a working interval is that
        interval's end, the closing time (17:00), not the next opening.
        """
        i = bisect_left(self.cum, position)
        if i >= len(self.cum):
            return None
        return self.starts[i - 1] + position - self.cum[i - 1]

    def is_open(self, t: int) -> bool:
        k = bisect_right(self.starts, t) - 1
        return k >= 0 and t < self.ends[k]

    def next_open(self, t: int) -> int | None:
        """``t`` if working, else the next interval's start; None past the end."""
        k = bisect_right(self.starts, t) - 1
        if k >= 0 and t < self.ends[k]:
            return t
        return self.starts[k + 1] if k + 1 < len(self.starts) else None
