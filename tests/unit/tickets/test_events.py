"""Events are contracts: what is written today must read back the same, forever."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.tickets.domain import (
    ALL_EVENT_CLASSES,
    EVENT_TYPES,
    AttachmentAdded,
    DomainEvent,
    EventDecodingError,
    EventRegistry,
    InternalNotePosted,
    Priority,
    PriorityChanged,
    ReplyPosted,
    Role,
    SatisfactionRated,
    TicketClaimed,
    TicketClosed,
    TicketMerged,
    TicketOpened,
    TicketReleased,
    TicketReopened,
    TicketTransferred,
    UnknownEventType,
    UnsupportedSchemaVersion,
    event_from_data,
)
from tests.unit.tickets.support import NOW

T = NOW + timedelta(microseconds=123456)

ONE_OF_EACH: list[DomainEvent] = [
    TicketOpened(
        ticket_id="t-1",
        number="97039004",
        customer_id="cust-1",
        organisation_id=None,
        department="billing",
        subject="صورت‌حساب اشتباه است",
        priority=Priority.HIGH,
        message_id="m-1",
        body="دو بار از من کسر شده است.\nلطفاً بررسی کنید.",
        needs_follow_up=True,
        opened_at=T,
    ),
    TicketClaimed(ticket_id="t-1", agent_id="agent-1", department="billing", claimed_at=T),
    TicketReleased(ticket_id="t-1", agent_id="agent-1", released_by="sup-1", released_at=T),
    ReplyPosted(
        ticket_id="t-1",
        message_id="m-2",
        author_id="agent-1",
        author_role=Role.AGENT,
        body="Refund issued.",
        posted_at=T,
    ),
    InternalNotePosted(
        ticket_id="t-1",
        message_id="m-3",
        author_id="sup-1",
        author_role=Role.SUPERVISOR,
        body="Watch this customer.",
        posted_at=T,
    ),
    AttachmentAdded(
        ticket_id="t-1",
        message_id="m-2",
        attachment_id="att-1",
        name="رسید.pdf",
        size=2048,
        content_type="application/pdf",
        sha256="ab" * 32,
        added_at=T,
    ),
    TicketTransferred(
        ticket_id="t-1",
        from_department="billing",
        to_department="sales",
        reason=None,
        transferred_by="agent-1",
        transferred_at=T,
    ),
    PriorityChanged(
        ticket_id="t-1",
        from_priority=Priority.NORMAL,
        to_priority=Priority.URGENT,
        changed_by="admin-1",
        changed_at=T,
    ),
    TicketClosed(
        ticket_id="t-1",
        closed_by="cust-1",
        closed_by_role=Role.CUSTOMER,
        reason="Solved",
        closed_at=T,
    ),
    TicketReopened(
        ticket_id="t-1", reopened_by="cust-1", reopened_by_role=Role.CUSTOMER, reopened_at=T
    ),
    TicketMerged(
        ticket_id="t-1",
        into_ticket_id="t-2",
        into_number="62662074",
        merged_by="agent-1",
        merged_at=T,
    ),
    SatisfactionRated(ticket_id="t-1", customer_id="cust-1", score=4, comment=None, rated_at=T),
]


def test_the_samples_cover_every_event_type():
    assert {type(e) for e in ONE_OF_EACH} == set(ALL_EVENT_CLASSES)
    assert set(EVENT_TYPES) == {cls.__name__ for cls in ALL_EVENT_CLASSES}


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: e.TYPE)
def test_every_event_reads_back_equal_from_its_stored_data(event):
    stored = json.loads(json.dumps(event.to_data(), ensure_ascii=False))

    assert event_from_data(event.TYPE, stored, event.SCHEMA_VERSION) == event


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: e.TYPE)
def test_every_event_carries_its_wire_name_and_first_schema_version(event):
    assert type(event).__name__ == event.TYPE
    assert event.SCHEMA_VERSION == 1
    assert dataclasses.is_dataclass(event)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.ticket_id = "t-9"  # type: ignore[misc]


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: e.TYPE)
def test_stored_data_holds_iso_utc_times_and_plain_values(event):
    data = event.to_data()
    assert list(data) == [f.name for f in dataclasses.fields(event)]
    time_fields = [k for k in data if k.endswith("_at")]
    assert time_fields
    for key in time_fields:
        assert data[key] == "2024-05-01T09:00:00.123456+00:00"
    for value in data.values():
        assert value is None or type(value) in (str, int, bool, list)
    assert event.occurred_at == T


def test_enums_are_stored_as_their_values():
    opened = ONE_OF_EACH[0].to_data()
    closed = ONE_OF_EACH[8].to_data()
    assert opened["priority"] == "high"
    assert closed["closed_by_role"] == "customer"


def test_times_in_other_zones_are_kept_as_the_same_instant_in_utc():
    tehran = timezone(timedelta(hours=3, minutes=30))
    event = TicketClaimed(
        ticket_id="t-1",
        agent_id="a",
        department="billing",
        claimed_at=datetime(2024, 5, 1, 12, 30, tzinfo=tehran),
    )
    assert event.claimed_at == NOW
    assert event.claimed_at.tzinfo is not None and event.claimed_at.utcoffset() == timedelta(0)
    assert event.to_data()["claimed_at"] == "2024-05-01T09:00:00+00:00"


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError):
        TicketClaimed(
            ticket_id="t-1", agent_id="a", department="b", claimed_at=datetime(2024, 5, 1)
        )


def test_stored_data_with_an_offset_other_than_utc_still_reads_as_utc():
    data = ONE_OF_EACH[1].to_data() | {"claimed_at": "2024-05-01T12:30:00+03:30"}
    event = event_from_data("TicketClaimed", data)
    assert event.claimed_at == NOW
    assert event.claimed_at.utcoffset() == timedelta(0)


def test_an_unknown_event_type_is_an_error_not_a_skip():
    with pytest.raises(UnknownEventType):
        event_from_data("TicketVanished", {"ticket_id": "t-1"})


@pytest.mark.parametrize("version", [0, 2])
def test_a_schema_version_this_code_does_not_know_is_refused(version):
    with pytest.raises(UnsupportedSchemaVersion):
        event_from_data("TicketClaimed", ONE_OF_EACH[1].to_data(), version)


def test_data_missing_a_field_is_refused():
    data = ONE_OF_EACH[1].to_data()
    del data["department"]
    with pytest.raises(EventDecodingError, match="department"):
        event_from_data("TicketClaimed", data)


def test_data_with_an_unexpected_field_is_refused():
    data = ONE_OF_EACH[1].to_data() | {"colour": "blue"}
    with pytest.raises(EventDecodingError, match="colour"):
        event_from_data("TicketClaimed", data)


@pytest.mark.parametrize(
    ("field", "value"),
    [("score", "4"), ("score", True), ("rated_at", "yesterday"), ("customer_id", None)],
)
def test_data_of_the_wrong_type_is_refused(field, value):
    data = ONE_OF_EACH[-1].to_data() | {field: value}
    with pytest.raises(EventDecodingError):
        event_from_data("SatisfactionRated", data)


def test_an_unknown_enum_value_is_refused():
    data = ONE_OF_EACH[0].to_data() | {"priority": "whenever"}
    with pytest.raises(EventDecodingError):
        event_from_data("TicketOpened", data)


def test_decoding_does_not_change_the_data_it_was_given():
    data = ONE_OF_EACH[0].to_data()
    copy = dict(data)
    event_from_data("TicketOpened", data)
    assert data == copy


# -- upcasting: how an event's shape changes without rewriting the log -------------------


@dataclasses.dataclass(frozen=True)
class ClaimedV2(DomainEvent):
    """An imagined second version of TicketClaimed that also names the claim's origin."""

    TYPE: ClassVar[str] = "TicketClaimed"
    SCHEMA_VERSION: ClassVar[int] = 2

    ticket_id: str
    agent_id: str
    department: str
    origin: str
    claimed_at: datetime


