"""The webhook admin routes through HTTP, end to end: an admin registers an endpoint,
a customer opens a ticket through the gateway, tickets' relay publishes TicketOpened,
and the webhooks service delivers it, signed, to a local HTTPS receiver; a receiver
that keeps failing gets its endpoint disabled with the reason shown to the admin.

The shared stack has no webhooks; this module starts one webhooks process on the
stack's vhost with a fresh database, its topology declared first (the deploy order).
"""

from __future__ import annotations

import time
import uuid

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common.consumer import declare_topology

import pytest

from services.webhooks.domain.signing import verify
from services.webhooks.service import WebhooksService
from tests.integration.gateway.client import (
    Person,
    error_of,
    ok,
    open_ticket,
    register_customer,
)
from tests.integration.gateway.stack import Stack
from tests.support import infra
from tests.support.processes import spawn, stop, wait_for_rpc_service, wait_until
from tests.support.webhook_receiver import WebhookReceiver

HOOKS = "/api/v1/admin/webhooks"
SERVICE = ["-m", "pasokh_common.runner", "webhooks", "services.webhooks.service:WebhooksService"]


@pytest.fixture(scope="module")
def receiver(stack: Stack, pg_admin_url: str, run_id: str, app_role: str, tmp_path_factory):
    queues = declare_topology(stack.amqp_uri, WebhooksService)
    logs = tmp_path_factory.mktemp("gateway-webhooks")
    receiver = WebhookReceiver(logs)
    base_url = receiver.start()
    tag = f"{run_id}_gwwh{uuid.uuid4().hex[:6]}_tpl"
    try:
        with (
            infra.migrated_template(pg_admin_url, tag, "webhooks", app_role) as template,
            infra.fresh_database(pg_admin_url, template, app_role) as db,
        ):
            env = {
                "AMQP_URI": stack.amqp_uri,
                "WEBHOOKS_DATABASE_URL": db["url"],
                "WEBHOOKS_CA_BUNDLE": str(receiver.ca_path),
                "WEBHOOKS_POLL_SECONDS": "0.05",
                "WEBHOOKS_RETRY_BASE_SECONDS": "0.05",
                "WEBHOOKS_RETRY_MAX_SECONDS": "0.1",
                "WEBHOOKS_MAX_ATTEMPTS": "2",
                "WEBHOOKS_DISABLE_AFTER": "1",
            }
            process = spawn(SERVICE, env, logs / "webhooks.log")
            try:
                wait_for_rpc_service(stack.amqp_uri, "webhooks", process)
                yield receiver, base_url
            finally:
                stop(process)
                infra.delete_queues(stack.amqp_uri, queues)
    finally:
        receiver.stop()


def test_an_opened_ticket_reaches_the_registered_endpoint(
    stack: Stack, admin: Person, department: str, receiver
) -> None:
    server, base_url = receiver
    path = f"/crm/{uuid.uuid4().hex[:8]}"
    created = ok(
        admin.api.post(
            HOOKS,
            {"url": base_url + path, "event_filter": ["TicketOpened"], "description": "CRM"},
        ),
        201,
    )
    assert created["secret"].startswith("whsec_")
    endpoint_id = created["endpoint_id"]
    listed = ok(admin.api.get(HOOKS))
    assert endpoint_id in [e["endpoint_id"] for e in listed]
    assert all("secret" not in e for e in listed)

    customer = register_customer(stack)
    ticket = open_ticket(customer, department)
    assert wait_until(lambda: server.received(path), timeout=30)
    (request,) = server.received(path)
    event = request.json()
    assert event["data"]["ticket_id"] == ticket["ticket_id"]
    assert event["type"] == "TicketOpened" and event["pasokhstreamversion"] == 1
    assert verify(
        created["secret"], request.headers["x-pasokh-signature"],
        request.headers["x-pasokh-timestamp"], request.body, now=time.time(),
    )  # fmt: skip

    def delivered() -> list:
        found = ok(admin.api.get(f"{HOOKS}/{endpoint_id}/deliveries?state=delivered"))
        return found

    assert wait_until(delivered)
    (delivery,) = delivered()
    assert delivery["attempt_log"][0]["status_code"] == 200
    shown = ok(admin.api.get(f"/api/v1/admin/webhook-deliveries/{delivery['delivery_id']}"))
    assert shown["event_id"] == request.headers["x-pasokh-event-id"]
    again = ok(
        admin.api.post(f"/api/v1/admin/webhook-deliveries/{delivery['delivery_id']}/redeliver"),
        202,
    )
    assert again["state"] == "pending"
    assert wait_until(lambda: len(server.received(path)) == 2)

    changed = ok(admin.api.request("PATCH", f"{HOOKS}/{endpoint_id}", json={"description": "دفتر"}))
    assert changed["description"] == "دفتر"
    ok(admin.api.delete(f"{HOOKS}/{endpoint_id}"))
    error_of(admin.api.get(f"{HOOKS}/{endpoint_id}"), 404)


def test_a_failing_endpoint_is_disabled_and_the_admin_sees_why(admin: Person, receiver) -> None:
    server, base_url = receiver
    path = f"/down/{uuid.uuid4().hex[:8]}"
    server.always(path, 500)
    endpoint_id = ok(
        admin.api.post(HOOKS, {"url": base_url + path, "event_filter": ["Nothing*"]}), 201
    )["endpoint_id"]
    ok(admin.api.post(f"{HOOKS}/{endpoint_id}/ping"), 202)

    def disabled() -> dict | None:
        shown = ok(admin.api.get(f"{HOOKS}/{endpoint_id}"))
        return shown if not shown["enabled"] else None

    assert wait_until(disabled, timeout=30)
    shown = disabled()
    assert shown["disabled_reason"] == "1 deliveries in a row failed; the last: HTTP 500"
    assert shown["disabled_by"] == "system"
    assert [e["action"] for e in shown["log"]][:1] == ["auto_disabled"]
    enabled = ok(admin.api.post(f"{HOOKS}/{endpoint_id}/enable"))
    assert enabled["enabled"] and enabled["consecutive_failures"] == 0


def test_only_admins_and_only_https(stack: Stack, admin: Person, receiver) -> None:
    refused = error_of(
        admin.api.post(HOOKS, {"url": "http://crm.example.com/x", "event_filter": ["*"]}), 400
    )
    assert refused["code"] == "validation_failed"
    assert "https" in refused["fields"]["url"][0]  # in the caller's language
    missing = error_of(admin.api.post(HOOKS, {"url": "https://crm.example.com/x"}), 400)
    assert "event_filter" in missing["fields"]
    customer = register_customer(stack)
    error_of(customer.api.get(HOOKS), 403)
    error_of(
        customer.api.post(HOOKS, {"url": "https://crm.example.com/x", "event_filter": ["*"]}),
        403,
    )
    assert "crm.example.com" not in str(ok(admin.api.get(HOOKS)))
