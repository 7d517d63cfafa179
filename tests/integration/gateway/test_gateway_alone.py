"""The gateway starts with no service behind it (notify and sla do not even exist
yet): alive, not ready, and every call that needs a service is a clean 503."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.gateway.client import Api, error_of, ok
from tests.support import infra
from tests.support.processes import free_port, spawn, stop, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lonely_gateway(run_id, backends, tmp_path_factory):
    vhost = f"{run_id}_alone{uuid.uuid4().hex[:6]}"
    amqp_uri = infra.create_vhost(backends.amqp_uri, vhost)
    port = free_port()
    env = {
        "AMQP_URI": amqp_uri,
        "GATEWAY_HTTP_ADDRESS": f"127.0.0.1:{port}",
        "GATEWAY_READINESS_TIMEOUT_SECONDS": "1",
        "GATEWAY_RPC_TIMEOUT_SECONDS": "2",
    }
    logs = tmp_path_factory.mktemp("gateway-alone")
    process = spawn(
        ["-m", "pasokh_common.runner", "gateway", "gateway.service:GatewayService"],
        env,
        logs / "gateway.log",
    )
    api = Api(f"http://127.0.0.1:{port}")
    try:

        def alive() -> bool:
            assert process.poll() is None, f"the gateway exited; see {logs}"
            try:
                return api.get("/healthz").status_code == 200
            except OSError:
                return False

        assert wait_until(alive, timeout=30)
        # The HTTP server answers a moment before the runner marks the process started.
        assert wait_until(lambda: "process" not in api.get("/readyz").json()["checks"], timeout=30)
        yield api
    finally:
        stop(process)
        infra.delete_vhost(backends.amqp_uri, vhost)


def test_alive_but_not_ready_without_identity_and_tickets(lonely_gateway):
    answer = lonely_gateway.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "not ready",
        "checks": {"rabbitmq": "ok", "identity": "not running", "tickets": "not running"},
    }
    assert ok(lonely_gateway.get("/api/v1/openapi.json"))["openapi"].startswith("3.")


def test_calls_that_need_a_missing_service_are_503(lonely_gateway):
    response = lonely_gateway.post("/api/v1/auth/login", {"login": "x", "password": "y"})
    error = error_of(response, 503)
    assert error["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"
    assert error_of(lonely_gateway.get("/api/v1/me", token="a.b.c"), 503)["code"] == (
        "service_unavailable"
    )
