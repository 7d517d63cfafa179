"""The facts of a ticket's life: what is stored in the log and published on the bus.

Each event is a frozen dataclass with its wire name (``TYPE``) and the version of its
data shape (``SCHEMA_VERSION``). ``to_data`` gives the JSON stored and published;
``event_from_data`` reads it back, first passing data written under an older schema
version through the upcasters registered for it, so events written years ago stay
readable without rewriting the append-only log.

All datetimes are timezone-aware UTC: an event given any other zone is converted on
construction, and a naive datetime is refused (it would be read back as some
machine's local time).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, ClassVar

from services.tickets.domain.errors import (
    EventDecodingError,
    UnknownEventType,
    UnsupportedSchemaVersion,
)
from services.tickets.domain.values import Priority, Role

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class DomainEvent:
    """Base of every ticket event. Not a dataclass itself (so each event lists all of
    its fields in order); it gives them the shared conversions."""

    TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    # Free text a person wrote about the customer's matter: stored encrypted under the
    # customer's key and erasable by destroying it (docs/privacy.md). Ids, numbers,
    # roles, departments and times are not listed: they keep statistics working.
    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ()
    ticket_id: str

    def __post_init__(self) -> None:
        for name, (kind, optional) in _field_specs(type(self)).items():
            value = getattr(self, name)
            if value is None:
                if not optional:
                    raise TypeError(f"{self.TYPE}.{name} must not be None")
                continue
            if kind is datetime:
                object.__setattr__(self, name, _as_utc(name, value))
            elif isinstance(kind, type) and issubclass(kind, Enum):
                object.__setattr__(self, name, kind(value))
            elif kind is tuple:
                object.__setattr__(self, name, tuple(value))
            elif kind in (str, int, bool) and (
                not isinstance(value, kind) or (kind is int and isinstance(value, bool))
            ):
                raise TypeError(f"{self.TYPE}.{name} must be {kind.__name__}, got {value!r}")

    @property
    def occurred_at(self) -> datetime:
        """When it happened (each event names its own time field after its verb)."""
        for name, (kind, _optional) in _field_specs(type(self)).items():
            if kind is datetime:
                return getattr(self, name)
        raise AttributeError(f"{type(self).__name__} has no time field")

    def to_data(self) -> dict[str, Any]:
        """JSON-ready: ISO-8601 UTC strings, enum values, lists for tuples."""
        return {
            f.name: _to_json(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> DomainEvent:
        """Data of exactly this class's current schema version (no upcasting)."""
        specs = _field_specs(cls)
        missing = sorted(set(specs) - set(data))
        extra = sorted(set(data) - set(specs))
        if missing or extra:
            raise EventDecodingError(
                f"{cls.TYPE} v{cls.SCHEMA_VERSION}: missing {missing}, unexpected {extra}"
            )
        try:
            values = {}
            for name, (kind, _optional) in specs.items():
                value = data[name]
                if value is not None and kind is datetime:
                    if not isinstance(value, str):
                        raise TypeError(f"{name} must be an ISO-8601 string")
                    value = datetime.fromisoformat(value)
                values[name] = value
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise EventDecodingError(f"{cls.TYPE} v{cls.SCHEMA_VERSION}: {exc}") from exc


def _as_utc(name: str, value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got a naive datetime")
    return value.astimezone(UTC)


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_to_json(item) for item in value]
    return value


_SPECS: dict[type, dict[str, tuple[Any, bool]]] = {}


def _field_specs(cls: type) -> dict[str, tuple[Any, bool]]:
    """Field name -> (the type that matters for conversion, may it be None).
    ``str | None`` gives ``(str, True)``; ``tuple[str, ...]`` gives ``(tuple, False)``."""
    if cls not in _SPECS:
        hints = typing.get_type_hints(cls)
        specs = {}
        for f in dataclasses.fields(cls):
            hint, optional = hints[f.name], False
            if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
                args = typing.get_args(hint)
                optional = type(None) in args
                hint = next(arg for arg in args if arg is not type(None))
            specs[f.name] = (typing.get_origin(hint) or hint, optional)
        _SPECS[cls] = specs
    return _SPECS[cls]


