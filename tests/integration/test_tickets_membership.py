"""Tickets keeps department membership from identity's events: an agent removed from a
department loses it at once, although their access token still lists it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from pasokh_common.errors import ServiceError

import psycopg
import pytest
from kombu import Connection, Exchange, Producer
from nameko.standalone.rpc import ClusterRpcProxy

from tests.support.processes import REPO_ROOT, wait_until

pytestmark = pytest.mark.integration

CUSTOMER = {"id": "cust-1", "role": "customer"}
AGENT = {"id": "agent-7", "role": "agent", "departments": ["technical"]}


def publish_identity_event(amqp_uri: str, event_type: str, data: dict) -> str:
    """As the identity relay publishes: persistent, confirmed, with the event id."""
    event_id = str(uuid.uuid4())
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        exchange = Exchange("identity.events", type="topic", durable=True)
        Producer(conn).publish(
            json.dumps(data),
            exchange=exchange,
            routing_key=event_type,
            content_type="application/json",
            delivery_mode=2,
            message_id=event_id,
            declare=[exchange],
        )
    return event_id


def membership(admin_url: str) -> list[tuple]:
    with psycopg.connect(admin_url) as conn:
        return conn.execute(
            "SELECT user_id, department_id, active FROM tickets.department_members"
        ).fetchall()


def test_removed_agent_cannot_claim_even_with_a_valid_token(running_tickets, tickets_db):
    amqp_uri = running_tickets["amqp_uri"]
    publish_identity_event(
        amqp_uri,
        "AgentAssignedToDepartment",
        {
            "user_id": "agent-7",
            "department_id": "technical",
            "role": "agent",
            "assigned_at": "2026-11-01T08:00:00+00:00",
        },
    )
    assert wait_until(
        lambda: membership(tickets_db["admin_url"]) == [("agent-7", "technical", True)]
    )
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30) as cluster:
        first = cluster.tickets.open_ticket(
            CUSTOMER, {"department": "technical", "subject": "قطعی", "body": "سلام"}
        )
        assert cluster.tickets.claim(AGENT, {"ticket_id": first["ticket_id"]})["assignee_id"] == (
            "agent-7"
        )
        removal = {
            "user_id": "agent-7",
            "department_id": "technical",
            "removed_at": "2026-11-02T08:00:00+00:00",
        }
        event_id = publish_identity_event(amqp_uri, "AgentRemovedFromDepartment", removal)
        assert wait_until(
            lambda: membership(tickets_db["admin_url"]) == [("agent-7", "technical", False)]
        )
        # The same event delivered again (a relay retry) changes nothing twice.
        with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
            Producer(conn).publish(
                json.dumps(removal),
                exchange=Exchange("identity.events", type="topic", durable=True),
                routing_key="AgentRemovedFromDepartment",
                content_type="application/json",
                delivery_mode=2,
                message_id=event_id,
            )
        second = cluster.tickets.open_ticket(
            CUSTOMER, {"department": "technical", "subject": "دوباره", "body": "سلام"}
        )
        with pytest.raises(ServiceError) as caught:
            cluster.tickets.claim(AGENT, {"ticket_id": second["ticket_id"]})
        assert caught.value.http_status in (403, 404)
        with pytest.raises(ServiceError):
            cluster.tickets.queue(AGENT, {"department": "technical"})
    with psycopg.connect(tickets_db["admin_url"]) as conn:
        processed = conn.execute(
            "SELECT count(*) FROM tickets.processed_events WHERE event_id = %s", (event_id,)
        ).fetchone()[0]
    assert processed == 1


def test_topology_step_keeps_events_published_before_the_first_start(amqp_uri):
    subprocess.run(
        [sys.executable, "-m", "pasokh_common.cli", "topology"],
        env={**os.environ, "AMQP_URI": amqp_uri},
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    queue = "evt-identity-AgentAssignedToDepartment--tickets.on_agent_assigned"
    with Connection(amqp_uri) as conn:
        conn.channel().queue_purge(queue)  # a previous test's leftovers, if any
    publish_identity_event(
        amqp_uri,
        "AgentAssignedToDepartment",
        {
            "user_id": "u",
            "department_id": "d",
            "role": "agent",
            "assigned_at": "2026-11-01T08:00:00+00:00",
        },
    )
    with Connection(amqp_uri) as conn:
        _, waiting, _ = conn.channel().queue_declare(queue, passive=True)
        conn.channel().queue_purge(queue)
    assert waiting == 1
