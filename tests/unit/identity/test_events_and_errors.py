"""Events carry no personal data and name their streams; every refusal has a stable
code, an HTTP status and messages in both languages."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.identity.domain import errors
from services.identity.domain.events import (
    ALL_EVENT_CLASSES,
    AgentAssignedToDepartment,
    DepartmentCreated,
    UserVerified,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PERSONAL = {"phone", "password", "password_hash", "code", "name_of_person", "mobile"}


def test_no_event_has_a_field_for_personal_data_or_codes():
    for cls in ALL_EVENT_CLASSES:
        names = {f.name for f in dataclasses.fields(cls)}
        assert not names & PERSONAL, cls.TYPE


def test_event_types_are_unique():
    assert len({cls.TYPE for cls in ALL_EVENT_CLASSES}) == len(ALL_EVENT_CLASSES)


def test_user_verified_carries_id_kind_organisation_and_time():
    event = UserVerified("u-1", "company", "org-1", NOW.astimezone(timezone(timedelta(hours=3.5))))
    assert event.to_data() == {
        "user_id": "u-1",
        "kind": "company",
        "organisation_id": "org-1",
        "verified_at": "2026-03-01T09:00:00+00:00",
    }
    assert event.stream_id == "user-u-1"


def test_streams_are_per_user_and_per_department():
    assert AgentAssignedToDepartment("u-2", "sales", "agent", NOW).stream_id == "user-u-2"
    assert DepartmentCreated("sales", "فروش", NOW).stream_id == "department-sales"


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError):
        DepartmentCreated("sales", "فروش", datetime(2026, 3, 1, 9, 0)).to_data()


def test_every_error_has_a_unique_code_a_status_and_two_languages():
    codes = [cls.code for cls in errors.ALL_IDENTITY_ERRORS]
    assert len(set(codes)) == len(codes)
    for cls in errors.ALL_IDENTITY_ERRORS:
        assert 400 <= cls.http_status < 600
        assert cls.message_en and cls.message_fa and cls.message_fa != cls.message_en


def test_waiting_errors_say_how_long():
    error = errors.TooManyCodes(41.2)
    assert error.http_status == 429
    assert error.to_dict()["retry_after_seconds"] == 42
    assert errors.LoginThrottled(0.1).retry_after_seconds == 1


def test_a_wrong_code_says_how_many_tries_are_left():
    assert errors.WrongCode(3).to_dict()["tries_left"] == 3
