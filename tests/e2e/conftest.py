"""End-to-end: every service runs as a real process (identity, tickets, sla, notify on
the console provider, the four relays, the gateway) against real PostgreSQL and
RabbitMQ. Tests speak only HTTP to the gateway, read what reached a phone from notify's
console outbox, and ask sla over RPC what the gateway does not show yet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
