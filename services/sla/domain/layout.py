"""Business-time arithmetic on one clock: fold the past, lay out the future, and find
what has become due. Pure functions over ``Clock`` values and the engine.

The rules that peers got wrong and that hold here:
- the past is measured on the calendar in force at the time (``settle`` before any
  change of calendar or target), never re-measured under new rules;
- a target already exceeded when a change is made is breached *at the change*, never
  back-dated to an instant before it;
- a breach found late (an event or a scan after the deadline) is dated at the deadline,
  when it really happened.
"""

from __future__ import annotations

from dataclasses import replace

from services.sla.calendar import BusinessTime, CalendarError
from services.sla.domain.policy import Policy
from services.sla.domain.targets import Clock, ClockStatus


def elapsed(clock: Clock, engine: BusinessTime, at: int) -> int:
    """Business seconds the clock has used by ``at``.

    A running segment that starts after ``at`` (events applied in version order but
    stamped slightly out of order, or a change recorded later than the event) adds
    nothing rather than a negative amount.
    """
    if clock.running_since is None or at <= clock.running_since:
        return clock.used
    return clock.used + engine.between_epoch(clock.running_since, at)


def settle(clock: Clock, engine: BusinessTime, at: int) -> Clock:
    """Fold the running segment up to ``at`` into ``used`` (measured on ``engine``)."""
    if clock.running_since is None or at <= clock.running_since:
        return clock
    return replace(clock, used=elapsed(clock, engine, at), running_since=at)


def lay_out(clock: Clock, engine: BusinessTime, policy: Policy, strict: bool = False) -> Clock:
    """Deadline and warning instant of a running clock, from its segment start.

    With the remaining time used up, the deadline is the instant the clock breached
    (already recorded) or, if not yet, the segment start: the change instant, so a
    change breaches at once and never in the past. A calendar that cannot reach the
    deadline within its horizon leaves it unset (the clock cannot become due) unless
    ``strict``, where the error goes to the caller so an admin change can be refused.
    """
    if not clock.is_running or clock.running_since is None:
        return replace(clock, deadline=None, warn_at=None)
    start = clock.running_since
    remaining = clock.target_seconds - clock.used
    point = policy.warning_point(clock.target_seconds)
    try:
        if remaining > 0:
            deadline = engine.add_epoch(start, remaining)
        else:
            deadline = clock.breached_at if clock.breached_at is not None else start
        if point is None:
            warn_at = None
        elif point > clock.used:
            warn_at = engine.add_epoch(start, point - clock.used)
        else:
            warn_at = start
    except CalendarError:
        if strict:
            raise
        return replace(clock, deadline=None, warn_at=None)
    return replace(clock, deadline=deadline, warn_at=warn_at)


def breach_due(clock: Clock, at: int) -> bool:
    return (
        clock.is_running
        and clock.breached_at is None
        and clock.deadline is not None
        and clock.deadline <= at
    )


def warning_due(clock: Clock, at: int) -> bool:
    """Due at ``at``, and still ahead of the breach (see ``Clock.due_at``)."""
    return (
        clock.is_running
        and clock.warned_at is None
        and clock.breached_at is None
        and clock.warn_at is not None
        and clock.deadline is not None
        and clock.warn_at <= at < clock.deadline
    )


def pause(clock: Clock, engine: BusinessTime, at: int) -> Clock:
    settled = settle(clock, engine, at)
    return replace(
        settled, status=ClockStatus.PAUSED, running_since=None, deadline=None, warn_at=None
    )


def resume(clock: Clock, engine: BusinessTime, policy: Policy, at: int) -> Clock:
    return lay_out(replace(clock, status=ClockStatus.RUNNING, running_since=at), engine, policy)


def end(clock: Clock, engine: BusinessTime, at: int, verdict: ClockStatus) -> Clock:
    """Stop the clock for good; a breached clock ends as BREACHED whatever ``verdict``."""
    settled = settle(clock, engine, at)
    status = ClockStatus.BREACHED if clock.breached_at is not None else verdict
    return replace(
        settled, status=status, running_since=None, deadline=None, warn_at=None, ended_at=at
    )


def in_hours(engine: BusinessTime, t: int) -> bool:
    """Open at ``t``, or ``t`` is a closing instant: a deadline shown as 17:00 is told
    at 17:00, not held overnight."""
    return engine.is_open_epoch(t) or engine.is_open_epoch(t - 1)


def notify_at(engine: BusinessTime, occurred: int, outside_hours: bool) -> int:
    """When supervisors may be told of a warning or breach that happened at ``occurred``.

    Within hours (or when the policy says so) at once; otherwise at the calendar's next
    opening, so nobody is woken for a ticket that nobody can answer before morning. It
    depends only on the fact, never on when a scan ran, so every replica computes the
    same instant.
    """
    if outside_hours:
        return occurred
    try:
        if in_hours(engine, occurred):
            return occurred
        return engine.next_opening_epoch(occurred)
    except CalendarError:
        return occurred  # no opening within the horizon: better told than never
