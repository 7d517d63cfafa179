"""The event queues' bindings follow the endpoints' filters: the flows in-process, on a
real database and a RabbitMQ vhost of their own, with no consumer running (so what
the bindings route stays in the queues, where a test can count it).

Whether RabbitMQ routes a key is asked the way the broker answers it: a probe
published ``mandatory`` comes back when no binding routes it.
"""

from __future__ import annotations

import ssl
import threading
import time
import uuid
from collections.abc import Iterator

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common.consumer import declare_topology
from pasokh_common.db import ConnectionPool

import pytest
from kombu import Connection
from nameko.standalone.events import get_event_exchange
from prometheus_client import REGISTRY

from services.webhooks import repository as repo
from services.webhooks.admin import Endpoints
from services.webhooks.bindings import QueueBindings
from services.webhooks.config import WebhooksConfig
from services.webhooks.context import Dependencies
from services.webhooks.domain.filters import SOURCES
from services.webhooks.service import WebhooksService
from tests.integration.webhooks.conftest import ADMIN, queue_depth, routed
from tests.support import infra

URL = "https://crm.example.ir/hooks"


HANDLERS = {
    "tickets": "on_tickets_event",
    "identity": "on_identity_event",
    "sla": "on_sla_event",
    "notify": "on_notify_event",
}


def webhooks_queues() -> dict:
    """source -> the handler's queue, exactly as the service declares it."""
    found = {}
    for source, method_name in HANDLERS.items():
        (entrypoint,) = getattr(WebhooksService, method_name).nameko_entrypoints
        found[source] = entrypoint.topology("webhooks", method_name, {}).queue
    return found


@pytest.fixture
def amqp(backends, run_id) -> Iterator[str]:
    with infra.scratch_vhost(backends.amqp_uri, f"{run_id}_whb{uuid.uuid4().hex[:6]}") as uri:
        # The deploy step first, as in production: queues, no bindings.
        declare_topology(uri, WebhooksService)
        yield uri


@pytest.fixture
def deps(amqp, pg_admin_url, webhooks_template, app_role) -> Iterator[Dependencies]:
    with infra.fresh_database(pg_admin_url, webhooks_template, app_role) as db:
        pool = ConnectionPool(db["url"], max_size=4)
        queues = webhooks_queues()
        exchanges = {s: get_event_exchange(s, {}) for s in queues}
        try:
            yield Dependencies(
                pool=pool,
                config=WebhooksConfig(),
                tls=ssl.create_default_context(),
                bindings=QueueBindings(pool, amqp, queues, exchanges),
            )
        finally:
            pool.close()


def keys_routed(amqp: str, source: str, *types: str) -> set[str]:
    return {t for t in types if routed(amqp, source, t)}


def gauge(source: str) -> float | None:
    return REGISTRY.get_sample_value("pasokh_webhooks_bound_keys", {"source": source})


def test_with_no_endpoint_nothing_is_routed_not_even_after_the_topology_step(deps):
    amqp = deps.bindings.amqp_uri
    deps.bindings.reconcile()
    declare_topology(amqp, WebhooksService)  # a later deploy binds nothing either
    for source in SOURCES:
        assert keys_routed(amqp, source, "TicketOpened", "SlaBreached", "Anything") == set()
        assert gauge(source) == 0
    assert sum(queue_depth(amqp, q.name) for q in deps.bindings.queues.values()) == 0


def test_the_bindings_follow_register_disable_enable_update_and_delete(deps):
    amqp = deps.bindings.amqp_uri
    endpoints = Endpoints(deps)
    tickets = deps.bindings.queues["tickets"].name

    endpoint = endpoints.register(ADMIN, {"url": URL, "event_filter": ["tickets.TicketOpened"]})
    endpoint_id = endpoint["endpoint_id"]
    assert keys_routed(amqp, "tickets", "TicketOpened", "TicketClosed", "X") == {"TicketOpened"}
    assert keys_routed(amqp, "identity", "TicketOpened") == set()
    assert gauge("tickets") == 1 and gauge("identity") == 0
    assert queue_depth(amqp, tickets) == 1  # the probe: RabbitMQ delivers it to webhooks

    endpoints.disable(ADMIN, endpoint_id, {"reason": "maintenance"})
    assert keys_routed(amqp, "tickets", "TicketOpened") == set()
    assert gauge("tickets") == 0

    endpoints.enable(ADMIN, endpoint_id)
    assert keys_routed(amqp, "tickets", "TicketOpened") == {"TicketOpened"}

    endpoints.update(ADMIN, endpoint_id, {"event_filter": ["tickets.TicketClosed", "SlaBreached"]})
    assert keys_routed(amqp, "tickets", "TicketOpened", "TicketClosed") == {"TicketClosed"}
    # A pattern with no source counts for every source.
    for source in SOURCES:
        assert keys_routed(amqp, source, "SlaBreached") == {"SlaBreached"}

    endpoints.update(ADMIN, endpoint_id, {"event_filter": ["sla.Sla*"]})  # a glob: '#'
    assert keys_routed(amqp, "sla", "SlaWarning", "AnyNewType") == {"SlaWarning", "AnyNewType"}
    assert keys_routed(amqp, "tickets", "TicketClosed", "SlaBreached") == set()
    assert REGISTRY.get_sample_value("pasokh_webhooks_bound_everything", {"source": "sla"}) == 1

    endpoints.delete(ADMIN, endpoint_id)
    for source in SOURCES:
        assert keys_routed(amqp, source, "SlaWarning", "TicketClosed", "Other") == set()


