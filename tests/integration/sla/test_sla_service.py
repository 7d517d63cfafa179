"""The sla service as two real processes (and its relay) on RabbitMQ and PostgreSQL,
fed ticket events exactly as the tickets relay publishes them, on a test clock that
starts on Wednesday 2026-03-18 22:00 Tehran."""

from __future__ import annotations

import json
import re

from pasokh_common.errors import ServiceError

import psycopg
import pytest
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from tests.integration.sla.support import (
    ADMIN,
    HOUR,
    TicketStream,
    iso,
    publish_ticket_event,
    tehran,
)
from tests.support.processes import http_get, stop, wait_until

pytestmark = pytest.mark.integration

OPENED = tehran(2026, 3, 18, 16)
DUE_24H = tehran(2026, 3, 29, 16)
NIGHT_SHIFT = {"saturday": ["22:00-06:00"]}
WEEK = ("saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday")


def rpc(stack):
    return ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, timeout=30)


def wait_for(stack, ticket_id: str, event_type: str, count: int = 1) -> list[dict]:
    assert wait_until(
        lambda: len(stack.ticket_events(ticket_id, event_type)) >= count, timeout=30
    ), f"no {event_type} for {ticket_id}; logs in {stack.logs}"
    return stack.ticket_events(ticket_id, event_type)


