"""SLA policies (targets per priority and, optionally, department) and the rules a
ticket's clocks run under: its calendar's engine and its policy.

The defaults follow the seed: the first response ("review") within 24 business hours,
72 for tickets flagged as needing follow-up. Every number is configuration: policies
live in ``sla.policies`` and are changed over RPC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.sla.calendar import BusinessTime
from services.sla.domain.targets import Target

HOUR = 3600
DEFAULT_WARNING_SHARE = 0.8
PRIORITIES = ("low", "normal", "high", "urgent")
ANY_DEPARTMENT = "*"


@dataclass(frozen=True)
class Policy:
    """Targets in business seconds, and when to warn and to tell supervisors.

    ``warning_share`` is the share of a target at which SlaWarning is due (0 < x < 1).
    ``notify_outside_hours``: warnings and breaches that happen while the calendar is
    closed are normally held for supervisors until the next opening (``notify_at``);
    a policy may ask for them at once.
    """

    first_response: int = 24 * HOUR
    follow_up_first_response: int = 72 * HOUR
    next_reply: int = 24 * HOUR
    resolution: int = 120 * HOUR
    warning_share: float = DEFAULT_WARNING_SHARE
    notify_outside_hours: bool = False

    def __post_init__(self) -> None:
        for name in ("first_response", "follow_up_first_response", "next_reply", "resolution"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number of seconds")
        if not 0 < self.warning_share < 1:
            raise ValueError("warning_share must be between 0 and 1 (exclusive)")

    def seconds_for(self, target: Target, needs_follow_up: bool) -> int:
        if target == Target.FIRST_RESPONSE:
            return self.follow_up_first_response if needs_follow_up else self.first_response
        if target == Target.NEXT_REPLY:
            return self.next_reply
        return self.resolution

    def warning_point(self, target_seconds: int) -> int | None:
        """Business seconds used at which the warning is due; None if it would not come
        before the breach (a target of a few seconds)."""
        point = round(target_seconds * self.warning_share)
        return point if 0 < point < target_seconds else None


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Rules:
    """Everything a ticket's clocks need besides their own state."""

    calendar_id: str
    engine: BusinessTime
    policy: Policy


# (priority, department) -> the rules a ticket with them runs under now.
RulesFor = Callable[[str, str], Rules]
