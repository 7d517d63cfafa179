"""Fixtures shared by the integration tests that run Pasokh services as processes."""

from __future__ import annotations

import pytest

from tests.support.processes import free_port, spawn, stop, wait_for_rpc_service


@pytest.fixture
def running_tickets(tickets_db, amqp_uri, tmp_path):
    metrics_port = free_port()
    env = {
        "AMQP_URI": amqp_uri,
        "TICKETS_DATABASE_URL": tickets_db["url"],
        "TICKETS_METRICS_PORT": str(metrics_port),
    }
    service = spawn(
        ["-m", "pasokh_common.runner", "tickets", "services.tickets.service:TicketsService"],
        env,
        tmp_path / "tickets.log",
    )
    relay = spawn(["-m", "pasokh_common.eventlog.relay_main"], env, tmp_path / "relay.log")
    wait_for_rpc_service(amqp_uri, "tickets", service)
    yield {"amqp_uri": amqp_uri, "logs": tmp_path, "metrics": f"http://127.0.0.1:{metrics_port}"}
    stop(service)
    stop(relay)