def metric_total(stack, name: str, only: int | None = None, **labels: str) -> float:
    """The sum of one series over every replica's /metrics (or port ``only``'s)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    total = 0.0
    for port in [only] if only else stack.metrics_ports:
        _, text = http_get(f"http://127.0.0.1:{port}/metrics")
        for line in text.splitlines():
            match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
            if match and ",".join(sorted(match.group(1).split(","))) == wanted:
                total += float(match.group(2))
    return total


def test_targets_are_set_with_business_hour_deadlines_and_published(sla_stack):
    exchange = Exchange("sla.events", type="topic", durable=True)
    with Connection(sla_stack.amqp_uri) as conn:
        listener = Queue("test-sla-events", exchange=exchange, routing_key="SlaTargetsSet")
        listener(conn.channel()).declare()
        stream = TicketStream()
        publish_ticket_event(sla_stack.amqp_uri, stream.opened(OPENED))
        [stored] = wait_for(sla_stack, stream.ticket_id, "SlaTargetsSet")
        assert stored["data"]["targets"][0]["deadline"] == iso(DUE_24H)

        bodies: list[dict] = []

        def relayed() -> bool:
            channel = conn.channel()
            while (message := channel.basic_get("test-sla-events", no_ack=True)) is not None:
                bodies.append(json.loads(message.body))
            return any(b["ticket_id"] == stream.ticket_id for b in bodies)

        assert wait_until(relayed, timeout=30)
    [body] = [b for b in bodies if b["ticket_id"] == stream.ticket_id]
    assert body["targets"][0]["deadline"] == iso(DUE_24H)

    with rpc(sla_stack) as cluster:
        answer = cluster.sla.deadlines_for(stream.ticket_id)
    first = answer["targets"][0]
    assert first["deadline"]["jalali"] == "1405-01-09 16:00"
    assert first["elapsed_business_seconds"] == HOUR  # Wednesday 16-17, then closed


def test_agent_reply_meets_first_response_once_whatever_the_delivery_order(sla_stack):
    stream = TicketStream()
    opened, note, reply = (
        stream.opened(OPENED),
        stream.note(OPENED + 60),
        stream.reply(OPENED + 900),
    )
    reply_id = publish_ticket_event(sla_stack.amqp_uri, reply)
    publish_ticket_event(sla_stack.amqp_uri, reply, event_id=reply_id)  # a relay retry
    publish_ticket_event(sla_stack.amqp_uri, note)
    publish_ticket_event(sla_stack.amqp_uri, opened)
    [met] = wait_for(sla_stack, stream.ticket_id, "SlaMet")
    assert met["data"]["target"] == "first_response"
    assert met["data"]["business_seconds"] == 900
    assert [e["event_type"] for e in sla_stack.ticket_events(stream.ticket_id)] == [
        "SlaTargetsSet",
        "SlaMet",
        "SlaTargetsSet",
    ]
    with psycopg.connect(sla_stack.db["admin_url"]) as conn:
        row = conn.execute(
            "SELECT applied_version, phase FROM sla.tickets WHERE ticket_id = %s",
            (stream.ticket_id,),
        ).fetchone()
    assert row == (3, "awaiting_customer")
    assert (
        metric_total(
            sla_stack,
            "pasokh_sla_first_response_business_seconds_count",
            department="technical",
            priority="normal",
        )
        >= 1
    )


def test_warning_and_breach_are_emitted_once_with_two_replicas(sla_stack):
    with rpc(sla_stack) as cluster:
        cluster.sla.save_calendar(
            ADMIN,
            {
                "calendar_id": "always",
                "name": "24/7",
                "weekly_schedule": {day: ["00:00-24:00"] for day in WEEK},
                "official_holidays": False,
            },
        )
        cluster.sla.bind_department(ADMIN, {"department": "noc", "calendar_id": "always"})
        cluster.sla.save_policy(
            ADMIN,
            {
                "priority": "urgent",
                "department": "noc",
                "first_response_seconds": 4,
                "follow_up_first_response_seconds": 4,
                "next_reply_seconds": 4,
                "resolution_seconds": 3600,
                "warning_share": 0.5,
            },
        )
    streams = [TicketStream(department="noc", priority="urgent") for _ in range(8)]
    start = sla_stack.now()
    for stream in streams:
        publish_ticket_event(sla_stack.amqp_uri, stream.opened(start))
    for stream in streams:
        wait_for(sla_stack, stream.ticket_id, "SlaBreached")
    wait_until(lambda: False, timeout=1)
    # Counted once over the replicas, by whichever recorded each breach.
    assert metric_total(
        sla_stack, "pasokh_sla_breaches_total", department="noc", target="first_response"
    ) == len(streams)
    # Both replicas keep scanning every 0.3 s, and one of them restarts: give them the
    # time to record anything twice.
    stop(sla_stack.processes[0])
    sla_stack.start_replica(0)
    wait_until(lambda: False, timeout=1.5)
    for stream in streams:
        warnings = sla_stack.ticket_events(stream.ticket_id, "SlaWarning")
        breaches = sla_stack.ticket_events(stream.ticket_id, "SlaBreached")
        assert len(warnings) == 1 and len(breaches) == 1
        breach = breaches[0]["data"]
        assert breach["deadline"] == iso(start + 4) == breach["breached_at"]
        assert breach["notify_at"] == breach["breached_at"]  # 24/7: always within hours
        assert warnings[0]["data"]["warned_at"] == iso(start + 2)
        for field in ("ticket_id", "department", "target", "deadline", "priority"):
            assert breach[field]
        assert breach["number"] == "1405-000001"
    # Warned, not met, still open: every replica reads the same number from the database.
    assert wait_until(
        lambda: all(
            metric_total(sla_stack, "pasokh_sla_tickets_at_risk", port, department="noc")
            == len(streams)
            for port in sla_stack.metrics_ports
        ),
        timeout=10,
    )


def test_a_breach_at_night_is_held_for_supervisors_until_the_next_opening(sla_stack):
    stream = TicketStream(department="night-desk")
    publish_ticket_event(sla_stack.amqp_uri, stream.opened(tehran(2026, 3, 18, 9)))
    wait_for(sla_stack, stream.ticket_id, "SlaTargetsSet")
    with rpc(sla_stack) as cluster:
        answer = cluster.sla.save_policy(
            ADMIN,
            {
                "priority": "normal",
                "department": "night-desk",
                "first_response_seconds": HOUR,
                "follow_up_first_response_seconds": 2 * HOUR,
                "next_reply_seconds": HOUR,
                "resolution_seconds": 40 * HOUR,
            },
        )
    assert answer["recomputed_tickets"] == 1
    [breach] = sla_stack.ticket_events(stream.ticket_id, "SlaBreached")
    # 8 h used by Wednesday's close, the target is now 1 h: breached at the change (at
    # night), told at the next opening, after Thursday, Friday and Nowruz.
    breached_at = breach["data"]["breached_at"]
    assert (
        tehran(2026, 3, 18, 22)
        <= int(__import__("datetime").datetime.fromisoformat(breached_at).timestamp())
        < tehran(2026, 3, 19, 9)
    )
    assert breach["data"]["notify_at"] == iso(tehran(2026, 3, 25, 9))


def test_a_calendar_change_recomputes_open_clocks_at_once(sla_stack):
    with rpc(sla_stack) as cluster:
        cluster.sla.save_calendar(ADMIN, {"calendar_id": "calc", "name": "Tehran (calc)"})
        cluster.sla.bind_department(ADMIN, {"department": "calc", "calendar_id": "calc"})
        stream = TicketStream(department="calc")
        publish_ticket_event(sla_stack.amqp_uri, stream.opened(OPENED))
        [first] = wait_for(sla_stack, stream.ticket_id, "SlaTargetsSet")
        assert first["data"]["calendar_id"] == "calc"
        answer = cluster.sla.set_holiday(
            ADMIN, {"calendar_id": "calc", "date": "1405-01-05", "name_en": "Heat closure"}
        )
    assert answer["recomputed_tickets"] == 1
    last = sla_stack.ticket_events(stream.ticket_id, "SlaTargetsSet")[-1]["data"]
    assert last["reason"] == "calendar_changed"
    assert last["targets"][0]["deadline"] == iso(tehran(2026, 3, 30, 16))


def test_business_time_rpcs(sla_stack):
    with rpc(sla_stack) as cluster:
        between = cluster.sla.business_time_between(
            "2026-03-18T16:00:00+03:30", "2026-03-29T16:00:00+03:30"
        )
        assert between["business_seconds"] == 24 * HOUR
        opening = cluster.sla.next_opening("2026-03-18T22:00:00+03:30", "default")
        assert opening["next_opening"]["local"] == "2026-03-25T09:00:00+03:30"
        month = cluster.sla.month("default", 1405, 1)
        assert len(month["days"]) == 31 and month["days"][0]["holidays"]
        with pytest.raises(ServiceError) as refused:
            cluster.sla.set_holiday(
                {"id": "a", "role": "agent"}, {"calendar_id": "default", "date": "1405-01-06"}
            )
        assert refused.value.code == "not_permitted" and refused.value.http_status == 403
        with pytest.raises(ServiceError) as bad:
            cluster.sla.save_calendar(
                ADMIN,
                {
                    "calendar_id": "bad",
                    "name": "x",
                    "weekly_schedule": {"saturday": ["22:00-06:00"]},
                },
            )
        assert bad.value.code == "inverted_interval"
        assert "midnight" in bad.value.payload["detail"]
