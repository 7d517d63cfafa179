"""The timer's work: find clocks whose warning or breach is due, and record each once.

Any number of replicas scan at once. Each claims due tickets with ``FOR UPDATE SKIP
LOCKED`` (a ticket another replica or an event handler holds is skipped, never waited
for), re-checks the clocks under that lock, and appends SlaWarning / SlaBreached in
the same transaction that marks the clock: a warning or breach is recorded by exactly
one of them, and a crash before commit leaves it for the next scan.
"""

from __future__ import annotations

import logging
import uuid

from pasokh_common.eventlog import EventMetadata

from services.sla import repository as repo
from services.sla.deps import Dependencies
from services.sla.domain import ticket
from services.sla.domain.policy import Rules
from services.sla.metrics import HELD_EVENTS, AtRiskReport
from services.sla.recorder import append_ticket_batches, observe

log = logging.getLogger("pasokh.sla.scanner")
# Enough to drain a backlog after downtime in one tick without holding the timer
# forever; what is left is found by the next tick.
MAX_BATCHES_PER_SCAN = 50


class DueScanner:
    def __init__(self, deps: Dependencies, report: AtRiskReport | None = None) -> None:
        self.deps = deps
        self.report = report or AtRiskReport()

    def scan(self) -> int:
        """Record everything due by now; returns the number of tickets looked at."""
        now = self.deps.clock.now()
        batch = self.deps.config.scan_batch_size
        total = 0
        for _ in range(MAX_BATCHES_PER_SCAN):
            claimed = self._scan_batch(now, batch)
            total += claimed
            if claimed < batch:
                break
        return total

    def _scan_batch(self, now: int, batch: int) -> int:
        steps = []
        with self.deps.pool.transaction() as tx:
            repo.lock_rules(tx)
            claimed = repo.claim_due(tx, now, batch)
            if not claimed:
                return 0
            book = self.deps.rules.get(tx)
            metadata = EventMetadata(
                actor_id="sla",
                actor_role="system",
                correlation_id=str(uuid.uuid4()),
                origin="timer",
            )
            for stored in claimed:
                state = stored.state
                rules = Rules(
                    state.calendar_id,
                    book.engine(state.calendar_id),
                    book.policy_for(state.priority, state.department),
                )
                steps.append((stored, ticket.fire_due(state, rules, now)))
            heads = append_ticket_batches(
                tx, [(s.state.ticket_id, s.sla_version, step.events) for s, step in steps], metadata
            )
            repo.save_tickets(
                tx,
                [
                    repo.TicketWrite(step.state, heads[s.state.ticket_id], s.state)
                    for s, step in steps
                ],
            )
        for _, step in steps:  # after the commit: counted once, by this replica
            observe(step.events, step.measurements)
        if steps:
            log.info("due clocks recorded", extra={"tickets": len(steps)})
        return len(claimed)

    def publish_gauges(self) -> None:
        with self.deps.pool.connection() as conn:
            self.report.publish(repo.at_risk_by_department(conn))
            HELD_EVENTS.set(repo.held_count(conn))
