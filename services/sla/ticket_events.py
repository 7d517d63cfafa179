"""Reading ``tickets.events`` messages: the stream version, and the fact each carries.

The ticket stream version (header ``pasokh_stream_version``, set by the relay) is what
lets the SLA service apply a ticket's events in order and each once, whatever order
the broker, concurrent workers and retries deliver them in. A message without it
cannot be ordered and is refused (retried, then dead-lettered with the reason).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pasokh_common.consumer import DeliveredEvent

from services.sla.domain import facts

VERSION_HEADER = "pasokh_stream_version"
STREAM_HEADER = "pasokh_stream_id"
CORRELATION_HEADER = "pasokh_correlation_id"


class UnreadableTicketEvent(ValueError):
    """A message the SLA service cannot apply (no version, missing fields)."""


@dataclass(frozen=True)
class TicketMessage:
    ticket_id: str
    version: int
    event_id: str
    event_type: str
    data: Mapping[str, Any]
    correlation_id: str | None = None


def epoch(text: Any) -> int:
    """ISO-8601 with an offset (tickets writes UTC) to whole epoch seconds."""
    if not isinstance(text, str):
        raise UnreadableTicketEvent(f"expected an ISO-8601 time, got {text!r}")
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UnreadableTicketEvent(f"not an ISO-8601 time: {text!r}") from exc
    if instant.tzinfo is None:
        raise UnreadableTicketEvent(f"time without a zone: {text!r}")
    return int(instant.timestamp())


def message_of(event: DeliveredEvent) -> TicketMessage:
    data = event.data
    if not isinstance(data, Mapping) or not isinstance(data.get("ticket_id"), str):
        raise UnreadableTicketEvent(f"{event.type} {event.event_id}: no ticket_id in the body")
    raw = event.headers.get(VERSION_HEADER)
    try:
        version = int(raw)
    except (TypeError, ValueError):
        raise UnreadableTicketEvent(
            f"{event.type} {event.event_id}: header {VERSION_HEADER} missing or not a number "
            "(ticket events are applied in stream order; publish them through the relay)"
        ) from None
    if version < 1:
        raise UnreadableTicketEvent(f"{event.type} {event.event_id}: version {version} < 1")
    stream = event.headers.get(STREAM_HEADER)
    if stream is not None and str(stream) != data["ticket_id"]:
        # The version numbers another stream: applying it here would corrupt the order.
        raise UnreadableTicketEvent(
            f"{event.type} {event.event_id}: stream {stream} is not ticket {data['ticket_id']}"
        )
    correlation = event.headers.get(CORRELATION_HEADER)
    return TicketMessage(
        ticket_id=data["ticket_id"],
        version=version,
        event_id=event.event_id,
        event_type=event.type,
        data=data,
        correlation_id=str(correlation) if correlation else None,
    )


def _field(data: Mapping[str, Any], name: str) -> Any:
    if name not in data:
        raise UnreadableTicketEvent(f"field {name!r} missing")
    return data[name]


def _opened(d: Mapping[str, Any]) -> facts.Fact:
    return facts.Opened(
        ticket_id=_field(d, "ticket_id"),
        department=_field(d, "department"),
        priority=_field(d, "priority"),
        needs_follow_up=bool(d.get("needs_follow_up", False)),
        at=epoch(_field(d, "opened_at")),
        number=d.get("number"),
    )


_READERS: dict[str, Callable[[Mapping[str, Any]], facts.Fact]] = {
    "TicketOpened": _opened,
    "ReplyPosted": lambda d: facts.Replied(_field(d, "author_role"), epoch(_field(d, "posted_at"))),
    "TicketClaimed": lambda d: facts.Claimed(_field(d, "agent_id"), epoch(_field(d, "claimed_at"))),
    "TicketReleased": lambda d: facts.Released(epoch(_field(d, "released_at"))),
    "PriorityChanged": lambda d: facts.PriorityChanged(
        _field(d, "to_priority"), epoch(_field(d, "changed_at"))
    ),
    "TicketTransferred": lambda d: facts.Transferred(
        _field(d, "to_department"), epoch(_field(d, "transferred_at"))
    ),
    "TicketClosed": lambda d: facts.Closed(epoch(_field(d, "closed_at"))),
    "TicketMerged": lambda d: facts.Merged(epoch(_field(d, "merged_at"))),
    "TicketReopened": lambda d: facts.Reopened(epoch(_field(d, "reopened_at"))),
}


def fact_of(event_type: str, data: Mapping[str, Any]) -> facts.Fact:
    """The clock-relevant fact of one ticket event; others (internal notes,
    attachments, ratings, types added later) are ``Ignored`` but still counted."""
    reader = _READERS.get(event_type)
    if reader is None:
        return facts.Ignored(event_type)
    return reader(data)
