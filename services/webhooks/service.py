"""The webhooks nameko service: events in, signed HTTPS requests out.

* One idempotent handler per public exchange (routing key ``#``: every event type,
  those added later too) turns an event into deliveries, in the transaction that
  records it as processed (``intake``).
* ``deliver`` (a ``@poll`` loop) sends what is due (``sender``); ``prune`` (hourly)
  deletes finished deliveries past ``WEBHOOKS_RETENTION_DAYS`` (``retention``).
* RPC for admins (``admin``), reached through the gateway's webhook routes.

Run: ``python -m pasokh_common.runner webhooks services.webhooks.service:WebhooksService``.
"""

from __future__ import annotations

import logging
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.consumer import DeliveredEvent, idempotent_event_handler
from pasokh_common.context import CallContextProvider
from pasokh_common.errors import ServiceError
from pasokh_common.green import green_concurrently
from pasokh_common.nameko_deps import Database
from pasokh_common.poller import poll
from pasokh_common.rpc import domain_errors, rpc
from pasokh_common.rpc_metrics import EntrypointMetrics
from pasokh_common.settings import env_float

import psycopg
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from services.webhooks import intake, retention
from services.webhooks import repository as repo
from services.webhooks.admin import Endpoints
from services.webhooks.config import WebhooksConfig
from services.webhooks.context import Dependencies
from services.webhooks.interest import Interest
from services.webhooks.metrics import export_zeros
from services.webhooks.sender import Sender

log = logging.getLogger("pasokh.webhooks")
command = rpc(expected_exceptions=ServiceError)
POLL_SECONDS = env_float("WEBHOOKS_POLL_SECONDS", 1.0)
PRUNE_SECONDS = 3600


class Runtime(DependencyProvider):
    """Settings and the TLS context, made once per process: a bad setting (a CA
    bundle that cannot be read) stops the process before it takes work."""

    def setup(self) -> None:
        self.config = WebhooksConfig.from_env()
        self.tls = self.config.tls_context()
        self.interest = Interest(self.config.interest_seconds)
        self.sender: Sender | None = None
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
        )

    @property
    def _endpoints(self) -> Endpoints:
        return Endpoints(self._deps)

    # -- events ------------------------------------------------------------------------

    @idempotent_event_handler("tickets", "#", wanted=wanted_from("tickets"))
    def on_tickets_event(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        intake.receive(tx, self._deps, "tickets", event)

    @idempotent_event_handler("identity", "#", wanted=wanted_from("identity"))
    def on_identity_event(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        intake.receive(tx, self._deps, "identity", event)

    @idempotent_event_handler("sla", "#", wanted=wanted_from("sla"))
    def on_sla_event(self, tx: psycopg.Connection, event: DeliveredEvent) -> None:
        intake.receive(tx, self._deps, "sla", event)

    @idempotent_event_handler("notify", "#", wanted=wanted_from("notify"))
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

    # -- administration (admins; the gateway passes the actor from the token) ----------

    @command
    @domain_errors
    def register_endpoint(self, actor: dict, payload: dict) -> dict[str, Any]:
        answer = self._endpoints.register(actor, payload)
        self.runtime.interest.forget()
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
        self.runtime.interest.forget()
        return answer

    @command
    @domain_errors
    def enable_endpoint(self, actor: dict, endpoint_id: str) -> dict[str, Any]:
        answer = self._endpoints.enable(actor, endpoint_id)
        self.runtime.interest.forget()
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
