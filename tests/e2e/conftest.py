"""End-to-end: every service runs as a real process (identity, tickets, sla, notify on
the console provider, the four relays, the gateway) against real PostgreSQL and
RabbitMQ. Tests speak only HTTP to the gateway, read what reached a phone from notify's
console outbox, and ask sla over RPC what the gateway does not show yet."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from kombu import Connection, Exchange, Queue

from tests.e2e.stack import Stack, running_stack
from tests.integration.gateway.client import Person, bootstrap_admin


@pytest.fixture(scope="package")
def stack(run_id, pg_admin_url, backends, app_role, tmp_path_factory) -> Iterator[Stack]:
    with running_stack(
        run_id=run_id,
        pg_admin_url=pg_admin_url,
        base_amqp_uri=backends.amqp_uri,
        app_role=app_role,
        logs=tmp_path_factory.mktemp("e2e-stack"),
    ) as running:
        yield running


@pytest.fixture(scope="package")
def admin(stack: Stack) -> Person:
    """The first admin, made with the identity CLI as an operator would."""
    return bootstrap_admin(stack)  # type: ignore[arg-type]


@pytest.fixture
def published(stack):
    """Every message the relay publishes on ``tickets.events`` (as another internal
    system would receive them, by binding its own queue)."""
    queue = Queue(
        f"e2e-observer-{uuid.uuid4().hex[:6]}",
        Exchange("tickets.events", type="topic", durable=True),
        routing_key="#",
        auto_delete=True,
    )
    with Connection(stack.amqp_uri) as conn:
        queue(conn.channel()).declare()
        received: list[dict] = []

        def drain() -> list[dict]:
            while (message := queue(conn.default_channel).get(no_ack=True)) is not None:
                received.append(
                    {"type": message.delivery_info["routing_key"], **json.loads(message.body)}
                )
            return received

        yield drain
