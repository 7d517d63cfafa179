"""``BusinessTime``: business-time arithmetic on one calendar, exact to the second.

The engine keeps one ``Timeline`` and widens it lazily, a whole local year at a time,
when an instant (or a search up to the horizon) falls outside it; years are built
once and kept. Instants are whole epoch seconds: microseconds are dropped, because the
SLA is defined to the second and integer arithmetic keeps results exact.

Semantics (see docs/sla-calendar.md):
- ``add`` starts at the next opening when the start is closed, and a result that
  uses the last second of a working interval is its closing time (17:00).
- ``between(a, b)`` is the working time in ``[a, b)``, negative when ``b < a``.
- ``next_opening(t)`` is ``t`` itself when open, else the next interval's start.
- Every forward search stops at ``calendar.horizon_days``: TargetUnreachableError.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime
from functools import lru_cache

from .errors import (
    InvalidDurationError,
    NaiveDatetimeError,
    OutOfRangeError,
    TargetUnreachableError,
)
from .holiday_book import MAX_YEAR, MIN_YEAR
from .model import BusinessCalendar
from .schedule import DAY_SECONDS
from .timeline import Timeline, year_intervals, year_start


def to_epoch(instant: datetime) -> int:
    """Whole epoch seconds of an aware datetime (naive ones are refused, not guessed)."""
    if not isinstance(instant, datetime):
        raise NaiveDatetimeError(f"expected an aware datetime, got {instant!r}")
    if instant.tzinfo is None or instant.tzinfo.utcoffset(instant) is None:
        raise NaiveDatetimeError(f"{instant!r} has no time zone")
    return int(instant.timestamp())


_fromtimestamp = datetime.fromtimestamp


def _check_duration(seconds: int) -> None:
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise InvalidDurationError(f"business time is whole seconds, got {seconds!r}")
    if seconds < 0:
        raise InvalidDurationError(f"business time cannot be negative: {seconds}")


class BusinessTime:
    """Arithmetic on one ``BusinessCalendar``; get shared instances from ``business_time``."""

    __slots__ = ("_timeline", "_years", "calendar", "horizon", "zone")

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar
        self.zone = calendar.zone
        self.horizon = calendar.horizon_days * DAY_SECONDS
        self._years: dict[int, list[tuple[int, int]]] = {}
        self._timeline: Timeline | None = None

    # -- coverage ---------------------------------------------------------------------

    def _local_year(self, t: int) -> int:
        try:
            return datetime.fromtimestamp(t, self.zone).year
        except (OverflowError, OSError, ValueError) as exc:
            raise OutOfRangeError(f"instant {t} is outside the supported years") from exc

    def timeline(self, lo: int, hi: int | None = None) -> Timeline:
        """A timeline covering epoch seconds ``lo..hi``; the instants must lie in
        MIN_YEAR..MAX_YEAR (the search end ``hi`` is clipped there instead)."""
        hi = lo if hi is None else hi
        current = self._timeline
        if current is not None and current.lo <= lo and hi <= current.hi:
            return current
        first = self._local_year(lo)
        if not MIN_YEAR <= first <= MAX_YEAR:
            raise OutOfRangeError(f"year {first} is outside {MIN_YEAR}-{MAX_YEAR}")
        last = min(max(self._local_year(hi), first), MAX_YEAR)
        if current is not None:
            first, last = min(first, current.first_year), max(last, current.last_year)
        for year in range(first, last + 1):
            if year not in self._years:
                self._years[year] = year_intervals(self.calendar, year)
        timeline = Timeline.build(
            first,
            last,
            year_start(self.zone, first),
            year_start(self.zone, last + 1),
            [self._years[year] for year in range(first, last + 1)],
        )
        self._timeline = timeline
        return timeline

    # -- epoch-second arithmetic --------------------------------------------------------

    def add_epoch(self, t: int, seconds: int) -> int:
        """The instant at which ``seconds`` of business time after ``t`` are used up."""
        # The hot path of every deadline: checks and both bisects are inlined.
        if seconds.__class__ is not int or seconds <= 0:
            _check_duration(seconds)
            if seconds == 0:
                return self.next_opening_epoch(t)
            seconds = int(seconds)  # an int subclass (numpy, IntEnum): plain from here on
        tl = self._timeline
        if tl is None or not tl.lo <= t < tl.hi:
            tl = self.timeline(t)
        starts, cum = tl.starts, tl.cum
        k = bisect_right(starts, t) - 1
        if k >= 0:
            end = tl.ends[k]
            target = cum[k] + (t if t < end else end) - starts[k] + seconds
        else:
            target = seconds
        i = bisect_left(cum, target)
        if i == len(cum):
            return self._add_slow(t, seconds)
        result = starts[i - 1] + target - cum[i - 1]
        if result - t > self.horizon:
            raise self._unreachable(t, seconds)
        return result

    def _add_slow(self, t: int, seconds: int) -> int:
        tl = self.timeline(t, t + self.horizon)
        result = tl.instant_at(tl.position(t) + seconds)
        if result is None or result - t > self.horizon:
            raise self._unreachable(t, seconds)
        return result

    def _unreachable(self, t: int, seconds: int) -> TargetUnreachableError:
        return TargetUnreachableError(
            f"{seconds} s of business time after {datetime.fromtimestamp(t, self.zone)} do not fit "
            f"within the {self.calendar.horizon_days}-day horizon of this calendar"
        )

    def between_epoch(self, a: int, b: int) -> int:
        """Business seconds in ``[a, b)``; negative when ``b`` is before ``a``."""
        tl = self.timeline(min(a, b), max(a, b))
        return tl.position(b) - tl.position(a)

    def next_opening_epoch(self, t: int) -> int:
        tl = self.timeline(t)
        result = tl.next_open(t)
        if result is None:
            tl = self.timeline(t, t + self.horizon)
            result = tl.next_open(t)
        if result is None or result - t > self.horizon:
            raise TargetUnreachableError(
                f"no working time within {self.calendar.horizon_days} days after "
                f"{datetime.fromtimestamp(t, self.zone)}"
            )
        return result

    def is_open_epoch(self, t: int) -> bool:
        return self.timeline(t).is_open(t)

    # -- datetime API -------------------------------------------------------------------

    def add_business_time(self, start: datetime, seconds: int) -> datetime:
        """``start`` plus ``seconds`` of business time, in the calendar's zone."""
        try:
            tz = start.tzinfo
            t = int(start.timestamp())
        except AttributeError:
            tz = None
        if tz is None or tz.utcoffset(start) is None:
            to_epoch(start)  # raises the precise error
        # ``add_epoch``'s fast path once more, inlined: a method call is a fifth of the
        # cost of a whole deadline. Anything unusual falls through to ``add_epoch``.
        tl = self._timeline
        if seconds.__class__ is int and seconds > 0 and tl is not None and tl.lo <= t < tl.hi:
            starts, cum = tl.starts, tl.cum
            k = bisect_right(starts, t) - 1
            if k >= 0:
                end = tl.ends[k]
                target = cum[k] + (t if t < end else end) - starts[k] + seconds
            else:
                target = seconds
            i = bisect_left(cum, target)
            if i < len(cum):
                result = starts[i - 1] + target - cum[i - 1]
                if result - t <= self.horizon:
                    return _fromtimestamp(result, self.zone)
        return _fromtimestamp(self.add_epoch(t, seconds), self.zone)

    def business_time_between(self, a: datetime, b: datetime) -> int:
        return self.between_epoch(to_epoch(a), to_epoch(b))

    def next_opening(self, instant: datetime) -> datetime:
        return datetime.fromtimestamp(self.next_opening_epoch(to_epoch(instant)), self.zone)

    def is_open(self, instant: datetime) -> bool:
        return self.is_open_epoch(to_epoch(instant))


@lru_cache(maxsize=64)
def business_time(calendar: BusinessCalendar) -> BusinessTime:
    """The shared engine of ``calendar`` (its timeline is built once per process)."""
    return BusinessTime(calendar)


def add_business_time(calendar: BusinessCalendar, start: datetime, seconds: int) -> datetime:
    return business_time(calendar).add_business_time(start, seconds)


def business_time_between(calendar: BusinessCalendar, a: datetime, b: datetime) -> int:
    return business_time(calendar).business_time_between(a, b)


def next_opening(calendar: BusinessCalendar, instant: datetime) -> datetime:
    return business_time(calendar).next_opening(instant)


def is_open(calendar: BusinessCalendar, instant: datetime) -> bool:
    return business_time(calendar).is_open(instant)
