"""The notify nameko service: thin entrypoints over intake, dispatcher, codes, queries.

* Event handlers (exactly-once, retried, dead-lettered by pasokh_common.consumer) only
  queue messages, in the transaction that records the event as processed.
* ``dispatch`` (a ``@poll`` loop) sends the queue within the rate limit.
* ``send_verification_code`` (identity only) sends at once, in the RPC worker.
* ``check_deliveries`` (a timer) turns provider reports into ``delivered``.
"""

from __future__ import annotations

import logging
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.consumer import DeliveredEvent, idempotent_event_handler, ticket_ids_of
from pasokh_common.context import CallContextProvider
from pasokh_common.errors import ServiceError
from pasokh_common.nameko_deps import Database
from pasokh_common.replay_rpc import ReplayEntrypoints
from pasokh_common.rpc import RpcProxy, domain_errors, rpc
from pasokh_common.rpc_metrics import EntrypointMetrics
from pasokh_common.settings import env_float

import psycopg
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from services.notify import repository as repo
from services.notify.admin import Templates
from services.notify.codes import CodeSender
from services.notify.config import NotifyConfig
from services.notify.contacts import ContactCache, IdentityContacts
from services.notify.context import Dependencies, SweepSchedule, green_concurrently
from services.notify.delivery import poll_deliveries
from services.notify.dispatcher import Dispatcher
from services.notify.erasure import erase_user
from services.notify.intake import Intake
from services.notify.metrics import export_zeros
from services.notify.poller import poll
from services.notify.providers import Provider, build_provider
from services.notify.queries import Queries

log = logging.getLogger(__name__)
command = rpc(expected_exceptions=ServiceError)
IDENTITY_TIMEOUT = env_float("NOTIFY_IDENTITY_TIMEOUT_SECONDS", 5.0)
POLL_SECONDS = env_float("NOTIFY_POLL_SECONDS", 0.25)
DELIVERY_POLL_SECONDS = env_float("NOTIFY_DELIVERY_POLL_SECONDS", 60.0)
# Events about a ticket may overtake its TicketOpened (one queue per event type).
# Replies and closings are held in notify.held_ticket_events and sent by the
# TicketOpened's transaction; SLA events without the ticket's number are retried
# (1, 5, 30, 120, 120, ... s) for about eight minutes before being parked.
WAIT_FOR_TICKET = 8


def lock_batch_tickets(service: Any, tx: psycopg.Connection, events: list) -> None:
    """A batch of ticket events takes its tickets' locks up front, in one order: the
    TicketOpened, ReplyPosted and TicketClosed handlers run their batches side by side
    and would otherwise deadlock, each holding one ticket and waiting for another."""
    repo.lock_tickets(tx, ticket_ids_of(events))


class Runtime(DependencyProvider):
    """Settings, the provider client and the contact cache, made once per process.
    Reading the settings at start-up makes a bad configuration stop the process before
    it takes any work."""

    def setup(self) -> None:
        self.config = NotifyConfig.from_env()
        self.provider: Provider = build_provider(self.config, self.container.config["DATABASE_URL"])
        self.cache = ContactCache(self.config.contact_cache_seconds)
        self.sweeps = SweepSchedule()
        export_zeros(self.provider.name)
        if not self.config.contact_secret:
            log.warning("IDENTITY_CONTACT_SECRET is not set: no ticket SMS can be sent")
        log.info(
            "notify configured",
            extra={
                "provider": self.provider.name,
                "rate_limit_per_second": self.config.rate_limit.per_second,
                "quiet_hours": bool(self.config.quiet_hours),
            },
        )

    def get_dependency(self, worker_ctx) -> Runtime:
        return self


