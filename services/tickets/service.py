"""The tickets nameko service: thin RPC entrypoints over the application layer."""

from __future__ import annotations

import logging
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.consumer import DeliveredEvent, idempotent_event_handler
from pasokh_common.context import CallContextProvider
from pasokh_common.errors import ServiceError
from pasokh_common.nameko_deps import Database
from pasokh_common.replay_rpc import ReplayEntrypoints
from pasokh_common.rpc import domain_errors, rpc
from pasokh_common.rpc_metrics import EntrypointMetrics

import psycopg
from nameko.timer import timer

from services.tickets.aggregate_cache import TicketCacheProvider
from services.tickets.application import TicketCommands
from services.tickets.membership import record_assignment, record_removal
from services.tickets.open_tickets_gauge import OpenTicketsGauge
from services.tickets.privacy import erase_customer
from services.tickets.queries import TicketQueries
from services.tickets.similarity import similar_open_tickets
from services.tickets.sla_deadlines import record_many_targets, record_warning

command = rpc(expected_exceptions=ServiceError)
log = logging.getLogger(__name__)


class TicketsService(ReplayEntrypoints):
    """Also ``start_replay``, ``replay_status``, ``cancel_replay`` (pasokh_common.replay_rpc)."""

    name = "tickets"

    db = Database()
    context = CallContextProvider()
    metrics = EntrypointMetrics()
    open_tickets = OpenTicketsGauge()
    ticket_cache = TicketCacheProvider()

    @property
    def _commands(self) -> TicketCommands:
        return TicketCommands(self.db, cache=self.ticket_cache)

    @property
    def _queries(self) -> TicketQueries:
        return TicketQueries(self.db)

    # -- what identity tells us -------------------------------------------------------

    @idempotent_event_handler("identity", "AgentAssignedToDepartment")
    def on_agent_assigned(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        record_assignment(tx, event.data)

    @idempotent_event_handler("identity", "AgentRemovedFromDepartment")
    def on_agent_removed(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        record_removal(tx, event.data)

    @idempotent_event_handler("identity", "UserErased")
    def on_user_erased(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        """Right to be forgotten: destroy the customer's key, scrub the copies."""
        erase_customer(tx, event.data["user_id"])

    @idempotent_event_handler("sla", "SlaTargetsSet", batch_handler=True)
    def on_sla_targets_set(self, tx: psycopg.Connection, events: list[DeliveredEvent]) -> None:
        record_many_targets(tx, [event.data for event in events])

    @idempotent_event_handler("sla", "SlaWarning")
    def on_sla_warning(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        record_warning(tx, event.data)

    # -- commands --------------------------------------------------------------------

    @command
    @domain_errors
    def upload_attachment(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._commands.upload_attachment(actor, payload)

    @command
    @domain_errors
    def open_ticket(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._commands.open_ticket(actor, payload, self.context)

    @command
    @domain_errors
    def open_ticket_unless_similar(
        self, actor: dict, payload: dict, similar: dict | None = None
    ) -> dict[str, Any]:
        """The gateway's opening in one RPC: when ``similar`` carries the duplicate
        check's parameters (``similar_open_tickets``) and finds an open ticket like
        this one, ``{"similar": items}`` and nothing is opened; else
        ``{"ticket": ...}`` as ``open_ticket`` answers. The check is a read of the
        opening's own transaction (with the ticket's number, one statement). As with
        two separate calls, two openings racing each other may both pass
        (discouragement, not a rule)."""
        return self._commands.open_ticket_unless_similar(actor, payload, similar, self.context)

    @command
    @domain_errors
    def claim(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._commands.claim(actor, payload, self.context)

    @command
    @domain_errors
    def release(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._commands.release(actor, payload, self.context)

    @command
    @domain_errors
    def post_reply(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._commands.post_reply(actor, payload, self.context)

    @command
    @domain_errors
    def post_internal_note(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._commands.post_internal_note(actor, payload, self.context)

    @command
    @domain_errors
    def transfer(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._commands.transfer(actor, payload, self.context)

    @command
    @domain_errors
    def change_priority(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._commands.change_priority(actor, payload, self.context)

    @command
    @domain_errors
    def close(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._commands.close(actor, payload, self.context)

    @command
    @domain_errors
    def reopen(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._commands.reopen(actor, payload, self.context)

    @command
    @domain_errors
    def merge(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._commands.merge(actor, payload, self.context)

    @command
    @domain_errors
    def rate(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._commands.rate(actor, payload, self.context)

    # -- queries ---------------------------------------------------------------------

    @command
    @domain_errors
    def get_ticket(self, actor: dict, ticket_id: str) -> dict[str, Any]:
        return self._queries.get_ticket(actor, ticket_id)

    @command
    @domain_errors
    def list_mine(self, actor: dict, params: dict | None = None) -> dict[str, Any]:
        return self._queries.list_mine(actor, params)

    @command
    @domain_errors
    def queue(self, actor: dict, params: dict) -> dict[str, Any]:
        return self._queries.queue(actor, params)

    @command
    @domain_errors
    def department_counts(self, actor: dict, department: str) -> dict[str, int]:
        return self._queries.department_counts(actor, department)

    @command
    @domain_errors
    def find_by_number(self, actor: dict, params: dict) -> dict[str, Any]:
        return self._queries.find_by_number(actor, params)

    @command
    @domain_errors
    def history(self, actor: dict, ticket_id: str) -> list[dict[str, Any]]:
        return self._queries.history(actor, ticket_id)

    @command
    @domain_errors
    def export_audit_trail(
        self, actor: dict, ticket_id: str, output: str = "json"
    ) -> dict[str, Any]:
        return self._queries.export_audit_trail(actor, ticket_id, output)

    @command
    @domain_errors
    def download_attachment(self, actor: dict, attachment_id: str) -> dict[str, Any]:
        return self._queries.download_attachment(actor, attachment_id)

    # -- duplicate discouragement (issue 6; services/tickets/similarity.py) ------------

    @command
    @domain_errors
    def similar_open_tickets(self, actor: dict, params: dict) -> dict[str, Any]:
        return similar_open_tickets(self.db, actor, params)

    # -- housekeeping ----------------------------------------------------------------

    @timer(interval=3600)
    def purge_unused_uploads(self) -> None:
        purged = self._commands.purge_unused_uploads()
        if purged:
            log.info("purged unused uploads", extra={"purged": purged})
