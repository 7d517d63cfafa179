"""Events in, messages queued: what each consumed event does, inside the consumer's
transaction (the one that also records the event as processed).

Queuing is all a handler does: an INSERT keyed by the idempotency key, so the handler
is fast (a backlog of events drains in seconds), never talks to a provider or to
identity, and a redelivered event (even under another consumer name) finds the row
and adds nothing. The dispatcher sends what is queued.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import pasokh_common  # noqa: F401
from pasokh_common.consumer import DeliveredEvent

import psycopg

from services.notify import repository as repo
from services.notify import schemas
from services.notify.context import Dependencies
from services.notify.domain.errors import TicketNotKnownYet
from services.notify.domain.idempotency import message_id_for
from services.notify.domain.planning import (
    MessagePlan,
    TicketInfo,
    notify_time,
    plan_closed,
    plan_reply,
    plan_sla,
    plan_ticket_opened,
)
from services.notify.domain.quiet_hours import allowed_at
from services.notify.supervisors import record_assignment, record_removal

log = logging.getLogger(__name__)
SLA_TEMPLATES = {"SlaWarning": "sla_warning", "SlaBreached": "sla_breached"}


class Intake:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    def enqueue(
        self,
        tx: psycopg.Connection,
        event: DeliveredEvent,
        plans: Sequence[MessagePlan],
        not_before: datetime | None = None,
    ) -> int:
        """Queue each plan once; returns how many were new.

        ``not_before`` holds the messages until then (an escalation's ``notify_at``);
        quiet hours still apply from that instant, and the time to live counts from
        it too, so an escalation held over a long holiday does not expire unsent.
        """
        return repo.insert_messages(tx, self.rows(event, plans, not_before))

    def rows(
        self,
        event: DeliveredEvent,
        plans: Sequence[MessagePlan],
        not_before: datetime | None = None,
    ) -> list[dict]:
        """The ``notify.messages`` rows of ``plans`` (see ``enqueue``)."""
        now = self.deps.clock()
        config = self.deps.config
        start = max(now, not_before) if not_before is not None else now
        due = allowed_at(start, config.quiet_hours, urgent=False)
        return [
            {
                "message_id": message_id_for(plan.key),
                "idempotency_key": plan.key,
                "template": plan.template,
                "language": None,
                "urgent": False,
                "user_id": plan.user_id,
                "ticket_id": plan.ticket_id,
                "cause_event_id": event.event_id,
                "correlation_id": event.headers.get("pasokh_correlation_id"),
                "params": dict(plan.params),
                "recipient": None,
                "provider": None,
                "state": "queued",
                "attempts": 0,
                "next_attempt_at": due,
                "lease_until": None,
                "expires_at": start + timedelta(seconds=config.message_ttl_seconds),
                "created_at": now,
            }
            for plan in plans
        ]

    def _ticket(self, tx: psycopg.Connection, ticket_id: str) -> TicketInfo:
        ticket = repo.find_ticket(tx, ticket_id)
        if ticket is None:
            raise TicketNotKnownYet(f"no TicketOpened yet for {ticket_id}")
        return ticket

    def _ticket_or_hold(
        self,
        tx: psycopg.Connection,
        event: DeliveredEvent,
        ticket_id: str,
        author_role: str | None = None,
    ) -> TicketInfo | None:
        """The ticket, or None after holding the event until its TicketOpened comes
        (the queues are per event type: a reply often overtakes the opening).

        A ticket already recorded is committed, so its TicketOpened has taken every
        held event: no lock is needed. Only a ticket not found is looked for again
        under the ticket's lock (taken by the first look), which orders this with its
        TicketOpened."""
        ticket = repo.find_ticket_or_lock(tx, ticket_id)
        if ticket is not None:
            return ticket
        return repo.find_ticket_or_hold(
            tx,
            {
                "event_id": event.event_id,
                "ticket_id": ticket_id,
                "event_type": event.type,
                "author_role": author_role,
                "correlation_id": event.headers.get("pasokh_correlation_id"),
            },
        )

    # -- tickets ---------------------------------------------------------------------

    def ticket_opened(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        """One TicketOpened, taking its ticket's lock first (``tickets_opened``)."""
        data = schemas.load_event(schemas.TicketOpenedSchema(), event.data)
        repo.lock_ticket(tx, data["ticket_id"])
        self.tickets_opened(tx, [event])

    def tickets_opened(self, tx: psycopg.Connection, events: Sequence[DeliveredEvent]) -> None:
        """TicketOpened events of a batch, under all their tickets' locks (the
        consumer's ``batch_lock`` took them, in an earlier statement): every ticket,
        its messages and the events held for it taken in ONE statement, then the held
        events' messages in one more, only if there were any. A ticket opened twice
        (a second event id for it) is recorded once, by its first event, and its
        later events only queue their own messages, as one at a time would."""
        tickets: dict[str, tuple[TicketInfo, str]] = {}
        own: list[dict] = []
        for event in events:
            data = schemas.load_event(schemas.TicketOpenedSchema(), event.data)
            ticket = TicketInfo(
                data["ticket_id"], data["number"], data["customer_id"], data["department"]
            )
            tickets.setdefault(ticket.ticket_id, (ticket, data["opened_at"]))
            own += self.rows(event, plan_ticket_opened(event.event_id, ticket))
        rows = []
        taken = repo.record_tickets_and_take_held(tx, list(tickets.values()), own)
        for held in sorted(taken, key=lambda h: (h["ticket_id"], h["event_id"])):
            ticket = tickets[held["ticket_id"]][0]
            rows += self.rows(_as_delivered(held), _plans_for_held(held, ticket))
        repo.insert_messages(tx, rows)  # the held events' messages, if any

    def reply_posted(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        data = schemas.load_event(schemas.ReplyPostedSchema(), event.data)
        if data["author_role"] == "customer":
            return  # the customer is not told of their own reply
        ticket = self._ticket_or_hold(tx, event, data["ticket_id"], data["author_role"])
        if ticket is not None:
            self.enqueue(tx, event, plan_reply(event.event_id, data["author_role"], ticket))

    def ticket_closed(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        data = schemas.load_event(schemas.TicketClosedSchema(), event.data)
        ticket = self._ticket_or_hold(tx, event, data["ticket_id"])
        if ticket is not None:
            self.enqueue(tx, event, plan_closed(event.event_id, ticket))

    # -- sla -------------------------------------------------------------------------

    def sla_event(self, tx: psycopg.Connection, event: DeliveredEvent, event_type: str) -> None:
        data = schemas.load_event(schemas.SlaEventSchema(), event.data)
        ticket = repo.find_ticket(tx, data["ticket_id"])
        number = data["number"] or (ticket.number if ticket else None)
        department = data["department"] or (ticket.department if ticket else None)
        if not number or not department:
            raise TicketNotKnownYet(f"ticket {data['ticket_id']} is not known yet")
        supervisors = self.deps.supervisors.supervisors(tx, department)
        if not supervisors:
            log.warning(
                "no supervisor to tell",
                extra={"department": department, "event_id": event.event_id},
            )
        plans = plan_sla(
            event.event_id,
            SLA_TEMPLATES[event_type],
            data["ticket_id"],
            number,
            department,
            data["target"],
            data["deadline"],
            supervisors,
        )
        # sla says when supervisors may be told (next opening for a fact at night or
        # on a holiday); the schema drops fields it does not check, so read it raw.
        raw = event.data.get("notify_at") if isinstance(event.data, dict) else None
        notify_at = notify_time(raw)
        if raw is not None and notify_at is None:
            log.warning(
                "unreadable notify_at; telling at once",
                extra={"event_id": event.event_id, "notify_at": str(raw)[:60]},
            )
        self.enqueue(tx, event, plans, not_before=notify_at)

    # -- identity --------------------------------------------------------------------

    def member_assigned(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        record_assignment(tx, schemas.load_event(schemas.MembershipAssignedSchema(), event.data))

    def member_removed(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        record_removal(tx, schemas.load_event(schemas.MembershipRemovedSchema(), event.data))


def _as_delivered(held: dict) -> DeliveredEvent:
    """A held event as the plans and the queue see it (its id and correlation)."""
    headers = {"pasokh_correlation_id": held["correlation_id"]} if held["correlation_id"] else {}
    return DeliveredEvent(held["event_id"], held["event_type"], {}, headers, 1, False)


def _plans_for_held(held: dict, ticket: TicketInfo) -> list:
    if held["event_type"] == "ReplyPosted":
        return list(plan_reply(held["event_id"], held["author_role"], ticket))
    return list(plan_closed(held["event_id"], ticket))
