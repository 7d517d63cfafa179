"""People, times and ticket histories the ticket tests are written in.

A ticket is built the way production builds it: decisions produce events and the
events are applied. No state is set by hand, so a test cannot reach a state that the
rules could never produce.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.tickets.domain import (
    Actor,
    AttachmentRef,
    DomainEvent,
    Priority,
    Role,
    Ticket,
    TicketPolicy,
)

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
DEPARTMENT = "billing"
OTHER_DEPARTMENT = "sales"

# The customer who opens the tickets, a colleague at the same company, and strangers.
CUSTOMER = Actor("cust-1", Role.CUSTOMER, organisation_id="org-1")
COLLEAGUE = Actor("cust-2", Role.CUSTOMER, organisation_id="org-1")
STRANGER = Actor("cust-3", Role.CUSTOMER, organisation_id="org-2")
LONE_CUSTOMER = Actor("cust-4", Role.CUSTOMER)
OTHER_LONE_CUSTOMER = Actor("cust-5", Role.CUSTOMER)

AGENT = Actor("agent-1", Role.AGENT, frozenset({DEPARTMENT}))
OTHER_AGENT = Actor("agent-2", Role.AGENT, frozenset({DEPARTMENT}))
OUTSIDE_AGENT = Actor("agent-3", Role.AGENT, frozenset({OTHER_DEPARTMENT}))
SUPERVISOR = Actor("sup-1", Role.SUPERVISOR, frozenset({DEPARTMENT}))
OUTSIDE_SUPERVISOR = Actor("sup-2", Role.SUPERVISOR, frozenset({OTHER_DEPARTMENT}))
ADMIN = Actor("admin-1", Role.ADMIN)
SYSTEM = Actor("system", Role.SYSTEM)

POLICY = TicketPolicy()


def later(**delta: float) -> datetime:
    return NOW + timedelta(**delta)


def attachment(n: int = 1, size: int = 1000) -> AttachmentRef:
    return AttachmentRef(
        attachment_id=f"att-{n}",
        name=f"receipt-{n}.pdf",
        size=size,
        content_type="application/pdf",
        sha256=f"{n:064x}",
    )


def open_events(
    *,
    ticket_id: str = "t-1",
    number: str = "97039004",
    actor: Actor = CUSTOMER,
    department: str = DEPARTMENT,
    subject: str = "Invoice is wrong",
    priority: Priority | str = Priority.NORMAL,
    body: str = "My April invoice charges me twice.",
    attachments: Sequence[AttachmentRef] = (),
    now: datetime = NOW,
    policy: TicketPolicy = POLICY,
    customer_id: str | None = None,
    organisation_id: str | None = None,
    needs_follow_up: bool = False,
    message_id: str = "m-open",
) -> list[DomainEvent]:
    return Ticket.open(
        ticket_id=ticket_id,
        number=number,
        message_id=message_id,
        actor=actor,
        department=department,
        subject=subject,
        priority=priority,
        body=body,
        attachments=attachments,
        now=now,
        policy=policy,
        customer_id=customer_id,
        organisation_id=organisation_id,
        needs_follow_up=needs_follow_up,
    )


def opened(**kwargs) -> Ticket:
    """A freshly opened ticket (by CUSTOMER in billing unless told otherwise)."""
    return Ticket.from_events(open_events(**kwargs))


def then(ticket: Ticket, events: Sequence[DomainEvent]) -> Ticket:
    """Apply what a decision returned, as the application layer does after appending."""
    for event in events:
        ticket.apply(event)
    return ticket


def claimed(by: Actor = AGENT, **kwargs) -> Ticket:
    ticket = opened(**kwargs)
    return then(ticket, ticket.claim(by, later(minutes=5)))


def answered(by: Actor = AGENT, **kwargs) -> Ticket:
    """Claimed by ``by`` (through the reply) and answered: waiting on the customer."""
    ticket = opened(**kwargs)
    return then(ticket, ticket.post_reply(by, "Refund issued.", [], later(minutes=10), "m-a1"))


def closed(by: Actor = AGENT, at: datetime | None = None, **kwargs) -> Ticket:
    ticket = answered(**kwargs)
    return then(ticket, ticket.close(by, at or later(hours=1)))


def merged(**kwargs) -> tuple[Ticket, Ticket]:
    """(the duplicate, now merged, and the ticket it was merged into)."""
    target = opened(ticket_id="t-target", number="62662074")
    duplicate = opened(ticket_id="t-dup", number="28285140", **kwargs)
    then(duplicate, duplicate.merge_into(AGENT, target, later(hours=2)))
    return duplicate, target


def state_of(ticket: Ticket) -> dict:
    """Everything a ticket knows, to prove that a decision changed none of it."""
    return dict(vars(ticket))
