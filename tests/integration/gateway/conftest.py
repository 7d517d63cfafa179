"""The gateway integration tests share one running stack (see ``stack.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.gateway.client import Person, bootstrap_admin, new_department
from tests.integration.gateway.stack import Stack, running_stack

# Small limits, so the 429 tests need few requests; every test has its own client
# address and account, so they never share a bucket.
GATEWAY_TEST_ENV = {
    "GATEWAY_RATE_AUTH": "12/60",
    "GATEWAY_RATE_OPEN_TICKET": "6/60",
    "GATEWAY_MAX_ATTACHMENTS": "2",
    "GATEWAY_PERSIAN_ONLY_DEPARTMENTS": "persian-only",
    "GATEWAY_TOKEN_CACHE_SECONDS": "2",
}


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
        logs=tmp_path_factory.mktemp("gateway-stack"),
        extra_env=GATEWAY_TEST_ENV,
    ) as running:
        yield running


@pytest.fixture(scope="package")
def admin(stack: Stack) -> Person:
    return bootstrap_admin(stack)


@pytest.fixture(scope="package")
def department(admin: Person) -> str:
    return new_department(admin, "support")
