"""One SLA target of one ticket, as a clock: business time used and when it is due.

All instants are whole epoch seconds (the engine's fast API); conversion to and from
ISO-8601 happens only at the edges (event data, RPC answers). A clock measures
business time on the ticket's calendar in segments: ``used`` is what was consumed
before ``running_since``, and a change of calendar or target first folds the running
segment into ``used`` (``layout.settle``), so the past is never re-measured under new
rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Target(StrEnum):
    """What is promised. ``next_reply`` repeats (one cycle per customer wait);
    ``resolution`` starts a new cycle when a closed ticket is reopened."""

    FIRST_RESPONSE = "first_response"
    NEXT_REPLY = "next_reply"
    RESOLUTION = "resolution"


class ClockStatus(StrEnum):
    RUNNING = "running"
    # Only resolution pauses: while the ticket waits on the customer (answered).
    PAUSED = "paused"
    MET = "met"
    # Ended after its deadline (the breach itself is ``breached_at``, set when it
    # happened, possibly while the clock was still running).
    BREACHED = "breached"
    # Ended without a verdict: the ticket was closed or merged before any reply.
    STOPPED = "stopped"


OPEN_STATUSES = frozenset({ClockStatus.RUNNING, ClockStatus.PAUSED})


@dataclass(frozen=True, slots=True)
class Clock:
    """One instance of a target (``target``, ``cycle``) of a ticket.

    ``deadline`` and ``warn_at`` are set only while running. ``warned_at`` and
    ``breached_at`` record that the SlaWarning / SlaBreached of this instance was
    emitted: each is emitted at most once, whoever (timer or event) finds it due.
    """

    target: Target
    cycle: int
    target_seconds: int
    started_at: int
    used: int = 0
    running_since: int | None = None
    deadline: int | None = None
    warn_at: int | None = None
    warned_at: int | None = None
    breached_at: int | None = None
    ended_at: int | None = None
    status: ClockStatus = ClockStatus.RUNNING

    @property
    def key(self) -> tuple[Target, int]:
        return (self.target, self.cycle)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_running(self) -> bool:
        return self.status == ClockStatus.RUNNING

    def due_at(self) -> int | None:
        """The next instant the timer must look at this clock, or None.

        A warning that would come at or after the breach is never due: the breach
        says more, and emitting both at once would only add noise.
        """
        if not self.is_running or self.breached_at is not None or self.deadline is None:
            return None
        due = self.deadline
        if self.warned_at is None and self.warn_at is not None and self.warn_at < self.deadline:
            due = min(due, self.warn_at)
        return due
