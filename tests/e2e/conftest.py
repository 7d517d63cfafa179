"""End-to-end: every service that exists runs as a real process (identity with the
notify double standing in for notify, tickets, both relays, the gateway) against real
PostgreSQL and RabbitMQ, and the tests speak only HTTP to the gateway (and read the
SMS codes from the notify double's outbox, as a phone would receive them).

notify and sla do not exist yet; what awaits them is marked in each test's docstring.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.gateway.client import Person, bootstrap_admin
from tests.integration.gateway.stack import Stack, running_stack


@pytest.fixture(scope="package")
def stack(
    run_id, pg_admin_url, backends, app_role, tickets_template, tmp_path_factory
) -> Iterator[Stack]:
    with running_stack(
        run_id=run_id,
        pg_admin_url=pg_admin_url,
        base_amqp_uri=backends.amqp_uri,
        app_role=app_role,
        tickets_template=tickets_template,
        logs=tmp_path_factory.mktemp("e2e-stack"),
    ) as running:
        yield running


@pytest.fixture(scope="package")
def admin(stack: Stack) -> Person:
    """The first admin, made with the identity CLI as an operator would."""
    return bootstrap_admin(stack)
