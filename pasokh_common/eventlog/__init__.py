"""The append-only event log shared by services that are event-sourced."""

from pasokh_common.eventlog.records import (
    EventMetadata,
    LogCursor,
    NewEvent,
    RecordedEvent,
)
from pasokh_common.eventlog.store import (
    Append,
    ConcurrencyConflict,
    DuplicateEvent,
    EventStore,
)

__all__ = [
    "Append",
    "ConcurrencyConflict",
    "DuplicateEvent",
    "EventMetadata",
    "EventStore",
    "LogCursor",
    "NewEvent",
    "RecordedEvent",
]
