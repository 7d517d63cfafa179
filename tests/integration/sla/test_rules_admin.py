"""Calendars, holidays, bindings and policies over the application: each change is an
event, re-targets the open clocks at once, and is refused whole when it cannot hold."""

from __future__ import annotations

import json
from pathlib import Path

from pasokh_common.errors import PasokhError

import psycopg
import pytest

from tests.integration.sla.support import ADMIN, HOUR, TicketStream, iso, tehran

pytestmark = pytest.mark.integration

OPENED = tehran(2026, 3, 18, 16)
DUE_24H = tehran(2026, 3, 29, 16)
WEEK = ("saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday")
SUPERVISOR = {"id": "sup-1", "role": "supervisor", "departments": ["billing"]}
AGENT = {"id": "agent-1", "role": "agent", "departments": ["billing"]}
POLICY = {
    "priority": "normal",
    "first_response_seconds": 8 * HOUR,
    "follow_up_first_response_seconds": 16 * HOUR,
    "next_reply_seconds": 8 * HOUR,
    "resolution_seconds": 40 * HOUR,
}


def first_deadline(sla_app, ticket_id: str) -> str:
    return sla_app.ticket_events(ticket_id, "SlaTargetsSet")[-1]["data"]["targets"][0]["deadline"]


def test_an_announced_closure_moves_open_deadlines_at_once(sla_app):
    stream = TicketStream()
    sla_app.receive(stream.opened(OPENED))
    assert first_deadline(sla_app, stream.ticket_id) == iso(DUE_24H)

    # Announced on Wednesday evening: Wednesday 5 Farvardin 1405 (25 March) is closed.
    answer = sla_app.app.admin.set_holiday(
        ADMIN,
        {"calendar_id": "default", "date": "1405-01-05", "name_fa": "تعطیلی", "name_en": "Closure"},
        None,
    )
    assert answer["recomputed_tickets"] == 1 and answer["date"] == "2026-03-25"
    last = sla_app.ticket_events(stream.ticket_id, "SlaTargetsSet")[-1]["data"]
    assert last["reason"] == "calendar_changed"
    # One working day fewer before the deadline: Monday 30 March 16:00.
    assert last["targets"][0]["deadline"] == iso(tehran(2026, 3, 30, 16))
    [change] = sla_app.events("HolidayOverrideSet")
    assert change["stream_id"] == "calendar-default"
    assert change["data"]["jalali"] == "1405-01-05" and change["data"]["closed"] is True

    sla_app.app.admin.clear_holiday(ADMIN, {"calendar_id": "default", "date": "2026-03-25"}, None)
    assert first_deadline(sla_app, stream.ticket_id) == iso(DUE_24H)


def test_binding_a_department_to_a_24_7_calendar(sla_app):
    stream = TicketStream(department="noc")
    sla_app.receive(stream.opened(OPENED))
    sla_app.app.admin.save_calendar(
        ADMIN,
        {
            "calendar_id": "always",
            "name": "24/7",
            "weekly_schedule": {day: ["00:00-24:00"] for day in WEEK},
            "official_holidays": False,
        },
        None,
    )
    sla_app.clock.set(OPENED + 5 * HOUR)  # 21:00: 1 h used on the old calendar
    answer = sla_app.app.admin.bind_department(
        ADMIN, {"department": "noc", "calendar_id": "always"}, None
    )
    assert answer["recomputed_tickets"] == 1
    last = sla_app.ticket_events(stream.ticket_id, "SlaTargetsSet")[-1]["data"]
    assert last["calendar_id"] == "always"
    # 23 h left from 21:00, counted around the clock.
    assert last["targets"][0]["deadline"] == iso(OPENED + 5 * HOUR + 23 * HOUR)
    assert [c["calendar_id"] for c in sla_app.app.queries.list_calendars()] == [
        "always",
        "default",
    ]


def test_a_calendar_that_cannot_reach_an_open_deadline_is_refused_whole(sla_app):
    stream = TicketStream()
    sla_app.receive(stream.opened(OPENED))
    with pytest.raises(PasokhError) as refused:
        # One-day horizon: 120 business hours of resolution no longer fit.
        sla_app.app.admin.save_calendar(
            ADMIN, {"calendar_id": "default", "name": "short", "horizon_days": 1}, None
        )
    assert refused.value.code == "target_unreachable"
    assert sla_app.app.queries.get_calendar("default")["settings"] == {}
    assert sla_app.events("CalendarSaved") == []


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({"time_zone": "Mars/Olympus"}, "unknown_time_zone"),
        ({"weekly_schedule": {"saturday": ["17:00-09:00"]}}, "inverted_interval"),
        (
            {"weekly_schedule": {"saturday": ["09:00-13:00", "12:00-17:00"]}},
            "overlapping_intervals",
        ),
        ({"weekly_schedule": {}}, "no_working_time"),
    ],
)
def test_bad_calendars_are_refused_with_the_engines_code(sla_app, settings, code):
    with pytest.raises(PasokhError) as refused:
        sla_app.app.admin.save_calendar(
            ADMIN, {"calendar_id": "bad", "name": "bad", **settings}, None
        )
    assert refused.value.code == code


