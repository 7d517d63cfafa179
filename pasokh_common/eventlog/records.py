"""Plain values that cross the event log's boundary."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class EventMetadata:
    """Who did it and why: the audit trail the product promises, on every event."""

    actor_id: str
    actor_role: str
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    causation_id: str | None = None
    origin: str = "rpc"

    def as_dict(self) -> dict[str, Any]:
        return {
            "actor_id": self.actor_id,
            "actor_role": self.actor_role,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class NewEvent:
    type: str
    data: dict[str, Any]
    schema_version: int = 1
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    xid: int
    stream_id: str
    version: int
    event_id: uuid.UUID
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime

    @property
    def cursor(self) -> LogCursor:
        return LogCursor(self.xid, self.position)


@dataclass(frozen=True, order=True)
class LogCursor:
    """A reader's place in the log: the (xid, position) of the last event it took."""

    xid: int = 0
    position: int = 0
