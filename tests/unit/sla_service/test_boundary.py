"""The service's edges without a broker: reading ticket messages, settings, errors and
RPC schemas."""

from __future__ import annotations

from types import MappingProxyType

from pasokh_common.consumer import DeliveredEvent
from pasokh_common.errors import PasokhError
from pasokh_common.validation import load

import pytest

from services.sla.calendar import errors as calendar_errors
from services.sla.config import ALLOW_OFFSET_VALUE, ConfigurationError, SlaConfig
from services.sla.domain import facts
from services.sla.domain.errors import (
    CalendarRefused,
    InvertedInterval,
    TargetUnreachable,
    from_calendar_error,
)
from services.sla.schemas import CalendarSchema, HolidaySchema, PolicySchema
from services.sla.ticket_events import UnreadableTicketEvent, epoch, fact_of, message_of


def delivered(data, headers) -> DeliveredEvent:
    return DeliveredEvent("e-1", "ReplyPosted", data, MappingProxyType(headers), 1, False)


def test_a_message_carries_its_ticket_stream_version():
    message = message_of(
        delivered(
            {"ticket_id": "t-1"}, {"pasokh_stream_version": 4, "pasokh_correlation_id": "c-1"}
        )
    )
    assert (message.ticket_id, message.version, message.correlation_id) == ("t-1", 4, "c-1")


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        ({"ticket_id": "t-1"}, {}),
        ({"ticket_id": "t-1"}, {"pasokh_stream_version": "x"}),
        ({"ticket_id": "t-1"}, {"pasokh_stream_version": 0}),
        ({"ticket_id": "t-1"}, {"pasokh_stream_version": 2, "pasokh_stream_id": "t-2"}),
        ({}, {"pasokh_stream_version": 1}),
        ("not a dict", {"pasokh_stream_version": 1}),
    ],
)
def test_messages_that_cannot_be_ordered_are_refused(data, headers):
    with pytest.raises(UnreadableTicketEvent):
        message_of(delivered(data, headers))


def test_every_ticket_event_kind_becomes_its_fact():
    at = "2026-03-18T12:30:00+00:00"
    t = epoch(at)
    assert fact_of(
        "TicketOpened",
        {
            "ticket_id": "t",
            "department": "d",
            "priority": "high",
            "needs_follow_up": True,
            "opened_at": at,
        },
    ) == facts.Opened("t", "d", "high", True, t)
    assert fact_of("ReplyPosted", {"author_role": "customer", "posted_at": at}).by_customer
    assert fact_of("TicketClaimed", {"agent_id": "a", "claimed_at": at}) == facts.Claimed("a", t)
    assert fact_of("TicketReleased", {"released_at": at}) == facts.Released(t)
    assert fact_of("PriorityChanged", {"to_priority": "low", "changed_at": at}) == (
        facts.PriorityChanged("low", t)
    )
    assert fact_of("TicketTransferred", {"to_department": "x", "transferred_at": at}) == (
        facts.Transferred("x", t)
    )
    assert fact_of("TicketClosed", {"closed_at": at}) == facts.Closed(t)
    assert fact_of("TicketMerged", {"merged_at": at}) == facts.Merged(t)
    assert fact_of("TicketReopened", {"reopened_at": at}) == facts.Reopened(t)
    for other in ("InternalNotePosted", "AttachmentAdded", "SatisfactionRated", "TagAdded"):
        assert fact_of(other, {}) == facts.Ignored(other)


@pytest.mark.parametrize("value", ["2026-03-18T12:30:00", "yesterday", None])
def test_times_must_be_aware_iso(value):
    with pytest.raises(UnreadableTicketEvent):
        epoch(value)
    with pytest.raises(UnreadableTicketEvent):
        fact_of("TicketClosed", {})


def test_the_test_clock_offset_needs_its_guard(monkeypatch):
    monkeypatch.setenv("SLA_CLOCK_OFFSET_SECONDS", "3600")
    with pytest.raises(ConfigurationError):
        SlaConfig.from_env()
    monkeypatch.setenv("SLA_ALLOW_CLOCK_OFFSET", "1")
    with pytest.raises(ConfigurationError):
        SlaConfig.from_env()
    monkeypatch.setenv("SLA_ALLOW_CLOCK_OFFSET", ALLOW_OFFSET_VALUE)
    assert SlaConfig.from_env().clock_offset_seconds == 3600


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLA_TIMER_INTERVAL_SECONDS", "0"),
        ("SLA_WARNING_SHARE", "1.2"),
        ("SLA_SCAN_BATCH_SIZE", "0"),
    ],
)
def test_bad_settings_stop_the_service(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError):
        SlaConfig.from_env()


def test_defaults(monkeypatch):
    for name in ("SLA_TIMER_INTERVAL_SECONDS", "SLA_WARNING_SHARE", "SLA_CLOCK_OFFSET_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    config = SlaConfig.from_env()
    assert (config.timer_interval_seconds, config.warning_share, config.clock_offset_seconds) == (
        10.0,
        0.8,
        0,
    )


def test_every_engine_error_has_a_pasokh_error():
    codes = set()
    for cls in vars(calendar_errors).values():
        if isinstance(cls, type) and issubclass(cls, calendar_errors.CalendarError):
            mapped = from_calendar_error(cls("detail"))
            assert isinstance(mapped, PasokhError) and isinstance(mapped, CalendarRefused)
            assert mapped.message_fa and mapped.message_en and mapped.detail == "detail"
            codes.add(mapped.code)
    inverted = from_calendar_error(calendar_errors.InvertedIntervalError("x"))
    assert isinstance(inverted, InvertedInterval) and inverted.code == "inverted_interval"
    unreachable = from_calendar_error(calendar_errors.TargetUnreachableError("x"))
    assert isinstance(unreachable, TargetUnreachable) and unreachable.http_status == 409
    assert len(codes) >= 13


def test_schemas_refuse_unknown_and_bad_fields():
    with pytest.raises(PasokhError) as bad:
        load(CalendarSchema(), {"calendar_id": "X", "name": "n", "colour": "red"})
    assert set(bad.value.fields) == {"calendar_id", "colour"}
    with pytest.raises(PasokhError):
        load(CalendarSchema(), {"calendar_id": "ok", "name": "n", "weekly_schedule": {"mon": []}})
    with pytest.raises(PasokhError):
        load(PolicySchema(), {"priority": "high", "first_response_seconds": 0})
    holiday = load(HolidaySchema(), {"calendar_id": "default", "date": "1405-05-07"})
    assert holiday["closed"] is True and holiday["name_fa"] is None
