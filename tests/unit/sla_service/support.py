"""Calendars, rules and Tehran instants for the SLA state-machine tests (no I/O)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.sla.calendar import ALWAYS_OPEN, BusinessCalendar, business_time
from services.sla.domain.policy import Policy, Rules

TEHRAN = ZoneInfo("Asia/Tehran")
HOUR = 3600
DEFAULT = Rules("default", business_time(BusinessCalendar()), Policy())
ROUND_THE_CLOCK = BusinessCalendar(schedule=ALWAYS_OPEN, official_holidays=False)
ALWAYS = Rules("always", business_time(ROUND_THE_CLOCK), Policy())


def tehran(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=TEHRAN).timestamp())


class RulesTable:
    """``rules_for`` as the service's RulesBook answers it: per (priority, department),
    with the default calendar and policy for anything not listed."""

    def __init__(self, **by_department: Rules) -> None:
        self.by_department = by_department
        self.by_priority: dict[str, Policy] = {}

    def __call__(self, priority: str, department: str) -> Rules:
        rules = self.by_department.get(department, DEFAULT)
        policy = self.by_priority.get(priority)
        return Rules(rules.calendar_id, rules.engine, policy) if policy else rules


# Wednesday 27 Esfand 1404, 16:00: the hand-checked ticket before Nowruz 1405.
OPENED = tehran(2026, 3, 18, 16)
DUE_24H = tehran(2026, 3, 29, 16)
WARN_24H = tehran(2026, 3, 29, 11, 12)  # 80 % = 19.2 h used