def test_who_may_change_what(sla_app):
    with pytest.raises(PasokhError) as refused:
        sla_app.app.admin.set_holiday(AGENT, {"calendar_id": "default", "date": "1405-01-05"}, None)
    assert refused.value.code == "not_permitted"
    with pytest.raises(PasokhError):
        sla_app.app.admin.set_holiday(
            SUPERVISOR, {"calendar_id": "default", "date": "1405-01-05"}, None
        )
    with pytest.raises(PasokhError):  # the policy of every department is an admin's
        sla_app.app.admin.save_policy(SUPERVISOR, POLICY, None)
    with pytest.raises(PasokhError):
        sla_app.app.admin.save_policy(SUPERVISOR, {**POLICY, "department": "sales"}, None)
    saved = sla_app.app.admin.save_policy(SUPERVISOR, {**POLICY, "department": "billing"}, None)
    assert saved["department"] == "billing"
    [event] = sla_app.events("SlaPolicySet")
    assert event["metadata"]["actor_role"] == "supervisor"
    removed = sla_app.app.admin.remove_policy(
        SUPERVISOR, {"priority": "normal", "department": "billing"}, None
    )
    assert removed["recomputed_tickets"] == 0
    with pytest.raises(PasokhError) as missing:
        sla_app.app.admin.remove_policy(
            ADMIN, {"priority": "normal", "department": "billing"}, None
        )
    assert missing.value.code == "policy_not_found"


def test_department_policy_wins_over_the_general_one(sla_app):
    sla_app.app.admin.save_policy(ADMIN, {**POLICY, "department": "billing"}, None)
    billing, technical = TicketStream(department="billing"), TicketStream()
    sla_app.receive(billing.opened(OPENED))
    sla_app.receive(technical.opened(OPENED))
    # 8 h: Wed 16-17, then 7 h on Wednesday 25 March (after Nowruz).
    assert first_deadline(sla_app, billing.ticket_id) == iso(tehran(2026, 3, 25, 16))
    assert first_deadline(sla_app, technical.ticket_id) == iso(DUE_24H)
    policies = {(p["priority"], p["department"]) for p in sla_app.app.queries.list_policies()}
    assert ("normal", "billing") in policies and ("urgent", "*") in policies


def test_the_holiday_data_file_is_loaded_once_and_recomputes(sla_app):
    stream = TicketStream()
    sla_app.receive(stream.opened(OPENED))
    assert sla_app.app.sync_holiday_file() is True  # first load of the (empty) file
    assert sla_app.app.sync_holiday_file() is False
    path = sla_app.app.deps.config.holiday_overrides_path
    path.write_text(
        json.dumps({"version": 1, "years": {"1405": {"add": ["1405-01-05"], "remove": []}}}),
        encoding="utf-8",
    )
    assert sla_app.app.sync_holiday_file() is True
    assert first_deadline(sla_app, stream.ticket_id) == iso(tehran(2026, 3, 30, 16))
    assert len(sla_app.events("HolidayFileLoaded")) == 2
    with psycopg.connect(sla_app.db["admin_url"]) as conn:
        stored = conn.execute("SELECT holiday_file FROM sla.rules_state").fetchone()[0]
    assert stored["years"]["1405"]["add"] == ["1405-01-05"]


def test_every_kind_of_rules_change_is_recorded_in_its_published_schema(sla_app):
    """The rules events are part of the contract (docs/schemas/sla/): what the real
    admin changes record must validate against the committed JSON Schemas."""
    from jsonschema import Draft202012Validator

    admin = sla_app.app.admin
    admin.save_calendar(
        ADMIN,
        {
            "calendar_id": "noc",
            "name": "شبانه‌روزی",
            "weekly_schedule": {"saturday": ["00:00-24:00"]},
        },
        None,
    )
    admin.save_calendar(ADMIN, {"calendar_id": "plain", "name": "Plain"}, None)
    admin.set_holiday(ADMIN, {"calendar_id": "noc", "date": "1405-01-05", "name_fa": "تعطیل"}, None)
    admin.clear_holiday(ADMIN, {"calendar_id": "noc", "date": "1405-01-05"}, None)
    admin.bind_department(ADMIN, {"department": "noc", "calendar_id": "noc"}, None)
    admin.save_policy(ADMIN, {**POLICY, "department": "noc", "warning_share": 0.5}, None)
    admin.remove_policy(ADMIN, {"priority": "normal", "department": "noc"}, None)
    sla_app.app.sync_holiday_file()

    schemas = Path(__file__).resolve().parents[3] / "docs" / "schemas" / "sla"
    kinds = set()
    for event in sla_app.events():
        if event["event_type"].startswith("Sla") and event["stream_id"].startswith("ticket-"):
            continue
        schema = json.loads((schemas / f"{event['event_type']}.v1.json").read_text())
        errors = list(Draft202012Validator(schema).iter_errors(event["data"]))
        assert errors == [], (event["event_type"], [e.message for e in errors])
        kinds.add(event["event_type"])
    assert kinds == {
        "CalendarSaved",
        "HolidayOverrideSet",
        "HolidayOverrideCleared",
        "DepartmentCalendarBound",
        "SlaPolicySet",
        "SlaPolicyRemoved",
        "HolidayFileLoaded",
    }
    [plain] = [e for e in sla_app.events("CalendarSaved") if e["data"]["calendar_id"] == "plain"]
    assert plain["data"]["settings"]["weekly_schedule"] is None
    assert plain["data"]["created"] is True
