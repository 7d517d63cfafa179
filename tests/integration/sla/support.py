"""Ticket events as the relay delivers them, Tehran instants, and a clock tests move."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from pasokh_common.consumer import DeliveredEvent

TEHRAN = ZoneInfo("Asia/Tehran")
HOUR = 3600
ADMIN = {"id": "admin-1", "role": "admin", "departments": []}


def tehran(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Epoch seconds of a Tehran wall-clock time."""
    return int(datetime(year, month, day, hour, minute, tzinfo=TEHRAN).timestamp())


def iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


class MovableClock:
    """The service's clock, moved only by the test."""

    def __init__(self, start: int) -> None:
        self.t = start

    def now(self) -> int:
        return self.t

    def set(self, t: int) -> None:
        self.t = t


@dataclass
class TicketStream:
    """One ticket's events, numbered as the tickets log numbers them."""

    department: str = "technical"
    priority: str = "normal"
    ticket_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _versions: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def event(self, event_type: str, **data: Any) -> tuple[str, int, dict[str, Any]]:
        return event_type, next(self._versions), {"ticket_id": self.ticket_id, **data}

    def opened(self, at: int, needs_follow_up: bool = False) -> tuple[str, int, dict]:
        return self.event(
            "TicketOpened",
            number="1405-000001",
            customer_id="cust-1",
            organisation_id=None,
            department=self.department,
            subject="اینترنت قطع است",
            priority=self.priority,
            message_id=str(uuid.uuid4()),
            body="سلام",
            needs_follow_up=needs_follow_up,
            opened_at=iso(at),
        )

    def reply(self, at: int, role: str = "agent") -> tuple[str, int, dict]:
        return self.event(
            "ReplyPosted",
            message_id=str(uuid.uuid4()),
            author_id="someone",
            author_role=role,
            body="...",
            posted_at=iso(at),
        )

    def note(self, at: int) -> tuple[str, int, dict]:
        return self.event(
            "InternalNotePosted",
            message_id=str(uuid.uuid4()),
            author_id="agent-1",
            author_role="agent",
            body="یادداشت",
            posted_at=iso(at),
        )

    def priority_changed(self, at: int, to: str) -> tuple[str, int, dict]:
        return self.event(
            "PriorityChanged",
            from_priority=self.priority,
            to_priority=to,
            changed_by="sup-1",
            changed_at=iso(at),
        )

    def closed(self, at: int) -> tuple[str, int, dict]:
        return self.event(
            "TicketClosed",
            closed_by="agent-1",
            closed_by_role="agent",
            reason=None,
            closed_at=iso(at),
        )

    def reopened(self, at: int) -> tuple[str, int, dict]:
        return self.event(
            "TicketReopened", reopened_by="cust-1", reopened_by_role="customer", reopened_at=iso(at)
        )


def delivered(event: tuple[str, int, dict], event_id: str | None = None) -> DeliveredEvent:
    """What the consumer helper hands the handler for a relayed event."""
    event_type, version, data = event
    event_id = event_id or str(uuid.uuid4())
    return DeliveredEvent(
        event_id=event_id,
        type=event_type,
        data=json.loads(json.dumps(data)),
        headers=MappingProxyType(
            {
                "cloudEvents_id": event_id,
                "cloudEvents_type": event_type,
                "pasokh_stream_id": data["ticket_id"],
                "pasokh_stream_version": version,
                "pasokh_correlation_id": "corr-" + event_id[:8],
            }
        ),
        attempt=1,
        redelivered=False,
    )


def publish_ticket_event(
    amqp_uri: str, event: tuple[str, int, dict], event_id: str | None = None
) -> str:
    """As the tickets relay publishes: persistent, confirmed, message id = event id, JSON
    body, routing key = type, the CloudEvents and stream headers."""
    from kombu import Connection, Exchange, Producer

    event_type, version, data = event
    event_id = event_id or str(uuid.uuid4())
    exchange = Exchange("tickets.events", type="topic", durable=True)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn).publish(
            json.dumps(data),
            exchange=exchange,
            routing_key=event_type,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
            message_id=event_id,
            type=event_type,
            app_id="tickets",
            headers={
                "cloudEvents_id": event_id,
                "cloudEvents_type": event_type,
                "cloudEvents_source": "pasokh/tickets",
                "cloudEvents_specversion": "1.0",
                "cloudEvents_subject": data["ticket_id"],
                "pasokh_stream_id": data["ticket_id"],
                "pasokh_stream_version": version,
                "pasokh_correlation_id": "corr-" + event_id[:8],
            },
            declare=[exchange],
        )
    return event_id
