"""The webhooks nameko service: events in, signed HTTPS requests out.

* One idempotent handler per public exchange turns an event into deliveries, in the
  transaction that records it as processed (``intake``). Its queue is declared with
  no binding; ``bindings`` binds it with just the routing keys the enabled endpoints'
  filters need (at start-up, after each endpoint change, and every
  ``WEBHOOKS_BINDINGS_RECONCILE_SECONDS``), so events no endpoint wants never reach
  webhooks; ``wanted`` still drops those a filter finer than its keys does not want.
* ``deliver`` (a ``@poll`` loop) sends what is due (``sender``); ``prune`` (hourly)
  deletes finished deliveries past ``WEBHOOKS_RETENTION_DAYS`` (``retention``).
* RPC for admins (``admin``), reached through the gateway's webhook routes.

Run: ``python -m pasokh_common.runner webhooks services.webhooks.service:WebhooksService``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.consumer import (
    DeliveredEvent,
    IdempotentEventHandler,
    idempotent_event_handler,
)
from pasokh_common.context import CallContextProvider
from pasokh_common.errors import ServiceError
from pasokh_common.green import green_concurrently
from pasokh_common.nameko_deps import Database
from pasokh_common.poller import poll
from pasokh_common.rpc import domain_errors, rpc
from pasokh_common.rpc_metrics import EntrypointMetrics
from pasokh_common.settings import env_float

import psycopg
from nameko.constants import AMQP_SSL_CONFIG_KEY
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from nameko.timer import timer

from services.webhooks import intake, retention
from services.webhooks import repository as repo
from services.webhooks.admin import Endpoints
from services.webhooks.bindings import QueueBindings
from services.webhooks.config import WebhooksConfig
from services.webhooks.context import Dependencies
from services.webhooks.interest import Interest
from services.webhooks.metrics import export_zeros
from services.webhooks.sender import Sender

log = logging.getLogger("pasokh.webhooks")
command = rpc(expected_exceptions=ServiceError)
POLL_SECONDS = env_float("WEBHOOKS_POLL_SECONDS", 1.0)
PRUNE_SECONDS = 3600
RECONCILE_SECONDS = env_float("WEBHOOKS_BINDINGS_RECONCILE_SECONDS", 30.0)


class Runtime(DependencyProvider):
    """Settings and the TLS context, made once per process: a bad setting (a CA
    bundle that cannot be read) stops the process before it takes work."""

    def setup(self) -> None:
        self.config = WebhooksConfig.from_env()
        self.tls = self.config.tls_context()
        self.interest = Interest(self.config.interest_seconds)
        self.sender: Sender | None = None
        self._bindings: QueueBindings | None = None
        # The queues webhooks binds itself (bind=False), by source; named and declared
        # exactly as the handlers declare them.
        config, service_name = self.container.config, self.container.service_name
        self.queues, self.exchanges = {}, {}
        for entrypoint in self.container.entrypoints:
            if isinstance(entrypoint, IdempotentEventHandler) and not entrypoint.bind_queue:
                source = entrypoint.source_service
                layout = entrypoint.topology(service_name, entrypoint.method_name, config)
                self.queues[source] = layout.queue
                self.exchanges[source] = get_event_exchange(source, config)
        export_zeros()
        log.info(
            "webhooks configured",
            extra={
                "max_attempts": self.config.retry.max_attempts,
                "disable_after": self.config.disable_after,
                "ca_bundle": bool(self.config.ca_bundle),
                "allow_http_hosts": list(self.config.allow_http_hosts),
            },
        )

    def bindings(self, pool) -> QueueBindings:
        """One per process, over the service's pool (made on first use: the Database
        dependency's pool exists only once the container has set it up)."""
        if self._bindings is None:
            config = self.container.config
            self._bindings = QueueBindings(
                pool,
                config["AMQP_URI"],
                self.queues,
                self.exchanges,
                ssl=config.get(AMQP_SSL_CONFIG_KEY),
            )
        return self._bindings

    def get_dependency(self, worker_ctx) -> Runtime:
        return self


def wanted_from(source: str):
    """Skip, with no transaction, an event that no enabled endpoint's filter wants."""

    def wanted(service: WebhooksService, event: DeliveredEvent) -> bool:
        def load_filters() -> list:
            with service.db.connection() as conn:
                return [row["event_filter"] for row in repo.enabled_endpoints(conn)]

        return service.runtime.interest.wants(load_filters, source, event.type)

    return wanted


