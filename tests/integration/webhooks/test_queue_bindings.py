"""The service (two replicas) binds its event queues with what the endpoints' filters
need, and nothing else: with no endpoint RabbitMQ delivers webhooks nothing.

A stack of its own (the module's first test needs no endpoint at all). Whether a key
is routed is asked with a ``mandatory`` publish (``conftest.routed``): in this vhost
only webhooks' queues are bound, so "routed" means "delivered to webhooks".
"""

from __future__ import annotations

import uuid

from kombu import Connection

from services.webhooks.domain.filters import SOURCES
from tests.integration.webhooks.conftest import ADMIN, WebhooksStack, queue_depth, routed
from tests.support.processes import http_get, metric_value, wait_until

TYPES = ("TicketOpened", "ReplyPosted", "UserVerified", "SlaBreached", "SmsSent", "Other")


def queue(source: str) -> str:
    return f"evt-{source}-#--webhooks.on_{source}_event"


def consumed(stack: WebhooksStack) -> float:
    return sum(
        stack.metric(name)
        for name in (
            "pasokh_consumer_processed_total",
            "pasokh_consumer_ignored_total",
            "pasokh_consumer_duplicates_total",
        )
    )


def bound_keys(stack: WebhooksStack, source: str) -> list[float]:
    """Each replica's gauge (each reconciles on its own)."""
    return [
        metric_value(
            http_get(f"http://127.0.0.1:{port}/metrics")[1],
            "pasokh_webhooks_bound_keys",
            source=source,
        )
        for port in stack.metrics_ports
    ]


def new_path() -> str:
    return f"/hooks/{uuid.uuid4().hex[:10]}"


def test_with_no_endpoint_rabbitmq_delivers_nothing_to_webhooks(stack: WebhooksStack):
    # Both replicas have reconciled at least once since they started.
    assert wait_until(
        lambda: stack.metric("pasokh_webhooks_binding_reconciles_total", outcome="ok") >= 2
    )
    before = consumed(stack)
    for source in SOURCES:
        for event_type in TYPES:
            assert not routed(stack.amqp_uri, source, event_type), (source, event_type)
    for source in SOURCES:
        assert queue_depth(stack.amqp_uri, queue(source)) == 0
        assert bound_keys(stack, source) == [0, 0]
    assert consumed(stack) == before


def test_an_endpoint_binds_only_its_keys_for_as_long_as_it_is_enabled(stack: WebhooksStack):
    path = new_path()
    endpoint = stack.register(path, ["tickets.TicketOpened"])
    endpoint_id = endpoint["endpoint_id"]
    assert not routed(stack.amqp_uri, "tickets", "TicketClosed")
    assert not routed(stack.amqp_uri, "identity", "TicketOpened")
    assert 1 in bound_keys(stack, "tickets")  # the replica that registered it

    # Bound before register_endpoint returned: the next event reaches the endpoint.
    assert routed(stack.amqp_uri, "tickets", "TicketOpened", {"ticket_id": "t-1"})
    assert wait_until(lambda: len(stack.receiver.received(path)) == 1, timeout=30)
    assert stack.receiver.received(path)[0].json()["data"] == {"ticket_id": "t-1"}
    # ...and both replicas' periodic reconciles keep it, and only it.
    assert wait_until(lambda: bound_keys(stack, "tickets") == [1, 1])

    with stack.rpc() as webhooks:
        webhooks.disable_endpoint(ADMIN, endpoint_id, {"reason": "maintenance"})
    assert not routed(stack.amqp_uri, "tickets", "TicketOpened")
    with stack.rpc() as webhooks:
        webhooks.enable_endpoint(ADMIN, endpoint_id)
    assert routed(stack.amqp_uri, "tickets", "TicketOpened")
    assert wait_until(lambda: len(stack.receiver.received(path)) == 2, timeout=30)
    with stack.rpc() as webhooks:
        webhooks.delete_endpoint(ADMIN, endpoint_id)
    assert not routed(stack.amqp_uri, "tickets", "TicketOpened")
    assert wait_until(lambda: bound_keys(stack, "tickets") == [0, 0])


def test_a_lost_binding_is_repaired_by_the_periodic_reconcile(stack: WebhooksStack):
    path = new_path()
    stack.register(path, ["sla.SlaMet"])
    with Connection(stack.amqp_uri) as conn:
        conn.channel().queue_unbind(queue=queue("sla"), exchange="sla.events", routing_key="SlaMet")
    # Every WEBHOOKS_BINDINGS_RECONCILE_SECONDS (1 s here) each replica binds it again.
    assert wait_until(lambda: routed(stack.amqp_uri, "sla", "SlaMet"), timeout=15)
    assert wait_until(lambda: stack.receiver.received(path), timeout=30)


def test_an_endpoint_disabled_for_failing_is_unbound(stack: WebhooksStack):
    path = new_path()
    endpoint = stack.register(path, ["notify.SmsFailed"])
    stack.receiver.always(path, 503)
    stack.publish("notify", "SmsFailed", {"n": 1})
    stack.publish("notify", "SmsFailed", {"n": 2})

    def disabled() -> bool:
        with stack.rpc() as webhooks:
            return not webhooks.get_endpoint(ADMIN, endpoint["endpoint_id"])["enabled"]

    assert wait_until(disabled, timeout=30)
    assert wait_until(lambda: not routed(stack.amqp_uri, "notify", "SmsFailed"), timeout=10)
