"""The SLA application on real PostgreSQL with a clock the test moves: ticket events in
any order, the timer's scans, and what each records in sla.events."""

from __future__ import annotations

import threading

import psycopg
import pytest

from services.sla.application import SlaApplication
from tests.integration.sla.support import ADMIN, HOUR, TicketStream, iso, tehran

pytestmark = pytest.mark.integration

OPENED = tehran(2026, 3, 18, 16)  # Wednesday 27 Esfand 1404, 16:00, before Nowruz 1405
DUE_24H = tehran(2026, 3, 29, 16)  # hand-checked in tests/unit/sla/test_golden_iran.py


def test_opening_sets_business_hour_targets(sla_app):
    stream = TicketStream()
    assert sla_app.receive(stream.opened(OPENED)) == "applied"

    [targets] = sla_app.ticket_events(stream.ticket_id, "SlaTargetsSet")
    data = targets["data"]
    assert data["reason"] == "opened"
    assert data["department"] == "technical" and data["priority"] == "normal"
    first, resolution = data["targets"]
    assert first["target"] == "first_response" and first["deadline"] == iso(DUE_24H)
    assert first["target_seconds"] == 24 * HOUR
    assert resolution["target"] == "resolution" and resolution["target_seconds"] == 120 * HOUR
    assert targets["metadata"]["causation_id"] is not None


def test_follow_up_tickets_get_72_business_hours(sla_app):
    stream = TicketStream()
    sla_app.receive(stream.opened(OPENED, needs_follow_up=True))
    [targets] = sla_app.ticket_events(stream.ticket_id, "SlaTargetsSet")
    first = targets["data"]["targets"][0]
    assert first["target_seconds"] == 72 * HOUR
    assert first["deadline"] == iso(tehran(2026, 4, 7, 16))


def test_events_out_of_order_and_twice_are_applied_in_order_once(sla_app):
    stream = TicketStream()
    opened, note, reply = (
        stream.opened(OPENED),
        stream.note(OPENED + 60),
        stream.reply(OPENED + 120),
    )
    assert sla_app.receive(reply) == "held"
    assert sla_app.receive(note) == "held"
    assert sla_app.receive(opened) == "applied"  # fills the gap: all three apply in order
    assert sla_app.receive(note) == "stale"
    assert sla_app.receive(opened) == "stale"

    types = [e["event_type"] for e in sla_app.ticket_events(stream.ticket_id)]
    assert types == ["SlaTargetsSet", "SlaMet", "SlaTargetsSet"]
    [met] = sla_app.ticket_events(stream.ticket_id, "SlaMet")
    assert met["data"]["target"] == "first_response"
    assert met["data"]["business_seconds"] == 120
    assert [e["version"] for e in sla_app.ticket_events(stream.ticket_id)] == [1, 2, 3]
    with psycopg.connect(sla_app.db["admin_url"]) as conn:
        assert conn.execute("SELECT count(*) FROM sla.inbox").fetchone()[0] == 0


def test_internal_note_is_no_response(sla_app):
    stream = TicketStream()
    sla_app.receive(stream.opened(OPENED))
    sla_app.receive(stream.note(OPENED + 600))
    assert sla_app.ticket_events(stream.ticket_id, "SlaMet") == []
    assert len(sla_app.ticket_events(stream.ticket_id)) == 1


def test_warning_and_breach_are_recorded_once_by_scans(sla_app):
    stream = TicketStream()
    sla_app.receive(stream.opened(OPENED))
    warn_at = tehran(2026, 3, 29, 11, 12)  # 80 % of 24 h = 19.2 h: 3 h 12 min into Sunday

    sla_app.clock.set(warn_at - 1)
    assert sla_app.app.scanner.scan() == 0
    sla_app.clock.set(warn_at)
    assert sla_app.app.scanner.scan() == 1
    assert sla_app.app.scanner.scan() == 0
    sla_app.clock.set(DUE_24H + 30)
    assert sla_app.app.scanner.scan() == 1
    assert sla_app.app.scanner.scan() == 0

    [warning] = sla_app.ticket_events(stream.ticket_id, "SlaWarning")
    assert warning["data"]["warned_at"] == iso(warn_at)
    assert warning["data"]["notify_at"] == iso(warn_at)
    assert warning["metadata"]["origin"] == "timer"
    [breach] = sla_app.ticket_events(stream.ticket_id, "SlaBreached")
    assert breach["data"]["breached_at"] == iso(DUE_24H)
    assert breach["data"]["deadline"] == iso(DUE_24H)
    # 16:00 is within hours: supervisors are told at once.
    assert breach["data"]["notify_at"] == iso(DUE_24H)
    for field in ("ticket_id", "department", "target", "deadline", "priority"):
        assert breach["data"][field]

    # The late reply ends the target as breached: no SlaMet after a breach.
    sla_app.receive(stream.reply(DUE_24H + 3600))
    assert sla_app.ticket_events(stream.ticket_id, "SlaMet") == []


