"""Small immutable values the ticket model is made of.

They carry no behaviour beyond what answers a question about themselves (may this
actor work in that department?), so the rules of the ticket stay in one place:
``model.Ticket``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Status(StrEnum):
    """Whose move it is. ``unanswered``: the customer waits for us; ``under_review``:
    an agent has taken it and is working on it; ``answered``: we wait for the customer;
    ``closed``: nobody waits (a merged ticket is closed too)."""

    UNANSWERED = "unanswered"
    UNDER_REVIEW = "under_review"
    ANSWERED = "answered"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SYSTEM = "system"


STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.SYSTEM})
# Roles that see and act in every department: admins, and automation acting for us.
EVERYWHERE_ROLES = frozenset({Role.ADMIN, Role.SYSTEM})
# Roles that may override another agent's hold on a ticket (reply over it, release it).
OVERRIDE_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.SYSTEM})


@dataclass(frozen=True)
class Actor:
    """Who asks. Identity vouches for all of it (the gateway reads it from the token);
    the domain only decides what this actor may do."""

    id: str
    role: Role
    departments: frozenset[str] = frozenset()
    organisation_id: str | None = None

    def __post_init__(self) -> None:
        # Accept the plain strings and lists that arrive over RPC, store the real types.
        object.__setattr__(self, "role", Role(self.role))
        object.__setattr__(self, "departments", frozenset(self.departments))

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_customer(self) -> bool:
        return self.role == Role.CUSTOMER

    @property
    def can_override(self) -> bool:
        """Supervisors, admins and the system may act over an agent's hold."""
        return self.role in OVERRIDE_ROLES

    def works_in(self, department: str) -> bool:
        if self.role in EVERYWHERE_ROLES:
            return True
        if self.role in (Role.AGENT, Role.SUPERVISOR):
            return department in self.departments
        return False


@dataclass(frozen=True)
class AttachmentRef:
    """A file already stored by the attachments store; the ticket keeps only this
    reference (and the digest, so what was sent can be proven later)."""

    attachment_id: str
    name: str
    size: int
    content_type: str
    sha256: str


@dataclass(frozen=True)
class TicketPolicy:
    """Every limit the ticket rules use, in one place so configuration can change them
    and tests can state them."""

    reopen_window: timedelta = timedelta(days=7)
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments_per_message: int = 10
    min_subject_length: int = 3
    max_subject_length: int = 200
    max_body_length: int = 20000
    max_rating_comment_length: int = 1000
    max_reason_length: int = 1000
