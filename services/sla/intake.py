"""Applies ticket events to the SLA clocks: in stream order, each once.

Called by the service's ``idempotent_event_handler`` inside the transaction that
records the event id, so a redelivered event never reaches here twice. Order is the
other half: each event type has its own queue and workers run concurrently, so a
ticket's ``ReplyPosted`` may arrive before its ``TicketOpened``. Each message carries
its ticket-stream version; a message whose predecessors have not been applied yet is
held in ``sla.inbox`` and applied, in order, by the message that fills the gap.

The handler takes a whole batch of events (``receive_batch``): one statement reads
all its tickets, the events are applied in memory and one statement writes all of it;
the consumer's ``batch_lock`` holds the rules lock and every ticket's lock by then.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Sequence
from typing import Any

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
        """Apply (or hold) one delivered ticket event, taking its locks first;
        returns what happened to it."""
        return self.receive_batch(tx, [delivered], locked=False)[0]

    def receive_batch(
        self, tx: psycopg.Connection, delivered: Sequence[DeliveredEvent], locked: bool = True
    ) -> list[str]:
        """Apply (or hold) a batch of delivered ticket events, in delivery order; one
        result per event (``applied``, ``held`` or ``stale``).

        The caller holds the rules lock and every ticket's lock (the consumer's
        ``batch_lock``; ``locked=False`` takes them here). One statement reads every
        ticket of the batch, the events are applied in memory, ticket by ticket in
        delivery order (each as one-at-a-time application would: a version with a
        gap is held, the version that fills it applies the held ones after it), and
        one statement writes all of it."""
        messages = [message_of(event) for event in delivered]
        if not messages:
            return []
        if not locked:
            repo.lock_rules_and_tickets(tx, [m.ticket_id for m in messages])
        context = repo.load_for_events(tx, [m.ticket_id for m in messages])
        book = self.deps.rules.get(tx, context.rules_version)
        tickets: dict[str, _TicketRun] = {}
        results = []
        for message in messages:
            run = tickets.get(message.ticket_id)
            if run is None:
                run = tickets[message.ticket_id] = _TicketRun(
                    message.ticket_id,
                    context.stored.get(message.ticket_id),
                    dict(context.held.get(message.ticket_id, {})),
                )
            results.append(run.receive(message, book.rules_for))
        rows: list[tuple] = []
        writes: list[repo.TicketWrite] = []
        holds: list[tuple] = []
        taken: list[tuple[str, int]] = []
        observed: list[tuple[list[SlaEvent], list[Measurement]]] = []
        for ticket_id, run in tickets.items():
            holds.extend(run.new_holds())
            taken.extend((ticket_id, version) for version in sorted(run.taken))
            if run.state is None or not run.steps:
                continue
            head = run.stored.sla_version if run.stored else 0
            for step_message, events, measurements in run.steps:
                step_rows, heads = ticket_event_rows(
                    [(ticket_id, head, events)], _metadata(step_message)
                )
                rows.extend(step_rows)
                head = heads[ticket_id]
                observed.append((events, measurements))
            writes.append(
                repo.TicketWrite(run.state, head, run.stored.state if run.stored else None)
            )
        repo.save_ticket_with_events(tx, writes, rows, holds=holds, taken=taken)
        # Counted once committed: a batch that fails is rolled back and redone.
        for events, measurements in observed:
            after_commit(tx, functools.partial(observe, events, measurements))
        return results


def _metadata(message: TicketMessage) -> EventMetadata:
    return EventMetadata(
        actor_id=SYSTEM_ACTOR,
        actor_role=SYSTEM_ROLE,
        correlation_id=message.correlation_id or str(uuid.uuid4()),
        causation_id=message.event_id,
        origin="event",
    )


class _TicketRun:
    """One ticket's events of a batch, applied in memory. Pure apart from logging:
    the caller reads and writes."""

    def __init__(
        self, ticket_id: str, stored: repo.StoredTicket | None, held: dict[int, Any]
    ) -> None:
        self.ticket_id = ticket_id
        self.stored = stored
        self.state: TicketSla | None = stored.state if stored else None
        self.held = held  # version -> held row (stored ones, then this batch's)
        self.stored_held = frozenset(held)
        self.taken: set[int] = set()  # stored held versions applied by this batch
        # (the message whose step it is, the SLA events, the measurements), in order
        self.steps: list[tuple[TicketMessage, list[SlaEvent], list[Measurement]]] = []

    @property
    def applied(self) -> int:
        return self.state.version if self.state else 0

    def receive(self, message: TicketMessage, rules_for: Any) -> str:
        applied = self.applied
        extra = {"ticket_id": message.ticket_id, "version": message.version, "applied": applied}
        if message.version <= applied:
            log.info("ticket event already applied", extra=extra)
            return "stale"
        if message.version > applied + 1:
            # As ON CONFLICT DO NOTHING: a version already held keeps its first event.
            self.held.setdefault(
                message.version,
                {
                    "version": message.version,
                    "event_id": message.event_id,
                    "event_type": message.event_type,
                    "data": dict(message.data),
                },
            )
            log.info("ticket event held for an earlier version", extra=extra)
            return "held"
        events: list[SlaEvent] = []
        measurements: list[Measurement] = []
        pending: tuple[int, str, Any] | None = (
            message.version,
            message.event_type,
            message.data,
        )
        state = self.state
        while pending is not None:
            version, event_type, data = pending
            step = ticket.apply(state, fact_of(event_type, data), version, rules_for)
            state = step.state
            events.extend(step.events)
            measurements.extend(step.measurements)
            held = self.held.pop(version + 1, None)
            if held is not None and version + 1 in self.stored_held:
                self.taken.add(version + 1)
            pending = (held["version"], held["event_type"], held["data"]) if held else None
        assert state is not None  # apply() raises rather than return no state
        self.state = state
        self.steps.append((message, events, measurements))
        return "applied"

    def new_holds(self) -> list[tuple]:
        """This batch's held events still waiting at its end (to insert)."""
        return [
            (self.ticket_id, version, row["event_id"], row["event_type"], row["data"])
            for version, row in sorted(self.held.items())
            if version not in self.stored_held
        ]
