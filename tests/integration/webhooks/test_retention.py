"""Retention on a real database: finished deliveries past WEBHOOKS_RETENTION_DAYS go
(with their attempts), everything else stays. The flows run in-process here (the
sweep is a plain function; the service only calls it hourly)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common.db import ConnectionPool

import pytest

from services.webhooks import retention
from services.webhooks.admin import Endpoints
from services.webhooks.config import WebhooksConfig
from services.webhooks.context import Dependencies
from services.webhooks.intake import create_deliveries
from tests.integration.webhooks.conftest import ADMIN
from tests.support import infra

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def deps(pg_admin_url: str, webhooks_template: str, app_role: str) -> Iterator[Dependencies]:
    with infra.fresh_database(pg_admin_url, webhooks_template, app_role) as db:
        pool = ConnectionPool(db["url"], max_size=2)
        try:
            yield Dependencies(
                pool=pool,
                config=WebhooksConfig(retention_days=30),
                tls=ssl.create_default_context(),
                clock=lambda: NOW,
            )
        finally:
            pool.close()


def test_old_finished_deliveries_are_deleted_and_nothing_else(deps: Dependencies):
    endpoint = Endpoints(deps).register(
        ADMIN, {"url": "https://crm.example.ir/hooks", "event_filter": ["*"]}
    )
    endpoints = [{"endpoint_id": endpoint["endpoint_id"], "event_filter": ["*"]}]
    cases = {  # event id: (state, days since it finished or was made)
        "old-delivered": ("delivered", 31),
        "old-failed": ("failed", 40),
        "recent": ("delivered", 29),
        "old-pending": ("pending", 90),
    }
    with deps.pool.transaction() as tx:
        for event_id, (state, days) in cases.items():
            (delivery_id,) = create_deliveries(
                tx, deps, "tickets", event_id, "TicketOpened", {}, endpoints=endpoints
            )
            at = NOW - timedelta(days=days)
            tx.execute(
                "UPDATE webhooks.deliveries SET state = %s, finished_at = %s"
                " WHERE delivery_id = %s",
                (state, None if state == "pending" else at, delivery_id),
            )
            tx.execute(
                "INSERT INTO webhooks.attempts (delivery_id, number, started_at, duration_ms,"
                " outcome) VALUES (%s, 1, %s, 5, 'retry')",
                (delivery_id, at),
            )

    assert retention.prune(deps, batch=1) == 2  # several batches

    with deps.pool.connection() as conn:
        left = {r["event_id"] for r in conn.execute("SELECT event_id FROM webhooks.deliveries")}
        attempts = conn.execute("SELECT count(*) AS n FROM webhooks.attempts").fetchone()["n"]
        logged = conn.execute("SELECT count(*) AS n FROM webhooks.endpoint_log").fetchone()["n"]
    assert left == {"recent", "old-pending"}
    assert attempts == 2
    assert logged == 1  # the endpoint's log is kept
    assert retention.prune(deps) == 0


def test_zero_days_keeps_everything(deps: Dependencies):
    deps.config = WebhooksConfig(retention_days=0)
    assert retention.prune(deps) == 0