class WebhooksService:
    name = "webhooks"

    db = Database()
    runtime = Runtime()
    context = CallContextProvider()
    metrics = EntrypointMetrics()

    @property
    def _deps(self) -> Dependencies:
        return Dependencies(
            pool=self.db,
            config=self.runtime.config,
            tls=self.runtime.tls,
            run_concurrently=green_concurrently,
            bindings=self.runtime.bindings(self.db),
        )

    @property
    def _endpoints(self) -> Endpoints:
        return Endpoints(self._deps)

    # -- events ------------------------------------------------------------------------

    @idempotent_event_handler("tickets", "#", wanted=wanted_from("tickets"), bind=False)
    def on_tickets_event(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        intake.receive(tx, self._deps, "tickets", event)

    @idempotent_event_handler("identity", "#", wanted=wanted_from("identity"), bind=False)
    def on_identity_event(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        intake.receive(tx, self._deps, "identity", event)

    @idempotent_event_handler("sla", "#", wanted=wanted_from("sla"), bind=False)
    def on_sla_event(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        intake.receive(tx, self._deps, "sla", event)

    @idempotent_event_handler("notify", "#", wanted=wanted_from("notify"), bind=False)
    def on_notify_event(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        intake.receive(tx, self._deps, "notify", event)

    # -- sending -----------------------------------------------------------------------

    @poll(interval=POLL_SECONDS)
    def deliver(self) -> float | None:
        runtime = self.runtime
        if runtime.sender is None:
            # One per process: it remembers when it last published the backlog gauge.
            runtime.sender = Sender(self._deps)
        return runtime.sender.tick()

    @timer(interval=PRUNE_SECONDS)
    def prune(self) -> None:
        retention.prune(self._deps)

    @timer(interval=RECONCILE_SECONDS, eager=True)
    def reconcile_bindings(self) -> None:
        """At start-up and periodically: repair what drifted (a broker that lost its
        bindings, a replica that died between a commit and its unbinding)."""
        self.runtime.bindings(self.db).reconcile()

    def _interest_added(self) -> None:
        """After a change that may add interest: this replica reads the filters again
        at once; the others hold theirs up to ``WEBHOOKS_INTEREST_SECONDS``, so the
        call returns only once those have expired. An event committed after the call
        returns then reaches the queue (bound before the commit) and meets the new
        filter in every replica."""
        self.runtime.interest.forget()
        if self.runtime.config.interest_seconds > 0:
            time.sleep(self.runtime.config.interest_seconds)

    # -- administration (admins; the gateway passes the actor from the token) ----------

    @command
    @domain_errors
    def register_endpoint(self, actor: dict, payload: dict) -> dict[str, Any]:
        answer = self._endpoints.register(actor, payload)
        self._interest_added()
        return answer

    @command
    @domain_errors
    def list_endpoints(self, actor: dict) -> list[dict[str, Any]]:
        return self._endpoints.list(actor)

    @command
    @domain_errors
    def get_endpoint(self, actor: dict, endpoint_id: str) -> dict[str, Any]:
        return self._endpoints.get(actor, endpoint_id)

    @command
    @domain_errors
    def update_endpoint(self, actor: dict, endpoint_id: str, payload: dict) -> dict[str, Any]:
        answer = self._endpoints.update(actor, endpoint_id, payload)
        if isinstance(payload, dict) and "event_filter" in payload:
            self._interest_added()
        else:
            self.runtime.interest.forget()
        return answer

    @command
    @domain_errors
    def enable_endpoint(self, actor: dict, endpoint_id: str) -> dict[str, Any]:
        answer = self._endpoints.enable(actor, endpoint_id)
        self._interest_added()
        return answer

    @command
    @domain_errors
    def disable_endpoint(
        self, actor: dict, endpoint_id: str, payload: dict | None = None
    ) -> dict[str, Any]:
        return self._endpoints.disable(actor, endpoint_id, payload)

    @command
    @domain_errors
    def rotate_secret(self, actor: dict, endpoint_id: str) -> dict[str, Any]:
        return self._endpoints.rotate_secret(actor, endpoint_id)

    @command
    @domain_errors
    def delete_endpoint(self, actor: dict, endpoint_id: str) -> dict[str, Any]:
        return self._endpoints.delete(actor, endpoint_id)

    @command
    @domain_errors
    def list_deliveries(
        self, actor: dict, endpoint_id: str, query: dict | None = None
    ) -> list[dict[str, Any]]:
        return self._endpoints.deliveries(actor, endpoint_id, query)

    @command
    @domain_errors
    def get_delivery(self, actor: dict, delivery_id: str) -> dict[str, Any]:
        return self._endpoints.delivery(actor, delivery_id)

    @command
    @domain_errors
    def ping_endpoint(self, actor: dict, endpoint_id: str) -> dict[str, Any]:
        return self._endpoints.ping(actor, endpoint_id)

    @command
    @domain_errors
    def redeliver(self, actor: dict, delivery_id: str) -> dict[str, Any]:
        return self._endpoints.redeliver(actor, delivery_id)
