"""How fast the SLA business-time engine computes deadlines, against a library peer.

1. ``start + 24`` and ``start + 72`` business hours for N random instants over
   2025-2026 (Tehran) on the default calendar (Saturday-Wednesday 09:00-17:00, the
   official Iranian holidays, the admin overrides file), with our engine and with
   ``businesstimedelta`` (WorkDayRule + HolidayRule, both on pytz's Asia/Tehran: its
   default zone is UTC, which would shift every holiday by 3.5 hours). Every pair of
   results must agree; both rates and their ratio are printed (target >= 200x).
2. Re-evaluating 1,000,000 open clocks after a calendar change (an announced two-day
   heat closure): used business time is measured on the old calendar up to the change
   and the remaining target is laid onto the new one (``calendar.reevaluate``). The
   timed part includes building the new calendar's engine. Target: < 2 s. A sample is
   checked against the one-clock-at-a-time API.

Run: ``python -m benchmarks.sla_bench [--deadlines N] [--clocks N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime
from datetime import time as time_of_day
from zoneinfo import ZoneInfo

import businesstimedelta
import pytz

from services.sla.calendar import (
    DEFAULT_OVERRIDES_PATH,
    BusinessCalendar,
    BusinessTime,
    HolidayOverrides,
    OpenClock,
    load_overrides,
    reevaluate,
)
from services.sla.calendar.schedule import format_time_of_day

TEHRAN = "Asia/Tehran"
HOUR = 3600
FROM = datetime(2025, 1, 1, tzinfo=ZoneInfo(TEHRAN))
UNTIL = datetime(2027, 1, 1, tzinfo=ZoneInfo(TEHRAN))
PEER_HOLIDAY_YEARS = range(2024, 2032)  # the peer looks up to 5 years ahead for a holiday


def default_calendar() -> BusinessCalendar:
    return BusinessCalendar(overrides=(load_overrides(DEFAULT_OVERRIDES_PATH),))


def random_instants(n: int, rng: random.Random) -> list[int]:
    lo, hi = int(FROM.timestamp()), int(UNTIL.timestamp())
    return [rng.randrange(lo, hi) for _ in range(n)]


def peer_rules(calendar: BusinessCalendar) -> businesstimedelta.Rules:
    """The same calendar for businesstimedelta: one WorkDayRule, one HolidayRule."""
    working = [day for day in range(7) if calendar.schedule.intervals_on(day)]
    shapes = {calendar.schedule.intervals_on(day) for day in working}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise SystemExit("the peer comparison needs one interval, the same every working day")
    (interval,) = next(iter(shapes))
    zone = pytz.timezone(calendar.time_zone)
    holidays = {day for year in PEER_HOLIDAY_YEARS for day in calendar.holidays_in(year)}
    return businesstimedelta.Rules(
        [
            businesstimedelta.WorkDayRule(
                start_time=time_of_day.fromisoformat(format_time_of_day(interval.start)),
                end_time=time_of_day.fromisoformat(format_time_of_day(interval.end)),
                working_days=working,
                tz=zone,
            ),
            businesstimedelta.HolidayRule(holidays, tz=zone),
        ]
    )


def time_ours(
    engine: BusinessTime, starts: list[datetime], seconds: int
) -> tuple[list[int], float]:
    """Our datetime API: aware datetime in, aware datetime (Tehran) out, one call each."""
    add = engine.add_business_time
    began = time.perf_counter()
    results = [add(start, seconds) for start in starts]
    elapsed = time.perf_counter() - began
    return [int(result.timestamp()) for result in results], len(starts) / elapsed


def time_ours_epoch(
    engine: BusinessTime, starts: list[int], seconds: int
) -> tuple[list[int], float]:
    """Our epoch-seconds API, as the SLA service keeps its clocks: int in, int out."""
    add = engine.add_epoch
    began = time.perf_counter()
    results = [add(start, seconds) for start in starts]
    elapsed = time.perf_counter() - began
    return results, len(starts) / elapsed


def time_peer(
    rules: businesstimedelta.Rules, starts: list[datetime], hours: int
) -> tuple[list[int], float]:
    delta = businesstimedelta.BusinessTimeDelta(rules, hours=hours)
    began = time.perf_counter()
    results = [start + delta for start in starts]
    elapsed = time.perf_counter() - began
    return [int(result.timestamp()) for result in results], len(starts) / elapsed


def bench_deadlines(calendar: BusinessCalendar, n: int, rng: random.Random) -> bool:
    epochs = random_instants(n, rng)
    zone, peer_zone = ZoneInfo(calendar.time_zone), pytz.timezone(calendar.time_zone)
    ours_in = [datetime.fromtimestamp(t, zone) for t in epochs]
    peer_in = [datetime.fromtimestamp(t, peer_zone) for t in epochs]
    engine = BusinessTime(calendar)
    began = time.perf_counter()
    # Built once per process and calendar, then shared by every deadline: not timed below.
    engine.timeline(min(epochs), max(epochs) + engine.horizon)
    print(f"timeline 2025-2027 built in {time.perf_counter() - began:.3f} s")
    rules = peer_rules(calendar)
    all_agree = True
    for hours in (24, 72):
        ours_epoch, epoch_rate = time_ours_epoch(engine, epochs, hours * HOUR)
        ours, ours_rate = time_ours(engine, ours_in, hours * HOUR)
        peer, peer_rate = time_peer(rules, peer_in, hours)
        mismatches = [i for i in range(n) if not ours_epoch[i] == ours[i] == peer[i]]
        all_agree = all_agree and not mismatches
        print(
            f"+{hours} h, {n:,} deadlines: businesstimedelta {peer_rate:,.0f}/s; "
            f"ours (epoch seconds) {epoch_rate:,.0f}/s = {epoch_rate / peer_rate:,.0f}x; "
            f"ours (datetime in/out) {ours_rate:,.0f}/s = {ours_rate / peer_rate:,.0f}x; "
            f"{n - len(mismatches):,}/{n:,} agree"
        )
        for i in mismatches[:5]:
            print(
                f"  MISMATCH start {ours_in[i]}: ours {datetime.fromtimestamp(ours[i], zone)}"
                f" / {datetime.fromtimestamp(ours_epoch[i], zone)}"
                f", peer {datetime.fromtimestamp(peer[i], zone)}"
            )
    return all_agree


def make_clocks(n: int, now: int, rng: random.Random) -> list[OpenClock]:
    """Open clocks of a busy desk: 10 % paused; the rest (re)started in the last 5 days
    having used up to a third of a 24 or 72 business-hour target before."""
    clocks = []
    for _ in range(n):
        target = rng.choice((24, 72)) * HOUR
        used = rng.randrange(0, target // 3)
        since = None if rng.random() < 0.1 else now - rng.randrange(0, 5 * 86400)
        clocks.append(OpenClock(since, used, target))
    return clocks


def bench_reevaluate(calendar: BusinessCalendar, n: int, rng: random.Random) -> bool:
    zone = ZoneInfo(calendar.time_zone)
    now = int(datetime(2026, 7, 28, 11, 0, tzinfo=zone).timestamp())
    closure = HolidayOverrides.of(add=[date(2026, 7, 29), date(2026, 7, 30)])
    old = BusinessTime(calendar)
    old.timeline(now - 30 * 86400, now)
    clocks = make_clocks(n, now, rng)
    began = time.perf_counter()
    new = BusinessTime(calendar.with_overrides(closure))
    deadlines = reevaluate(old, new, now, clocks)
    elapsed = time.perf_counter() - began
    wrong = 0
    for i in rng.sample(range(n), min(n, 5000)):
        since, used, target = clocks[i]
        if since is None:
            expected = None
        else:
            remaining = target - used - max(0, old.between_epoch(since, now))
            expected = now if remaining <= 0 else new.add_epoch(now, remaining)
        wrong += deadlines[i] != expected
    breached = sum(1 for d in deadlines if d == now)
    print(
        f"re-evaluate {n:,} open clocks after a calendar change: {elapsed:.3f} s "
        f"({n / elapsed:,.0f}/s); {breached:,} breached at the change; "
        f"{wrong} wrong in a 5,000-clock sample"
    )
    return wrong == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadlines", type=int, default=100_000)
    parser.add_argument("--clocks", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1405)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    calendar = default_calendar()
    print(f"python {sys.version.split()[0]}, calendar {calendar.time_zone}, seed {args.seed}")
    ok = bench_deadlines(calendar, args.deadlines, rng)
    ok = bench_reevaluate(calendar, args.clocks, rng) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
