"""webhooks' event queues are declared with no binding, by the topology step and by the
service alike (the service binds them from its endpoints' filters)."""

from __future__ import annotations

from pasokh_common.consumer import service_topologies

from services.sla.service import SlaService
from services.webhooks.service import WebhooksService


def test_the_webhooks_queues_are_declared_unbound():
    topologies = service_topologies(WebhooksService)
    assert sorted(t.queue.name for t in topologies) == [
        "evt-identity-#--webhooks.on_identity_event",
        "evt-notify-#--webhooks.on_notify_event",
        "evt-sla-#--webhooks.on_sla_event",
        "evt-tickets-#--webhooks.on_tickets_event",
    ]
    for topology in topologies:
        assert not topology.queue.exchange.name and topology.queue.routing_key == ""
        assert not topology.queue.bindings


def test_other_consumers_keep_their_binding():
    for topology in service_topologies(SlaService):
        assert topology.queue.exchange.name.endswith(".events")
        assert topology.queue.routing_key
