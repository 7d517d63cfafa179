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


def publish(amqp_uri: str, event_type: str, body: dict) -> None:
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        exchange = Exchange("sla.events", type="topic", durable=True)
        Producer(conn).publish(
            json.dumps(body),
            exchange=exchange,
            routing_key=event_type,
            content_type="application/json",
            delivery_mode=2,
            message_id=str(uuid.uuid4()),
            declare=[exchange],
        )


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
    publish(amqp_uri, "SlaTargetsSet", body)


def publish_warning(amqp_uri: str, ticket_id: str, deadline: str) -> None:
    publish(
        amqp_uri,
        "SlaWarning",
        {
            "ticket_id": ticket_id,
            "number": None,
            "department": "technical",
            "priority": "normal",
            "calendar_id": "default",
            "assignee_id": None,
            "target": "first_response",
            "cycle": 1,
            "deadline": deadline,
            "target_seconds": 86400,
            "warned_at": "2026-11-23T08:00:00+00:00",
            "notify_at": "2026-11-23T08:00:00+00:00",
            "used_seconds": 64800,
        },
    )


def processed(admin_url: str, handler: str = "on_sla_targets_set") -> int:
    with psycopg.connect(admin_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM tickets.processed_events WHERE consumer LIKE %s",
            (f"%{handler}",),
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


def test_a_ticket_is_at_risk_while_sla_s_warning_concerns_its_next_deadline(
    running_tickets, tickets_db
):
    amqp_uri = running_tickets["amqp_uri"]
    admin_url = tickets_db["admin_url"]
    deadline, later = "2026-11-23T10:00:00+00:00", "2026-11-24T10:00:00+00:00"
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30) as cluster:

        def at_risk() -> dict[str, bool]:
            queue = cluster.tickets.queue(AGENT, {"department": "technical"})
            return {t["ticket_id"]: t["sla_at_risk"] for t in queue["items"]}

        warned, calm = (
            cluster.tickets.open_ticket(
                CUSTOMER, {"department": "technical", "subject": f"مورد {n}", "body": "سلام"}
            )["ticket_id"]
            for n in ("هشدار", "آرام")
        )
        for ticket_id in (warned, calm):
            publish_targets(amqp_uri, ticket_id, deadline, "2026-11-21T06:00:00+00:00")
        assert wait_until(lambda: processed(admin_url) == 2)
        assert at_risk() == {warned: False, calm: False}

        publish_warning(amqp_uri, warned, deadline)
        assert wait_until(lambda: processed(admin_url, "on_sla_warning") == 1)
        assert at_risk() == {warned: True, calm: False}

        # A new deadline (say the priority changed) is not the one sla warned about.
        publish_targets(amqp_uri, warned, later, "2026-11-23T09:00:00+00:00")
        assert wait_until(lambda: processed(admin_url) == 3)
        assert at_risk() == {warned: False, calm: False}


def _targets_body(ticket_id: str, deadline: str | None, set_at: str) -> dict:
    return {
        "ticket_id": ticket_id,
        "set_at": set_at,
        "targets": [{"target": "first_response", "status": "running", "deadline": deadline}]
        if deadline
        else [],
    }


def test_a_batch_of_targets_is_one_upsert_ending_as_one_by_one(tickets_pool):
    """``record_many_targets`` (the batch handler's) ends as recording each event alone
    in delivery order: the latest ``set_at`` per ticket, an equal one from the later
    event, and never older than what the row already has."""
    from services.tickets.sla_deadlines import record_many_targets, record_targets

    def bodies(ids: dict[str, str]) -> tuple[list[dict], list[dict]]:
        before = [_targets_body(ids["kept"], "2026-11-30T10:00:00+00:00", "2026-11-22T00:00:00Z")]
        batch = [
            _targets_body(ids["latest"], "2026-11-24T10:00:00+00:00", "2026-11-21T06:00:00Z"),
            _targets_body(ids["kept"], "2026-11-25T10:00:00+00:00", "2026-11-21T06:00:00Z"),
            _targets_body(ids["latest"], "2026-11-26T10:00:00+00:00", "2026-11-21T08:00:00Z"),
            _targets_body(ids["tie"], "2026-11-24T10:00:00+00:00", "2026-11-21T06:00:00Z"),
            _targets_body(ids["latest"], "2026-11-23T10:00:00+00:00", "2026-11-21T07:00:00Z"),
            _targets_body(ids["tie"], None, "2026-11-21T06:00:00Z"),
        ]
        return before, batch

    names = ("latest", "kept", "tie")
    batched = {name: str(uuid.uuid4()) for name in names}
    alone = {name: str(uuid.uuid4()) for name in names}
    before, batch = bodies(batched)
    with tickets_pool.transaction() as tx:
        for body in before:
            record_targets(tx, body)
    with tickets_pool.transaction() as tx:
        record_many_targets(tx, batch)
    before, batch = bodies(alone)
    for body in before + batch:
        with tickets_pool.transaction() as tx:
            record_targets(tx, body)

    def rows(ids: dict[str, str]) -> dict[str, tuple]:
        found = _deadlines(tickets_pool, list(ids.values()))
        return {name: found[ticket_id] for name, ticket_id in ids.items()}

    assert rows(batched) == rows(alone)
    result = rows(batched)
    assert result["latest"][0].isoformat().startswith("2026-11-26T10:00:00")
    assert result["kept"][0].isoformat().startswith("2026-11-30T10:00:00")
    assert result["tie"][0] is None


@pytest.mark.parametrize("size", [1, 2, 50])
def test_batches_of_targets_of_any_size_store_exactly_their_deadlines(tickets_pool, size):
    """``record_many_targets`` (one statement text whatever the batch size): each
    ticket's next running deadline (none without one) and ``set_at``, to the
    microsecond; an older batch over it changes nothing."""
    from datetime import datetime, timedelta

    from services.tickets.sla_deadlines import record_many_targets

    ids = [str(uuid.uuid4()) for _ in range(size)]
    start = datetime.fromisoformat("2026-11-25T10:00:00.250001+03:30")
    bodies = [
        _targets_body(
            ticket_id,
            None if n % 3 == 1 else (start + timedelta(hours=n)).isoformat(),
            (start + timedelta(seconds=n)).isoformat(),
        )
        for n, ticket_id in enumerate(ids)
    ]
    older = [{**body, "set_at": "2026-11-01T00:00:00Z", "targets": []} for body in bodies]
    for batch in (bodies, older):
        with tickets_pool.transaction() as tx:
            record_many_targets(tx, batch)
    assert _deadlines(tickets_pool, ids) == {
        ticket_id: (
            None if n % 3 == 1 else start + timedelta(hours=n),
            start + timedelta(seconds=n),
        )
        for n, ticket_id in enumerate(ids)
    }


def _deadlines(tickets_pool, ticket_ids: list[str]) -> dict[str, tuple]:
    """Each ticket's stored (next_deadline, set_at)."""
    with tickets_pool.connection() as conn:
        return {
            str(r["ticket_id"]): (r["next_deadline"], r["set_at"])
            for r in conn.execute(
                "SELECT ticket_id, next_deadline, set_at FROM tickets.sla_deadlines"
                " WHERE ticket_id = ANY(%s::uuid[])",
                (ticket_ids,),
            )
        }
