"""The facts the SLA service records in ``sla.events`` (published on ``sla.events``).

Ticket events (stream ``ticket-<ticket_id>``): ``SlaTargetsSet`` whenever the deadlines
shown for a ticket change, ``SlaWarning``, ``SlaBreached`` and ``SlaMet`` once per
target instance. Rules events record every admin change of calendars and policies.
Instants are epoch seconds inside the domain and ISO-8601 UTC strings on the wire,
like every Pasokh event.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class RulesEvent(SlaEvent):
    """An admin change: its data is given whole by the application (already plain)."""

    kind: str
    stream: str
    data: dict[str, Any]

    @property
    def type_name(self) -> str:
        return self.kind

    @property
    def stream_id(self) -> str:
        return self.stream

    def to_data(self) -> dict[str, Any]:
        return dict(self.data)