def test_concurrent_scans_record_each_breach_once(sla_app, sla_pool):
    streams = [TicketStream() for _ in range(30)]
    for stream in streams:
        sla_app.receive(stream.opened(OPENED))
    sla_app.clock.set(DUE_24H + 10)
    replicas = [SlaApplication(sla_pool, sla_app.app.deps.config, sla_app.clock) for _ in range(4)]
    barrier = threading.Barrier(len(replicas))

    def scan(app: SlaApplication) -> None:
        barrier.wait()
        app.scanner.scan()

    threads = [threading.Thread(target=scan, args=(app,)) for app in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    breaches = sla_app.events("SlaBreached")
    # Each ticket: first response breached once; the (skipped) warning never appears.
    assert sorted(e["data"]["ticket_id"] for e in breaches) == sorted(s.ticket_id for s in streams)
    assert sla_app.events("SlaWarning") == []


def test_priority_change_recomputes_from_time_used(sla_app):
    with_rules = sla_app.app.admin
    with_rules.save_policy(
        ADMIN,
        {
            "priority": "urgent",
            "first_response_seconds": 4 * HOUR,
            "follow_up_first_response_seconds": 8 * HOUR,
            "next_reply_seconds": 4 * HOUR,
            "resolution_seconds": 16 * HOUR,
        },
        None,
    )
    stream = TicketStream()
    sla_app.receive(stream.opened(OPENED))  # 1 h used by Wednesday's close
    sla_app.receive(stream.priority_changed(tehran(2026, 3, 25, 10), "urgent"))
    # Used: Wed 16-17 (1 h) + Wed 25 Mar 09-10 (1 h) = 2 h of 4: due at 12:00 that day.
    last = sla_app.ticket_events(stream.ticket_id, "SlaTargetsSet")[-1]["data"]
    assert last["reason"] == "priority_changed" and last["priority"] == "urgent"
    first = last["targets"][0]
    assert first["deadline"] == iso(tehran(2026, 3, 25, 12))
    assert first["used_seconds"] == 2 * HOUR


def test_policy_change_breaches_exceeded_targets_at_the_change(sla_app):
    stream = TicketStream()
    sla_app.receive(stream.opened(OPENED))
    change_at = tehran(2026, 3, 25, 13)  # 1 h + 4 h used
    sla_app.clock.set(change_at)
    answer = sla_app.app.admin.save_policy(
        ADMIN,
        {
            "priority": "normal",
            "first_response_seconds": 2 * HOUR,
            "follow_up_first_response_seconds": 8 * HOUR,
            "next_reply_seconds": 4 * HOUR,
            "resolution_seconds": 40 * HOUR,
        },
        None,
    )
    assert answer["recomputed_tickets"] == 1
    [breach] = sla_app.ticket_events(stream.ticket_id, "SlaBreached")
    # Exceeded since 10:00 under the new target, but breached at the change: never
    # back-dated.
    assert breach["data"]["breached_at"] == iso(change_at)
    assert breach["data"]["deadline"] == iso(change_at)
    [policy_event] = sla_app.events("SlaPolicySet")
    assert policy_event["metadata"]["actor_id"] == "admin-1"
    sla_app.clock.set(change_at + 10 * HOUR)
    sla_app.app.scanner.scan()
    assert len(sla_app.events("SlaBreached")) == 1