class NotifyService(ReplayEntrypoints):
    """Also ``start_replay``, ``replay_status``, ``cancel_replay`` (pasokh_common.replay_rpc)."""

    name = "notify"

    db = Database()
    runtime = Runtime()
    identity = RpcProxy("identity", expiration=IDENTITY_TIMEOUT)
    context = CallContextProvider()
    metrics = EntrypointMetrics()

    @property
    def _deps(self) -> Dependencies:
        runtime = self.runtime
        contacts = IdentityContacts(
            self.identity,
            runtime.config.contact_secret,
            runtime.config.identity_timeout,
            runtime.cache,
        )
        return Dependencies(
            pool=self.db,
            config=runtime.config,
            provider=runtime.provider,
            contacts=contacts,
            run_concurrently=green_concurrently,
            sweeps=runtime.sweeps,
        )

    # -- verification codes (identity only) --------------------------------------------

    @command
    @domain_errors
    def send_verification_code(
        self, user_id: str, phone: str, code: str, purpose: str, language: str = "fa"
    ) -> dict[str, Any]:
        payload = {
            "user_id": user_id,
            "phone": phone,
            "code": code,
            "purpose": purpose,
            "language": language,
        }
        return CodeSender(self._deps).send(payload, self.context.causation_id)

    # -- queries and administration ----------------------------------------------------

    @command
    @domain_errors
    def messages_for_ticket(
        self, actor: dict, ticket_id: str, limit: int = 100
    ) -> list[dict[str, Any]]:
        return Queries(self._deps).for_ticket(actor, ticket_id, limit)

    @command
    @domain_errors
    def messages_for_user(
        self, actor: dict, user_id: str, limit: int = 100
    ) -> list[dict[str, Any]]:
        return Queries(self._deps).for_user(actor, user_id, limit)

    @command
    @domain_errors
    def list_templates(self, actor: dict) -> list[dict[str, Any]]:
        return Templates(self._deps).list(actor)

    @command
    @domain_errors
    def update_template(self, actor: dict, payload: dict) -> dict[str, Any]:
        return Templates(self._deps).update(actor, payload)

    # -- events ------------------------------------------------------------------------

    @idempotent_event_handler(
        "tickets", "TicketOpened", batch_lock=lock_batch_tickets, batch_handler=True
    )
    def on_ticket_opened(self, tx: psycopg.Connection, events: list[DeliveredEvent]) -> None:
        # batch_lock ran first in this transaction (a lone event's too): every
        # ticket's lock is held.
        Intake(self._deps).tickets_opened(tx, events)

    @idempotent_event_handler(
        "tickets", "ReplyPosted", max_attempts=WAIT_FOR_TICKET, batch_lock=lock_batch_tickets
    )
    def on_reply_posted(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        Intake(self._deps).reply_posted(tx, event)

    @idempotent_event_handler(
        "tickets", "TicketClosed", max_attempts=WAIT_FOR_TICKET, batch_lock=lock_batch_tickets
    )
    def on_ticket_closed(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        Intake(self._deps).ticket_closed(tx, event)

    @idempotent_event_handler("sla", "SlaWarning", max_attempts=WAIT_FOR_TICKET)
    def on_sla_warning(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        Intake(self._deps).sla_event(tx, event, "SlaWarning")

    @idempotent_event_handler("sla", "SlaBreached", max_attempts=WAIT_FOR_TICKET)
    def on_sla_breached(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        Intake(self._deps).sla_event(tx, event, "SlaBreached")

    @idempotent_event_handler("identity", "AgentAssignedToDepartment")
    def on_member_assigned(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        Intake(self._deps).member_assigned(tx, event)

    @idempotent_event_handler("identity", "AgentRemovedFromDepartment")
    def on_member_removed(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        Intake(self._deps).member_removed(tx, event)

    @idempotent_event_handler("identity", "UserErased")
    def on_user_erased(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        """Right to be forgotten: mask the user's numbers and texts (docs/privacy.md)."""
        user_id = str(event.data["user_id"])
        self.runtime.cache.forget(user_id)
        erase_user(tx, user_id)

    # -- sending -----------------------------------------------------------------------

    @poll(interval=POLL_SECONDS)
    def dispatch(self) -> float | None:
        return Dispatcher(self._deps).tick()

    @timer(interval=DELIVERY_POLL_SECONDS if DELIVERY_POLL_SECONDS > 0 else 3600)
    def check_deliveries(self) -> None:
        if DELIVERY_POLL_SECONDS > 0:
            poll_deliveries(self._deps)
