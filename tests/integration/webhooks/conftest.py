"""webhooks fixtures: ``WebhooksStack``, two replicas of the real service on a
RabbitMQ vhost and a database of their own, a local HTTPS receiver whose CA they
trust only through ``WEBHOOKS_CA_BUNDLE``, and events published to the public
exchanges exactly as the relays publish them.

One stack per module: tests use their own receiver paths (one endpoint each) and
their own event types or filters, so they never meet.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pasokh_common  # noqa: F401  (before psycopg)

import psycopg
import pytest
from kombu import Connection
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.standalone.events import get_event_exchange
from nameko.standalone.rpc import ClusterRpcProxy
from psycopg.rows import dict_row

from tests.integration.notify.conftest import publish
from tests.support import infra
from tests.support.processes import (
    free_port,
    http_get,
    metric_value,
    spawn,
    stop_all,
    wait_for_rpc_service,
    wait_until,
)
from tests.support.webhook_receiver import WebhookReceiver

ADMIN = {"id": "admin-1", "role": "admin"}
# Fast everything: backoff of tenths of a second, a short lease, a quick poll.
FAST_WEBHOOKS = {
    "WEBHOOKS_TIMEOUT_SECONDS": "2",
    "WEBHOOKS_LEASE_SECONDS": "4",
    "WEBHOOKS_RETRY_BASE_SECONDS": "0.1",
    "WEBHOOKS_RETRY_MAX_SECONDS": "0.3",
    "WEBHOOKS_MAX_ATTEMPTS": "3",
    "WEBHOOKS_DISABLE_AFTER": "2",
    "WEBHOOKS_POLL_SECONDS": "0.05",
    "WEBHOOKS_CONCURRENCY": "4",
    # Read the endpoints' filters for every event: a test registers an endpoint on one
    # replica and publishes at once, which the other replica may consume.
    "WEBHOOKS_INTEREST_SECONDS": "0",
    "PASOKH_CONSUMER_RETRY_DELAYS": "0.2,0.4",
    # Each replica repairs its queues' bindings every second (a test removes one).
    "WEBHOOKS_BINDINGS_RECONCILE_SECONDS": "1",
}
SERVICE = ["-m", "pasokh_common.runner", "webhooks", "services.webhooks.service:WebhooksService"]


@dataclass
class WebhooksStack:
    amqp_uri: str
    db: dict
    receiver: WebhookReceiver
    base_url: str
    logs: Path
    env: dict
    processes: dict = field(default_factory=dict)
    metrics_ports: list[int] = field(default_factory=list)

    def start_replica(self, name: str) -> None:
        port = free_port()
        env = {**self.env, "WEBHOOKS_METRICS_PORT": str(port)}
        process = spawn(SERVICE, env, self.logs / f"{name}.log")
        self.processes[name] = process
        self.metrics_ports.append(port)
        wait_for_rpc_service(self.amqp_uri, "webhooks", process)

        # Another replica may already consume the RPC queue: wait for this one's own
        # readiness (set once its consumers and poll loop have started).
        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}")
            try:
                return http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200
            except OSError:
                return False

        assert wait_until(ready, timeout=60), f"{name} did not become ready"

    def kill_all(self) -> None:
        """SIGKILL every replica (no graceful stop: work in flight is abandoned)."""
        for process in self.processes.values():
            process.kill()
            process.wait()
        self.processes.clear()
        self.metrics_ports.clear()

    @contextmanager
    def rpc(self) -> Iterator[Any]:
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=30) as cluster:
            yield cluster.webhooks

    def register(self, path: str, event_filter: list[str], **more: Any) -> dict:
        with self.rpc() as webhooks:
            return webhooks.register_endpoint(
                ADMIN, {"url": self.base_url + path, "event_filter": event_filter, **more}
            )

    def publish(self, source: str, event_type: str, data: dict, event_id: str | None = None):
        return publish(self.amqp_uri, source, event_type, data, event_id)

    def sql(self, query: str, params: tuple = ()) -> list[dict]:
        with psycopg.connect(self.db["admin_url"], row_factory=dict_row) as conn:
            return conn.execute(query, params).fetchall()

    def metric(self, name: str, **labels: str) -> float:
        """Summed over the replicas (either may have done the work)."""
        text = "\n".join(
            http_get(f"http://127.0.0.1:{port}/metrics")[1] for port in self.metrics_ports
        )
        return metric_value(text, name, **labels)


def routed(amqp_uri: str, source: str, event_type: str, data: dict | None = None) -> bool:
    """Publish an event of ``event_type`` as the relays do, ``mandatory``: whether some
    binding routed it (RabbitMQ returns an unroutable mandatory message before its
    confirm). In a vhost of webhooks alone: whether webhooks' queue is bound for it."""
    publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True)
    event_id = str(uuid.uuid4())
    try:
        publisher.publish(
            data or {"probe": True},
            exchange=get_event_exchange(source, {}),
            routing_key=event_type,
            message_id=event_id,
            type=event_type,
            headers={"cloudEvents_id": event_id, "cloudEvents_type": event_type},
        )
    except UndeliverableMessage:
        return False
    return True


def queue_depth(amqp_uri: str, queue: str) -> int:
    with Connection(amqp_uri) as conn:
        _, messages, _ = conn.channel().queue_declare(queue=queue, passive=True)
        return messages


@pytest.fixture(scope="session")
def webhooks_template(pg_admin_url: str, run_id: str, app_role: str) -> Iterator[str]:
    with infra.migrated_template(pg_admin_url, f"{run_id}_wh_tpl", "webhooks", app_role) as name:
        yield name


@pytest.fixture(scope="module")
def stack(
    backends, run_id, pg_admin_url, app_role, webhooks_template, tmp_path_factory
) -> Iterator[WebhooksStack]:
    logs = tmp_path_factory.mktemp("webhooks")
    vhost = f"{run_id}_wh{uuid.uuid4().hex[:6]}"
    amqp_uri = infra.create_vhost(backends.amqp_uri, vhost)
    receiver = WebhookReceiver(logs)
    base_url = receiver.start()
    try:
        with infra.fresh_database(pg_admin_url, webhooks_template, app_role) as db:
            stack = WebhooksStack(amqp_uri, db, receiver, base_url, logs, {})
            stack.env = {
                "AMQP_URI": amqp_uri,
                "WEBHOOKS_DATABASE_URL": db["url"],
                "WEBHOOKS_CA_BUNDLE": str(receiver.ca_path),
                **FAST_WEBHOOKS,
            }
            try:
                # Two replicas: every test also checks that they never both send.
                stack.start_replica("webhooks-1")
                stack.start_replica("webhooks-2")
                yield stack
            finally:
                stop_all(list(stack.processes.values()))
    finally:
        receiver.stop()
        infra.delete_vhost(backends.amqp_uri, vhost)
