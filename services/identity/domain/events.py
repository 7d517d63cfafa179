"""The facts identity records in its own log (``identity.events``) and, once a relay
publishes it, on the ``identity.events`` exchange.

Events are seen by every subscriber, so they carry ids, roles and times, never a
phone number, a name of a person, a password hash or a code. Whoever needs a
person's details asks identity over RPC (``get_user``; ``get_contact`` for notify).
Every event knows its stream: one per user, organisation and department.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar


class IdentityEvent:
    TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1

    @property
    def stream_id(self) -> str:
        raise NotImplementedError

    def to_data(self) -> dict[str, Any]:
        data = {}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if isinstance(value, datetime):
                if value.tzinfo is None:
                    raise ValueError(f"{self.TYPE}.{field.name} must be timezone-aware")
                value = value.astimezone(UTC).isoformat()
            data[field.name] = value
        return data


def user_stream(user_id: str) -> str:
    return f"user-{user_id}"


def organisation_stream(organisation_id: str) -> str:
    return f"organisation-{organisation_id}"


def department_stream(department_id: str) -> str:
    return f"department-{department_id}"


@dataclass(frozen=True)
class OrganisationRegistered(IdentityEvent):
    """A company signed up; its first member follows as ``UserRegistered``."""

    TYPE: ClassVar[str] = "OrganisationRegistered"
    organisation_id: str
    name: str
    registered_at: datetime

    @property
    def stream_id(self) -> str:
        return organisation_stream(self.organisation_id)


@dataclass(frozen=True)
class UserRegistered(IdentityEvent):
    """A customer account exists (not yet verified). ``kind`` is person or company."""

    TYPE: ClassVar[str] = "UserRegistered"
    user_id: str
    kind: str
    role: str
    organisation_id: str | None
    language: str
    registered_at: datetime

    @property
    def stream_id(self) -> str:
        return user_stream(self.user_id)


@dataclass(frozen=True)
class UserVerified(IdentityEvent):
    """The account's owner proved they hold its phone: from now on they may log in."""

    TYPE: ClassVar[str] = "UserVerified"
    user_id: str
    kind: str
    organisation_id: str | None
    verified_at: datetime

    @property
    def stream_id(self) -> str:
        return user_stream(self.user_id)


@dataclass(frozen=True)
class PasswordChanged(IdentityEvent):
    """Every session of the account ended with it. ``method``: change or reset."""

    TYPE: ClassVar[str] = "PasswordChanged"
    user_id: str
    method: str
    changed_at: datetime

    @property
    def stream_id(self) -> str:
        return user_stream(self.user_id)


@dataclass(frozen=True)
class DepartmentCreated(IdentityEvent):
    TYPE: ClassVar[str] = "DepartmentCreated"
    department_id: str
    name: str
    created_at: datetime

    @property
    def stream_id(self) -> str:
        return department_stream(self.department_id)


@dataclass(frozen=True)
class AgentCreated(IdentityEvent):
    """A staff account (agent, supervisor or admin) was created, already trusted."""

    TYPE: ClassVar[str] = "AgentCreated"
    user_id: str
    role: str
    created_at: datetime

    @property
    def stream_id(self) -> str:
        return user_stream(self.user_id)


@dataclass(frozen=True)
class AgentAssignedToDepartment(IdentityEvent):
    """From now on the agent may work the department's tickets."""

    TYPE: ClassVar[str] = "AgentAssignedToDepartment"
    user_id: str
    department_id: str
    role: str
    assigned_at: datetime

    @property
    def stream_id(self) -> str:
        return user_stream(self.user_id)


@dataclass(frozen=True)
class AgentRemovedFromDepartment(IdentityEvent):
    TYPE: ClassVar[str] = "AgentRemovedFromDepartment"
    user_id: str
    department_id: str
    removed_at: datetime

    @property
    def stream_id(self) -> str:
        return user_stream(self.user_id)


@dataclass(frozen=True)
class UserErased(IdentityEvent):
    """The person asked to be forgotten and an admin erased the account: identity has
    dropped its phone, name, username and password (the row and id stay). Every
    subscriber must now delete or mask what it keeps about this user, including the
    texts it received in earlier events (docs/privacy.md)."""

    TYPE: ClassVar[str] = "UserErased"
    user_id: str
    erased_at: datetime

    @property
    def stream_id(self) -> str:
        return user_stream(self.user_id)


ALL_EVENT_CLASSES: tuple[type[IdentityEvent], ...] = (
    OrganisationRegistered,
    UserRegistered,
    UserVerified,
    PasswordChanged,
    DepartmentCreated,
    AgentCreated,
    AgentAssignedToDepartment,
    AgentRemovedFromDepartment,
    UserErased,
)
