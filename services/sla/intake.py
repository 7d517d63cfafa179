"""Applies ticket events to the SLA clocks: in stream order, each once.

Called by the service's ``idempotent_event_handler`` inside the transaction that
records the event id, so a redelivered event never reaches here twice. Order is the
other half: each event type has its own queue and workers run concurrently, so a
ticket's ``ReplyPosted`` may arrive before its ``TicketOpened``. Each message carries
its ticket-stream version; a message whose predecessors have not been applied yet is
held in ``sla.inbox`` and applied, in order, by the message that fills the gap.
"""

from __future__ import annotations

import functools
import logging
import uuid

from pasokh_common.consumer import DeliveredEvent, after_commit
from pasokh_common.eventlog import EventMetadata

import psycopg

from services.sla import repository as repo
from services.sla.deps import Dependencies
from services.sla.domain import ticket
from services.sla.domain.events import SlaEvent
from services.sla.domain.ticket import Measurement, TicketSla
from services.sla.recorder import observe, ticket_event_rows
from services.sla.ticket_events import TicketMessage, fact_of, message_of

log = logging.getLogger("pasokh.sla.intake")
SYSTEM_ACTOR = "sla"
SYSTEM_ROLE = "system"


class TicketIntake:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    def receive(self, tx: psycopg.Connection, delivered: DeliveredEvent) -> str:
        """Apply (or hold) one delivered ticket event; returns what happened to it."""
        message = message_of(delivered)
        repo.lock_rules_and_ticket(tx, message.ticket_id)
        context = repo.load_for_event(tx, message.ticket_id)
        stored = context.stored
        applied = stored.state.version if stored else 0
        extra = {"ticket_id": message.ticket_id, "version": message.version, "applied": applied}
        if message.version <= applied:
            log.info("ticket event already applied", extra=extra)
            return "stale"
        if message.version > applied + 1:
            repo.hold(
                tx,
                message.ticket_id,
                message.version,
                message.event_id,
                message.event_type,
                dict(message.data),
            )
            log.info("ticket event held for an earlier version", extra=extra)
            return "held"
        self._apply_from(tx, message, context)
        return "applied"

    def _apply_from(
        self, tx: psycopg.Connection, message: TicketMessage, context: repo.EventContext
    ) -> None:
        stored = context.stored
        book = self.deps.rules.get(tx, context.rules_version)
        before: TicketSla | None = stored.state if stored else None
        state = before
        events: list[SlaEvent] = []
        measurements: list[Measurement] = []
        pending: tuple[int, str, object] | None = (
            message.version,
            message.event_type,
            message.data,
        )
        while pending is not None:
            version, event_type, data = pending
            step = ticket.apply(state, fact_of(event_type, data), version, book.rules_for)
            state = step.state
            events.extend(step.events)
            measurements.extend(step.measurements)
            # Only a version known to be held costs a statement (the inbox of this
            # ticket cannot change meanwhile: holding an event takes the ticket's lock).
            held = None
            if version + 1 in context.held_versions:
                held = repo.take_held(tx, message.ticket_id, version + 1)
            pending = (held["version"], held["event_type"], held["data"]) if held else None
        assert state is not None  # apply() raises rather than return no state
        metadata = EventMetadata(
            actor_id=SYSTEM_ACTOR,
            actor_role=SYSTEM_ROLE,
            correlation_id=message.correlation_id or str(uuid.uuid4()),
            causation_id=message.event_id,
            origin="event",
        )
        head = stored.sla_version if stored else 0
        rows, heads = ticket_event_rows([(state.ticket_id, head, events)], metadata)
        write = repo.TicketWrite(state, heads[state.ticket_id], before)
        repo.save_ticket_with_events(tx, write, rows)
        # Counted once committed: a batch that fails is rolled back and redone.
        after_commit(tx, functools.partial(observe, events, measurements))
