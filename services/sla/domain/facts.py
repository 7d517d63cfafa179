"""What the SLA clocks learn from a ticket's events, reduced to what they need.

The application turns ``tickets.events`` messages into these (``ticket_events.py``);
the domain never sees JSON or ISO strings. Instants are epoch seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

# Reply authors whose public reply answers the customer. ``system`` (automation, e.g.
# an auto-acknowledgement) does not: a robot's "we got your message" is no response.
RESPONDER_ROLES = frozenset({"agent", "supervisor", "admin"})


@dataclass(frozen=True)
class Opened:
    ticket_id: str
    department: str
    priority: str
    needs_follow_up: bool
    at: int
    number: str | None = None  # the human ticket number, carried on for notify's texts


@dataclass(frozen=True)
class Replied:
    """A public reply (``ReplyPosted``); internal notes never arrive as this."""

    author_role: str
    at: int

    @property
    def by_customer(self) -> bool:
        return self.author_role == "customer"

    @property
    def by_staff(self) -> bool:
        return self.author_role in RESPONDER_ROLES


@dataclass(frozen=True)
class Claimed:
    agent_id: str
    at: int


@dataclass(frozen=True)
class Released:
    at: int


@dataclass(frozen=True)
class PriorityChanged:
    priority: str
    at: int


@dataclass(frozen=True)
class Transferred:
    department: str
    at: int


@dataclass(frozen=True)
class Closed:
    at: int


@dataclass(frozen=True)
class Merged:
    """The duplicate is closed into another ticket: its clocks stop without a verdict."""

    at: int


@dataclass(frozen=True)
class Reopened:
    at: int


@dataclass(frozen=True)
class Ignored:
    """An event with no bearing on the clocks (note, attachment, rating, or a type
    added to tickets later): it still advances the applied stream version."""

    event_type: str


Fact = (
    Opened
    | Replied
    | Claimed
    | Released
    | PriorityChanged
    | Transferred
    | Closed
    | Merged
    | Reopened
    | Ignored
)
