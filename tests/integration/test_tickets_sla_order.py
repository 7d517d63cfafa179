"""The agents' queue can be ordered by the SLA deadline that the sla service announces
(SlaTargetsSet events kept by tickets), nearest first."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from kombu import Connection, Exchange, Producer
from nameko.standalone.rpc import ClusterRpcProxy

from tests.support.processes import wait_until

pytestmark = pytest.mark.integration

CUSTOMER = {"id": "cust-1", "role": "customer"}
AGENT = {"id": "agent-1", "role": "agent", "departments": ["technical"]}


def publish_targets(amqp_uri: str, ticket_id: str, deadline: str | None, set_at: str) -> None:
    targets = [
        {
            "target": "first_response",
            "cycle": 1,
            "status": "running" if deadline else "met",
            "started_at": "2026-11-21T05:30:00+00:00",
            "deadline": deadline,
            "target_seconds": 86400,
            "used_seconds": 0,
        }
    ]
    body = {
        "ticket_id": ticket_id,
        "number": None,
        "department": "technical",
        "priority": "normal",
        "calendar_id": "default",
        "reason": "opened",
        "set_at": set_at,
        "targets": targets,
    }
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        exchange = Exchange("sla.events", type="topic", durable=True)
        Producer(conn).publish(
            json.dumps(body),
            exchange=exchange,
            routing_key="SlaTargetsSet",
            content_type="application/json",
            delivery_mode=2,
            message_id=str(uuid.uuid4()),
            declare=[exchange],
        )


def processed(admin_url: str) -> int:
    with psycopg.connect(admin_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM tickets.processed_events WHERE consumer LIKE %s",
            ("%on_sla_targets_set",),
        ).fetchone()[0]


def test_queue_by_sla_deadline_puts_the_nearest_first(running_tickets, tickets_db):
    amqp_uri = running_tickets["amqp_uri"]
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30) as cluster:
        opened = [
            cluster.tickets.open_ticket(
                CUSTOMER, {"department": "technical", "subject": f"مورد {n}", "body": "سلام"}
            )["ticket_id"]
            for n in range(3)
        ]
        first, second, third = opened
        publish_targets(amqp_uri, first, "2026-11-24T10:00:00+00:00", "2026-11-21T06:00:00+00:00")
        publish_targets(amqp_uri, second, "2026-11-23T10:00:00+00:00", "2026-11-21T06:00:00+00:00")
        publish_targets(amqp_uri, third, None, "2026-11-21T06:00:00+00:00")
        # An older announcement arriving late changes nothing.
        publish_targets(amqp_uri, second, "2026-11-30T10:00:00+00:00", "2026-11-20T06:00:00+00:00")
        assert wait_until(lambda: processed(tickets_db["admin_url"]) == 4)
        queue = cluster.tickets.queue(AGENT, {"department": "technical", "order": "sla_deadline"})
    assert [t["ticket_id"] for t in queue["items"]] == [second, first, third]
    assert queue["items"][0]["sla_deadline"].startswith("2026-11-23T10:00:00")
    assert queue["items"][2]["sla_deadline"] is None
