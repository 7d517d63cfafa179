"""The facts the SLA service records in ``sla.events`` (published on ``sla.events``).

Ticket events (stream ``ticket-<ticket_id>``): ``SlaTargetsSet`` whenever the deadlines
shown for a ticket change, ``SlaWarning``, ``SlaBreached`` and ``SlaMet`` once per
target instance. Rules events record every admin change of calendars and policies.
Instants are epoch seconds inside the domain and ISO-8601 UTC strings on the wire,
like every Pasokh event.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar


def iso(t: int | None) -> str | None:
    """Epoch seconds as ISO-8601 UTC (``2026-03-18T12:30:00+00:00``), as tickets writes."""
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat()


class SlaEvent:
    TYPE: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1

    @property
    def type_name(self) -> str:
        return self.TYPE

    @property
    def stream_id(self) -> str:
        raise NotImplementedError

    def to_data(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class TargetView:
    """One open target as SlaTargetsSet shows it; ``deadline`` is None while paused."""

    target: str
    cycle: int
    status: str
    started_at: int
    deadline: int | None
    target_seconds: int
    used_seconds: int

    def to_data(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "cycle": self.cycle,
            "status": self.status,
            "started_at": iso(self.started_at),
            "deadline": iso(self.deadline),
            "target_seconds": self.target_seconds,
            "used_seconds": self.used_seconds,
        }


@dataclass(frozen=True)
class TicketRef:
    """What every ticket-level SLA event says about the ticket, for routing (notify
    finds the department's supervisors) and for labels (reports by priority)."""

    ticket_id: str
    department: str
    priority: str
    calendar_id: str
    assignee_id: str | None = None
    number: str | None = None


@dataclass(frozen=True)
class SlaTargetsSet(SlaEvent):
    TYPE: ClassVar[str] = "SlaTargetsSet"
    ticket: TicketRef
    reason: str
    set_at: int
    targets: tuple[TargetView, ...] = field(default_factory=tuple)

    @property
    def stream_id(self) -> str:
        return f"ticket-{self.ticket.ticket_id}"

    def to_data(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket.ticket_id,
            "number": self.ticket.number,
            "department": self.ticket.department,
            "priority": self.ticket.priority,
            "calendar_id": self.ticket.calendar_id,
            "reason": self.reason,
            "set_at": iso(self.set_at),
            "targets": [view.to_data() for view in self.targets],
        }


@dataclass(frozen=True)
class _TargetEvent(SlaEvent):
    ticket: TicketRef
    target: str
    cycle: int
    # None only for a resolution met while paused (closed while waiting on the
    # customer): a paused clock has no deadline.
    deadline: int | None
    target_seconds: int

    @property
    def stream_id(self) -> str:
        return f"ticket-{self.ticket.ticket_id}"

    def _common(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket.ticket_id,
            "number": self.ticket.number,
            "department": self.ticket.department,
            "priority": self.ticket.priority,
            "calendar_id": self.ticket.calendar_id,
            "assignee_id": self.ticket.assignee_id,
            "target": self.target,
            "cycle": self.cycle,
            "deadline": iso(self.deadline),
            "target_seconds": self.target_seconds,
        }


@dataclass(frozen=True)
class SlaWarning(_TargetEvent):
    TYPE: ClassVar[str] = "SlaWarning"
    warned_at: int = 0
    notify_at: int = 0
    used_seconds: int = 0

    def to_data(self) -> dict[str, Any]:
        return {
            **self._common(),
            "warned_at": iso(self.warned_at),
            "notify_at": iso(self.notify_at),
            "used_seconds": self.used_seconds,
        }


@dataclass(frozen=True)
class SlaBreached(_TargetEvent):
    TYPE: ClassVar[str] = "SlaBreached"
    breached_at: int = 0
    notify_at: int = 0

    def to_data(self) -> dict[str, Any]:
        return {
            **self._common(),
            "breached_at": iso(self.breached_at),
            "notify_at": iso(self.notify_at),
        }


@dataclass(frozen=True)
class SlaMet(_TargetEvent):
    TYPE: ClassVar[str] = "SlaMet"
    met_at: int = 0
    business_seconds: int = 0

    def to_data(self) -> dict[str, Any]:
        return {
            **self._common(),
            "met_at": iso(self.met_at),
            "business_seconds": self.business_seconds,
        }


# -- changes of the rules (admin RPC) ------------------------------------------------
#
# One class per kind of admin change, so each has a published schema like every other
# event (docs/schemas/sla/). Instants are epoch seconds here and ISO-8601 on the wire.


def _wire(value: Any, name: str) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and name.endswith("_at"):
        return iso(value)
    if dataclasses.is_dataclass(value):
        return {f.name: _wire(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_wire(item, name) for item in value]
    if isinstance(value, dict):
        return {key: _wire(item, name) for key, item in value.items()}
    return value


class RulesChange(SlaEvent):
    """An admin change of calendars, holidays or policies: every field on the wire."""

    def to_data(self) -> dict[str, Any]:
        return _wire(self, "")


@dataclass(frozen=True)
class CalendarSettings:
    """A calendar's settings as saved; ``weekly_schedule`` null: the default week
    (Saturday-Wednesday 09:00-17:00, docs/sla-calendar.md)."""

    time_zone: str
    weekly_schedule: dict[str, tuple[str, ...]] | None
    official_holidays: bool
    esfand_30_holiday: bool
    horizon_days: int

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> CalendarSettings:
        schedule = settings.get("weekly_schedule")
        return cls(
            time_zone=settings.get("time_zone", "Asia/Tehran"),
            weekly_schedule=None
            if schedule is None
            else {day: tuple(spans) for day, spans in schedule.items()},
            official_holidays=bool(settings.get("official_holidays", True)),
            esfand_30_holiday=bool(settings.get("esfand_30_holiday", True)),
            horizon_days=int(settings.get("horizon_days", 366)),
        )


@dataclass(frozen=True)
class CalendarSaved(RulesChange):
    """A calendar was created (``created``) or its settings replaced whole."""

    TYPE: ClassVar[str] = "CalendarSaved"
    calendar_id: str
    name: str
    settings: CalendarSettings
    created: bool
    changed_at: int

    @property
    def stream_id(self) -> str:
        return f"calendar-{self.calendar_id}"


@dataclass(frozen=True)
class HolidayOverrideSet(RulesChange):
    """An admin declared a date closed (an extra holiday) or open (a cancelled one)."""

    TYPE: ClassVar[str] = "HolidayOverrideSet"
    calendar_id: str
    date: str
    jalali: str
    closed: bool
    name_fa: str | None
    name_en: str | None
    changed_at: int

    @property
    def stream_id(self) -> str:
        return f"calendar-{self.calendar_id}"


@dataclass(frozen=True)
class HolidayOverrideCleared(RulesChange):
    """The date follows the official calendar again; ``existed``: there was an override."""

    TYPE: ClassVar[str] = "HolidayOverrideCleared"
    calendar_id: str
    date: str
    jalali: str
    existed: bool
    changed_at: int

    @property
    def stream_id(self) -> str:
        return f"calendar-{self.calendar_id}"


@dataclass(frozen=True)
class DepartmentCalendarBound(RulesChange):
    """The department's tickets are measured in this calendar's business hours."""

    TYPE: ClassVar[str] = "DepartmentCalendarBound"
    department: str
    calendar_id: str
    changed_at: int

    @property
    def stream_id(self) -> str:
        return f"department-{self.department}"


@dataclass(frozen=True)
class SlaPolicySet(RulesChange):
    """Targets (business seconds) for a priority in a department (``*``: every one)."""

    TYPE: ClassVar[str] = "SlaPolicySet"
    priority: str
    department: str
    first_response_seconds: int
    follow_up_first_response_seconds: int
    next_reply_seconds: int
    resolution_seconds: int
    warning_share: float | None
    notify_outside_hours: bool
    changed_at: int

    @property
    def stream_id(self) -> str:
        return f"policy-{self.priority}-{self.department}"


@dataclass(frozen=True)
class SlaPolicyRemoved(RulesChange):
    """A department's own policy went; the ``*`` policy applies to it again."""

    TYPE: ClassVar[str] = "SlaPolicyRemoved"
    priority: str
    department: str
    changed_at: int

    @property
    def stream_id(self) -> str:
        return f"policy-{self.priority}-{self.department}"


@dataclass(frozen=True)
class HolidayFileLoaded(RulesChange):
    """The operator's holiday data file changed (sha256 ``digest``; Jalali ``years``)."""

    TYPE: ClassVar[str] = "HolidayFileLoaded"
    digest: str
    years: tuple[str, ...]
    loaded_at: int

    @property
    def stream_id(self) -> str:
        return "holiday-file"


RULES_EVENT_CLASSES: tuple[type[RulesChange], ...] = (
    CalendarSaved,
    HolidayOverrideSet,
    HolidayOverrideCleared,
    DepartmentCalendarBound,
    SlaPolicySet,
    SlaPolicyRemoved,
    HolidayFileLoaded,
)
