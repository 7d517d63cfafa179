"""The boundary: mobile numbers as typed, codes in any digits, bounded lengths,
bilingual field errors."""

from __future__ import annotations

from pasokh_common.errors import ValidationFailed

import pytest

from services.identity import schemas
from services.identity.domain.errors import InvalidToken

BASE = {"kind": "person", "name": "سارا", "phone": "09121234567", "password": "long enough"}


def load_register(**changes):
    return schemas.load(schemas.RegisterSchema(), {**BASE, **changes})


def field_errors(**changes) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        load_register(**changes)
    return caught.value.fields


@pytest.mark.parametrize(
    "typed",
    [
        "09121234567",
        "0912 123 4567",
        "0912-123-4567",
        "+98 912 123 4567",
        "+989121234567",
        "00989121234567",
        "989121234567",
        "9121234567",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "٠٩١٢١٢٣٤٥٦٧",
        "(0912) 123-4567",
    ],
)
def test_mobile_numbers_are_stored_in_e164(typed):
    assert load_register(phone=typed)["phone"] == "+989121234567"


@pytest.mark.parametrize(
    "typed", ["0912123456", "02112345678", "+1 202 555 0100", "abc", "9" * 5000]
)
def test_invalid_mobile_numbers_get_a_message_in_both_languages(typed):
    [message] = field_errors(phone=typed)["phone"]
    assert message == {"fa": schemas._FA[schemas.INVALID_PHONE], "en": schemas.INVALID_PHONE}


def test_names_are_normalised_for_persian():
    assert load_register(name="علي كريمي")["name"] == "علی کریمی"


def test_the_password_is_kept_exactly_as_typed():
    assert load_register(password="  يك رمز  ")["password"] == "  يك رمز  "


def test_unknown_fields_and_huge_values_are_refused():
    assert "role" in field_errors(role="admin")
    for field in ("name", "password", "username", "organisation_name"):
        assert field in field_errors(**{field: "x" * 100_000}), field


def test_a_company_needs_an_organisation_name():
    [message] = field_errors(kind="company")["organisation_name"]
    assert message["fa"] == "نام شرکت الزامی است."


@pytest.mark.parametrize(
    "typed,expected", [("1234", "1234"), ("۰۴۲۷", "0427"), (" 12 34 ", "1234")]
)
def test_codes_in_any_digits(typed, expected):
    values = schemas.load(schemas.VerifySchema(), {"phone": "09121234567", "code": typed})
    assert values["code"] == expected


@pytest.mark.parametrize("typed", ["123", "12345", "abcd", "١٢٣", "1" * 10_000, "１２３４"])
def test_anything_but_four_digits_is_not_a_code(typed):
    with pytest.raises(ValidationFailed) as caught:
        schemas.load(schemas.VerifySchema(), {"phone": "09121234567", "code": typed})
    assert "code" in caught.value.fields


def test_a_non_dict_payload_is_refused():
    with pytest.raises(ValidationFailed):
        schemas.load(schemas.LoginSchema(), ["login", "password"])


@pytest.mark.parametrize("token", [None, 5, "", "x" * 5000, ["a"]])
def test_a_token_argument_that_is_not_a_sane_string_is_not_authenticated(token):
    with pytest.raises(InvalidToken):
        schemas.load_token(token)


def test_staff_roles_offered_by_the_api_exclude_admin():
    payload = {"name": "مدیر", "username": "boss", "password": "long enough", "role": "admin"}
    with pytest.raises(ValidationFailed):
        schemas.load(schemas.CreateAgentSchema(), payload)
