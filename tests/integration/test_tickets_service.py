"""The tickets service as a real process over nameko RPC, with the relay publishing
its events to RabbitMQ: what other services and systems will see."""

from __future__ import annotations

import contextlib
import json
import re
import uuid

from pasokh_common.errors import ServiceError

import pytest
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from tests.support.processes import (
    http_get,
    wait_until,
)

pytestmark = pytest.mark.integration

CUSTOMER = {"id": "cust-1", "role": "customer"}
AGENT = {"id": "agent-1", "role": "agent", "departments": ["technical"]}


def test_rpc_opens_ticket_and_the_event_reaches_rabbitmq(running_tickets):
    amqp_uri = running_tickets["amqp_uri"]
    received: list = []
    with Connection(amqp_uri) as conn:
        queue = Queue(
            f"test-{uuid.uuid4().hex}",
            Exchange("tickets.events", type="topic", durable=True),
            routing_key="#",
            exclusive=True,
        )
        with conn.Consumer(queue, callbacks=[lambda body, msg: (received.append(msg), msg.ack())]):
            with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30) as cluster:
                ticket = cluster.tickets.open_ticket(
                    CUSTOMER,
                    {"department": "technical", "subject": "قطعی", "body": "سلام"},
                )
                cluster.tickets.claim(AGENT, {"ticket_id": ticket["ticket_id"]})

                def drained() -> bool:
                    with contextlib.suppress(TimeoutError):
                        conn.drain_events(timeout=0.2)
                    return len(received) >= 2

                assert wait_until(drained, timeout=30)
    opened, claimed = received[0], received[1]
    assert opened.delivery_info["routing_key"] == "TicketOpened"
    assert claimed.delivery_info["routing_key"] == "TicketClaimed"
    body = json.loads(opened.body)
    assert body["ticket_id"] == ticket["ticket_id"]
    assert opened.properties["message_id"]
    assert opened.headers["cloudEvents_type"] == "TicketOpened"


def test_rpc_bad_input_is_a_structured_bilingual_error(running_tickets):
    with ClusterRpcProxy({"AMQP_URI": running_tickets["amqp_uri"]}, timeout=30) as cluster:
        with pytest.raises(ServiceError) as caught:
            cluster.tickets.open_ticket(CUSTOMER, {"department": "technical", "body": ""})
    error = caught.value
    assert error.code == "validation_failed"
    assert error.http_status == 400
    assert set(error.payload["fields"]) >= {"subject", "body"}
    assert error.payload["message"]["fa"] and error.payload["message"]["en"]


def test_rpc_unknown_ticket_is_not_found(running_tickets):
    with ClusterRpcProxy({"AMQP_URI": running_tickets["amqp_uri"]}, timeout=30) as cluster:
        with pytest.raises(ServiceError) as caught:
            cluster.tickets.get_ticket(CUSTOMER, str(uuid.uuid4()))
    assert caught.value.http_status == 404


def test_probes_and_metrics_are_served(running_tickets):
    base = running_tickets["metrics"]
    assert http_get(base + "/healthz")[0] == 200
    # ready shortly after the RPC consumer is up (the runner marks it once start returns)
    assert wait_until(lambda: http_get(base + "/readyz")[0] == 200, timeout=30)
    with ClusterRpcProxy({"AMQP_URI": running_tickets["amqp_uri"]}, timeout=30) as cluster:
        ticket = cluster.tickets.open_ticket(
            CUSTOMER,
            {"department": "finance", "subject": "صورتحساب", "body": "سلام", "priority": "high"},
        )
        # Another worker of the same process decides on the ticket the open cached.
        cluster.tickets.post_reply(CUSTOMER, {"ticket_id": ticket["ticket_id"], "body": "و بعد"})
    status, text = http_get(base + "/metrics")
    assert status == 200
    assert 'pasokh_tickets_opened_total{department="finance",priority="high"} 1.0' in text
    assert 'pasokh_tickets_events_appended_total{event_type="TicketOpened"} 1.0' in text
    assert "pasokh_tickets_command_seconds_bucket" in text
    assert 'pasokh_tickets_aggregate_cache_lookups_total{result="hit"} 1.0' in text
    misses = re.search(r'pasokh_tickets_aggregate_cache_lookups_total\{result="miss"\} (\S+)', text)
    assert misses is None or float(misses.group(1)) == 0
    assert (
        'pasokh_rpc_requests_total{method="open_ticket",outcome="ok",service="tickets"} 1.0' in text
    )
    assert 'pasokh_rpc_duration_seconds_count{method="open_ticket",service="tickets"} 1.0' in text
    assert (
        'pasokh_tickets_open{department="finance",priority="high",status="unanswered"} 1.0' in text
    )


def test_request_id_sent_as_context_data_is_the_events_correlation_id(running_tickets):
    config = {"AMQP_URI": running_tickets["amqp_uri"]}
    with ClusterRpcProxy(config, context_data={"correlation_id": "req-42"}, timeout=30) as cluster:
        ticket = cluster.tickets.open_ticket(
            CUSTOMER, {"department": "technical", "subject": "پیگیری", "body": "سلام"}
        )
    with ClusterRpcProxy(config, timeout=30) as cluster:
        trail = cluster.tickets.history(AGENT, ticket["ticket_id"])
    assert trail[0]["correlation_id"] == "req-42"
    assert trail[0]["actor_id"] == CUSTOMER["id"] and trail[0]["origin"] == "rpc"


def test_a_call_from_another_service_is_the_events_causation(running_tickets):
    """A service calling tickets over RPC is recorded as the cause of the events."""
    config = {"AMQP_URI": running_tickets["amqp_uri"]}
    with ClusterRpcProxy(config, timeout=30) as cluster:
        ticket = cluster.tickets.open_ticket(
            CUSTOMER, {"department": "technical", "subject": "علت", "body": "سلام"}
        )
        trail = cluster.tickets.history(AGENT, ticket["ticket_id"])
    # The caller here is a standalone proxy; its call id is the tickets worker's parent.
    assert trail[0]["causation_id"].startswith("standalone_rpc_proxy")