# -- the events ------------------------------------------------------------------


@dataclass(frozen=True)
class TicketOpened(DomainEvent):
    """The opening message is part of the fact (``message_id``, ``body``); its
    attachments follow as ``AttachmentAdded`` events with the same ``message_id``."""

    TYPE: ClassVar[str] = "TicketOpened"
    SCHEMA_VERSION: ClassVar[int] = 1
    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("subject", "body")

    ticket_id: str
    number: str
    customer_id: str
    organisation_id: str | None
    department: str
    subject: str
    priority: Priority
    message_id: str
    body: str
    needs_follow_up: bool
    opened_at: datetime


@dataclass(frozen=True)
class TicketClaimed(DomainEvent):
    TYPE: ClassVar[str] = "TicketClaimed"
    SCHEMA_VERSION: ClassVar[int] = 1

    ticket_id: str
    agent_id: str
    department: str
    claimed_at: datetime


@dataclass(frozen=True)
class TicketReleased(DomainEvent):
    """``agent_id`` is who held the ticket; ``released_by`` who let it go (the same
    agent, or a supervisor taking it back)."""

    TYPE: ClassVar[str] = "TicketReleased"
    SCHEMA_VERSION: ClassVar[int] = 1

    ticket_id: str
    agent_id: str
    released_by: str
    released_at: datetime


@dataclass(frozen=True)
class ReplyPosted(DomainEvent):
    TYPE: ClassVar[str] = "ReplyPosted"
    SCHEMA_VERSION: ClassVar[int] = 1
    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("body",)

    ticket_id: str
    message_id: str
    author_id: str
    author_role: Role
    body: str
    posted_at: datetime


@dataclass(frozen=True)
class InternalNotePosted(DomainEvent):
    """Staff-only text: never shown to the customer, never notified to them."""

    TYPE: ClassVar[str] = "InternalNotePosted"
    SCHEMA_VERSION: ClassVar[int] = 1
    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("body",)

    ticket_id: str
    message_id: str
    author_id: str
    author_role: Role
    body: str
    posted_at: datetime


@dataclass(frozen=True)
class AttachmentAdded(DomainEvent):
    TYPE: ClassVar[str] = "AttachmentAdded"
    SCHEMA_VERSION: ClassVar[int] = 1
    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("name",)

    ticket_id: str
    message_id: str
    attachment_id: str
    name: str
    size: int
    content_type: str
    sha256: str
    added_at: datetime


@dataclass(frozen=True)
class TicketTransferred(DomainEvent):
    TYPE: ClassVar[str] = "TicketTransferred"
    SCHEMA_VERSION: ClassVar[int] = 1
    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("reason",)

    ticket_id: str
    from_department: str
    to_department: str
    reason: str | None
    transferred_by: str
    transferred_at: datetime


@dataclass(frozen=True)
class PriorityChanged(DomainEvent):
    TYPE: ClassVar[str] = "PriorityChanged"
    SCHEMA_VERSION: ClassVar[int] = 1

    ticket_id: str
    from_priority: Priority
    to_priority: Priority
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True)
class TicketClosed(DomainEvent):
    TYPE: ClassVar[str] = "TicketClosed"
    SCHEMA_VERSION: ClassVar[int] = 1
    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("reason",)

    ticket_id: str
    closed_by: str
    closed_by_role: Role
    reason: str | None
    closed_at: datetime


@dataclass(frozen=True)
class TicketReopened(DomainEvent):
    TYPE: ClassVar[str] = "TicketReopened"
    SCHEMA_VERSION: ClassVar[int] = 1

    ticket_id: str
    reopened_by: str
    reopened_by_role: Role
    reopened_at: datetime