def registry_with_v2() -> EventRegistry:
    registry = EventRegistry([ClaimedV2])

    @registry.register_upcaster("TicketClaimed", from_version=1)
    def v1_to_v2(data: dict) -> dict:
        return {**data, "origin": "manual"}

    return registry


def test_an_event_stored_under_version_1_is_read_as_version_2_through_its_upcaster():
    stored_v1 = ONE_OF_EACH[1].to_data()

    event = registry_with_v2().decode("TicketClaimed", stored_v1, schema_version=1)

    assert event == ClaimedV2(
        ticket_id="t-1", agent_id="agent-1", department="billing", origin="manual", claimed_at=T
    )


def test_an_event_stored_under_the_current_version_skips_the_upcasters():
    data = ONE_OF_EACH[1].to_data() | {"origin": "auto"}
    event = registry_with_v2().decode("TicketClaimed", data, schema_version=2)
    assert event.origin == "auto"


def test_a_missing_upcaster_is_reported_not_guessed():
    registry = EventRegistry([ClaimedV2])
    with pytest.raises(UnsupportedSchemaVersion, match="v1 to v2"):
        registry.decode("TicketClaimed", ONE_OF_EACH[1].to_data(), schema_version=1)


def test_an_upcaster_is_registered_once():
    registry = registry_with_v2()
    with pytest.raises(ValueError):
        registry.register_upcaster("TicketClaimed", 1)(lambda data: data)


def test_two_classes_cannot_claim_one_wire_name():
    with pytest.raises(ValueError):
        EventRegistry([TicketClaimed, ClaimedV2])


# -- any text survives the trip ------------------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)


@given(
    subject=text,
    body=text,
    organisation_id=st.none() | text,
    priority=st.sampled_from(Priority),
    needs_follow_up=st.booleans(),
    opened_at=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=3, minutes=30))]),
    ),
)
def test_any_opening_reads_back_equal(
    subject, body, organisation_id, priority, needs_follow_up, opened_at
):
    event = TicketOpened(
        ticket_id="t-1",
        number="97039004",
        customer_id="c",
        organisation_id=organisation_id,
        department="billing",
        subject=subject,
        priority=priority,
        message_id="m",
        body=body,
        needs_follow_up=needs_follow_up,
        opened_at=opened_at,
    )
    stored = json.loads(json.dumps(event.to_data()))
    assert event_from_data("TicketOpened", stored) == event