def test_two_endpoints_share_a_key_and_one_leaving_keeps_it(deps):
    amqp = deps.bindings.amqp_uri
    endpoints = Endpoints(deps)
    first = endpoints.register(ADMIN, {"url": URL, "event_filter": ["tickets.ReplyPosted"]})
    second = endpoints.register(
        ADMIN, {"url": URL + "/2", "event_filter": ["tickets.ReplyPosted", "tickets.TicketClosed"]}
    )
    endpoints.delete(ADMIN, second["endpoint_id"])
    assert keys_routed(amqp, "tickets", "ReplyPosted", "TicketClosed") == {"ReplyPosted"}
    endpoints.delete(ADMIN, first["endpoint_id"])
    assert keys_routed(amqp, "tickets", "ReplyPosted") == set()


def test_keys_are_bound_before_the_change_commits(deps):
    """Inside the change (not yet committed) the key already routes; an admin who
    hears "registered" can rely on every later event reaching the queue."""
    amqp = deps.bindings.amqp_uri
    with deps.bindings.change(["tickets.TicketMerged"]) as tx:
        assert routed(amqp, "tickets", "TicketMerged")
        assert tx.execute("SELECT count(*) AS n FROM webhooks.endpoints").fetchone()["n"] == 0
    # Nothing was committed that wants it: the next reconcile takes it away again.
    deps.bindings.reconcile()
    assert not routed(amqp, "tickets", "TicketMerged")


def test_a_rolled_back_change_leaves_no_binding_behind(deps):
    amqp = deps.bindings.amqp_uri
    with pytest.raises(RuntimeError), deps.bindings.change(["identity.UserVerified"]):
        assert routed(amqp, "identity", "UserVerified")
        raise RuntimeError("the change failed after binding")
    deps.bindings.reconcile()  # the key was recorded before it was bound
    assert not routed(amqp, "identity", "UserVerified")


def test_a_reconcile_waits_for_a_change_in_progress_and_keeps_its_keys(deps):
    amqp = deps.bindings.amqp_uri
    done = threading.Event()

    def reconcile() -> None:
        deps.bindings.reconcile()
        done.set()

    endpoints = Endpoints(deps)
    with deps.bindings.change(["tickets.TicketReopened"]) as tx:
        worker = threading.Thread(target=reconcile)
        worker.start()
        time.sleep(0.5)
        assert not done.is_set()  # held by the change's lock, not unbinding its key
        endpoints_row = {
            "endpoint_id": str(uuid.uuid4()),
            "url": URL,
            "description": "",
            "event_filter": ["tickets.TicketReopened"],
            "headers": {},
            "secret": "whsec_x",
            "actor": "admin-1",
            "now": deps.clock(),
        }
        repo.insert_endpoint(tx, endpoints_row)
    worker.join(timeout=10)
    assert done.is_set()
    assert routed(amqp, "tickets", "TicketReopened")
    endpoints.delete(ADMIN, endpoints_row["endpoint_id"])
    assert not routed(amqp, "tickets", "TicketReopened")


def test_reconcile_repairs_a_lost_binding_and_removes_an_old_catch_all(deps):
    amqp = deps.bindings.amqp_uri
    Endpoints(deps).register(ADMIN, {"url": URL, "event_filter": ["notify.SmsFailed"]})
    queue = deps.bindings.queues["notify"].name
    with Connection(amqp) as conn:
        channel = conn.channel()
        channel.queue_unbind(queue=queue, exchange="notify.events", routing_key="SmsFailed")
        # What the versions before bindings followed filters left: every event.
        channel.queue_bind(queue=queue, exchange="notify.events", routing_key="#")
    assert keys_routed(amqp, "notify", "SmsFailed", "SmsSent") == {"SmsFailed", "SmsSent"}
    with Connection(amqp) as conn:
        conn.channel().queue_unbind(queue=queue, exchange="notify.events", routing_key="#")
    assert not routed(amqp, "notify", "SmsFailed")

    deps.bindings.reconcile()
    assert keys_routed(amqp, "notify", "SmsFailed", "SmsSent") == {"SmsFailed"}

    with Connection(amqp) as conn:
        conn.channel().queue_bind(queue=queue, exchange="notify.events", routing_key="#")
    deps.bindings.reconcile()
    assert keys_routed(amqp, "notify", "SmsFailed", "SmsSent") == {"SmsFailed"}