@dataclass(frozen=True)
class TicketMerged(DomainEvent):
    """Recorded on the duplicate (``ticket_id``); it closes the duplicate. The
    surviving ticket's stream is not written to."""

    TYPE: ClassVar[str] = "TicketMerged"
    SCHEMA_VERSION: ClassVar[int] = 1

    ticket_id: str
    into_ticket_id: str
    into_number: str
    merged_by: str
    merged_at: datetime


@dataclass(frozen=True)
class SatisfactionRated(DomainEvent):
    TYPE: ClassVar[str] = "SatisfactionRated"
    SCHEMA_VERSION: ClassVar[int] = 1
    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("comment",)

    ticket_id: str
    customer_id: str
    score: int
    comment: str | None
    rated_at: datetime


ALL_EVENT_CLASSES: tuple[type[DomainEvent], ...] = (
    TicketOpened,
    TicketClaimed,
    TicketReleased,
    ReplyPosted,
    InternalNotePosted,
    AttachmentAdded,
    TicketTransferred,
    PriorityChanged,
    TicketClosed,
    TicketReopened,
    TicketMerged,
    SatisfactionRated,
)


# -- reading stored events back ------------------------------------------------------


class EventRegistry:
    """Event classes by wire name, and upcasters by (type, version they read).

    An upcaster takes the data of one version and returns the data of the next;
    ``decode`` chains them until the class's current ``SCHEMA_VERSION``. So when an
    event's shape changes: bump ``SCHEMA_VERSION``, change the dataclass, register one
    upcaster from the previous version, and keep it forever.
    """

    def __init__(self, classes: Iterable[type[DomainEvent]] = ()) -> None:
        self._classes: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for cls in classes:
            self.register_event(cls)

    @property
    def types(self) -> dict[str, type[DomainEvent]]:
        return dict(self._classes)

    def register_event(self, cls: type[DomainEvent]) -> type[DomainEvent]:
        if cls.TYPE in self._classes and self._classes[cls.TYPE] is not cls:
            raise ValueError(f"event type {cls.TYPE!r} is already registered")
        self._classes[cls.TYPE] = cls
        return cls

    def register_upcaster(
        self, event_type: str, from_version: int
    ) -> Callable[[Upcaster], Upcaster]:
        """Decorator: ``fn(data_of_from_version) -> data_of_from_version_plus_one``."""

        def register(fn: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._upcasters:
                raise ValueError(f"an upcaster for {key} is already registered")
            self._upcasters[key] = fn
            return fn

        return register

    def decode(self, event_type: str, data: dict[str, Any], schema_version: int = 1) -> DomainEvent:
        try:
            cls = self._classes[event_type]
        except KeyError:
            raise UnknownEventType(f"unknown ticket event type {event_type!r}") from None
        if schema_version < 1 or schema_version > cls.SCHEMA_VERSION:
            raise UnsupportedSchemaVersion(
                f"{event_type} v{schema_version}: this code reads up to v{cls.SCHEMA_VERSION}"
            )
        data = dict(data)
        for version in range(schema_version, cls.SCHEMA_VERSION):
            try:
                upcast = self._upcasters[(event_type, version)]
            except KeyError:
                raise UnsupportedSchemaVersion(
                    f"{event_type}: no upcaster from v{version} to v{version + 1}"
                ) from None
            data = upcast(data)
        return cls.from_data(data)


REGISTRY = EventRegistry(ALL_EVENT_CLASSES)
PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    cls.TYPE: cls.PERSONAL_FIELDS for cls in ALL_EVENT_CLASSES if cls.PERSONAL_FIELDS
}
EVENT_TYPES: dict[str, type[DomainEvent]] = REGISTRY.types


def event_from_data(event_type: str, data: dict[str, Any], schema_version: int = 1) -> DomainEvent:
    """A stored or received event back as its class, upcast from older versions."""
    return REGISTRY.decode(event_type, data, schema_version)
