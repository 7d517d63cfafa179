"""Registration, phone verification and codes: the application layer on real
PostgreSQL, with a clock the tests move (so a 2-minute expiry takes no time)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pasokh_common.context import CallContext
from pasokh_common.errors import ValidationFailed

import psycopg
import pytest

from services.identity.domain import errors
from services.identity.domain.codes import CodePolicy
from tests.integration.identity.support import (
    PASSWORD,
    new_phone,
    typed_as_people_do,
    wrong,
)

pytestmark = pytest.mark.integration
CTX_ADDRESS = "198.51.100.7"


def register(t, phone=None, kind="person", address=CTX_ADDRESS, **extra):
    payload = {"kind": kind, "name": "سارا کریمی", "phone": phone or new_phone()}
    payload |= {"password": PASSWORD, **extra}
    if kind == "company":
        payload.setdefault("organisation_name", "شرکت نمونه")
    return t.app.accounts.register(payload, address, CallContext())


def verify(t, phone, code):
    return t.app.accounts.verify_phone({"phone": phone, "code": code}, CallContext())


def test_a_person_registers_gets_a_code_and_verifies(identity_app):
    t = identity_app
    phone = new_phone()
    answer = register(t, typed_as_people_do(phone))
    user = answer["user"]
    assert answer["code_sent"] is True
    assert user["kind"] == "person" and user["role"] == "customer" and not user["verified"]
    assert "phone" not in user
    [sent] = t.sender.sent
    assert (sent.user_id, sent.phone, sent.purpose) == (user["id"], phone, "verify_phone")
    assert len(sent.code) == 4 and sent.code.isdigit()

    verified = verify(t, phone, sent.code)
    assert verified["user"]["verified"] is True
    [event] = t.events("UserVerified")
    assert event["data"]["user_id"] == user["id"]
    assert event["data"]["kind"] == "person" and event["data"]["organisation_id"] is None
    assert event["metadata"]["actor_id"] == user["id"]


def test_no_event_carries_the_phone_number_or_the_code(identity_app):
    t = identity_app
    phone = new_phone()
    register(t, phone)
    code = t.sender.last_code(phone)
    verify(t, phone, code)
    stored = repr([(e["data"], e["metadata"]) for e in t.events()])
    assert phone not in stored and phone[3:] not in stored
    assert "code" not in {key for e in t.events() for key in e["data"]}
    with psycopg.connect(t.db["admin_url"]) as conn:
        digest = conn.execute("SELECT code_digest FROM identity.verification_codes").fetchone()[0]
    assert code.encode() not in bytes(digest)
    assert len(bytes(digest)) == 32


def test_a_company_registers_with_an_organisation(identity_app):
    t = identity_app
    answer = register(t, kind="company", organisation_name="شركت آلفا")
    user = answer["user"]
    assert user["kind"] == "company" and user["organisation_id"]
    assert user["organisation_name"] == "شرکت آلفا"  # Arabic Kaf normalised
    types = [e["event_type"] for e in t.events()]
    assert types == ["OrganisationRegistered", "UserRegistered"]
    assert t.events("UserRegistered")[0]["data"]["organisation_id"] == user["organisation_id"]


def test_a_company_needs_its_name(identity_app):
    with pytest.raises(ValidationFailed) as caught:
        register(identity_app, kind="company", organisation_name=None)
    assert "organisation_name" in caught.value.fields


@pytest.mark.parametrize(
    "typed",
    [
        "09121234567",
        "+98 912 123 4567",
        "0098-912-123-4567",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "٠٩١٢١٢٣٤٥٦٧",
        "9121234567",
    ],
)
def test_mobile_numbers_as_people_type_them_are_one_number(identity_app, typed):
    t = identity_app
    register(t, "09121234567")
    with pytest.raises(errors.PhoneTaken):
        register(t, typed)
    assert len(t.events("UserRegistered")) == 1


@pytest.mark.parametrize("typed", ["12345", "0912123456", "08121234567", "phone", "+1 555 0100"])
def test_an_invalid_number_is_a_bilingual_field_error(identity_app, typed):
    with pytest.raises(ValidationFailed) as caught:
        register(identity_app, typed)
    [message] = caught.value.fields["phone"]
    assert "Iranian mobile" in message["en"] and "شمارهٔ همراه" in message["fa"]


def test_a_weak_password_is_refused_in_both_languages(identity_app):
    phone = new_phone()
    with pytest.raises(ValidationFailed) as caught:
        register(identity_app, phone, password="short")
    assert caught.value.fields["password"][0]["fa"]
    with pytest.raises(ValidationFailed):
        register(identity_app, phone, password="0" + phone[3:])


def test_a_username_is_unique_and_case_insensitive(identity_app):
    register(identity_app, username="Sara.K")
    with pytest.raises(errors.UsernameTaken):
        register(identity_app, username="sara.k")


def test_a_wrong_code_counts_and_the_fifth_voids_the_code(identity_app):
    t = identity_app
    phone = new_phone()
    register(t, phone)
    code = t.sender.last_code(phone)
    for tries_left in (4, 3, 2, 1):
        with pytest.raises(errors.WrongCode) as caught:
            verify(t, phone, wrong(code))
        assert caught.value.tries_left == tries_left
    with pytest.raises(errors.CodeLocked):
        verify(t, phone, wrong(code))
    with pytest.raises(errors.CodeLocked):
        verify(t, phone, code)  # even the right code: it is void
    assert t.events("UserVerified") == []


def test_concurrent_guesses_still_get_five_tries_in_all(identity_app):
    t = identity_app
    phone = new_phone()
    register(t, phone)
    code = t.sender.last_code(phone)
    guesses = [f"{(int(code) + n) % 10000:04d}" for n in range(1, 13)]

    def guess(candidate: str) -> str:
        try:
            verify(t, phone, candidate)
        except errors.IdentityError as error:
            return error.code
        return "ok"

    with ThreadPoolExecutor(max_workers=len(guesses)) as pool:
        answers = sorted(pool.map(guess, guesses))
    assert answers == ["code_locked"] * 8 + ["wrong_code"] * 4
    with pytest.raises(errors.CodeLocked):
        verify(t, phone, code)


def test_a_code_expires_after_its_lifetime(identity_app):
    t = identity_app
    phone = new_phone()
    register(t, phone)
    t.clock.advance(120)
    with pytest.raises(errors.CodeExpired):
        verify(t, phone, t.sender.last_code(phone))


def test_a_code_just_inside_its_lifetime_works(identity_app):
    t = identity_app
    phone = new_phone()
    register(t, phone)
    t.clock.advance(119)
    assert verify(t, phone, t.sender.last_code(phone))["verified"]


def test_a_used_code_cannot_be_used_again(identity_app):
    t = identity_app
    phone = new_phone()
    register(t, phone)
    code = t.sender.last_code(phone)
    verify(t, phone, code)
    with pytest.raises(errors.CodeExpired):
        verify(t, phone, code)


def test_resend_waits_for_the_cooldown_and_replaces_the_code(identity_app):
    t = identity_app
    phone = new_phone()
    register(t, phone)
    first = t.sender.last_code(phone)
    t.clock.advance(59)
    with pytest.raises(errors.TooManyCodes) as caught:
        t.app.accounts.resend_code({"phone": phone}, CTX_ADDRESS)
    assert caught.value.retry_after_seconds == 1
    assert caught.value.to_dict()["retry_after_seconds"] == 1
    t.clock.advance(1)
    t.app.accounts.resend_code({"phone": phone}, CTX_ADDRESS)
    second = t.sender.last_code(phone)
    assert len(t.sender.sent) == 2
    if first != second:
        with pytest.raises(errors.WrongCode):
            verify(t, phone, first)
    assert verify(t, phone, second)["verified"]


def test_codes_per_hour_per_number_are_limited(make_identity_app):
    t = make_identity_app(code_policy=CodePolicy(per_hour_per_phone=3))
    phone = new_phone()
    register(t, phone)
    for _ in range(2):
        t.clock.advance(60)
        t.app.accounts.resend_code({"phone": phone}, "203.0.113.1")
    t.clock.advance(60)
    with pytest.raises(errors.TooManyCodes) as caught:
        t.app.accounts.resend_code({"phone": phone}, "203.0.113.2")
    # Free again when the first of the three leaves the hour.
    assert caught.value.retry_after_seconds == 3600 - 180
    t.clock.advance(3600 - 180)
    t.app.accounts.resend_code({"phone": phone}, "203.0.113.2")
    assert len(t.sender.sent) == 4


def test_codes_per_hour_per_address_are_limited_before_an_account_is_made(make_identity_app):
    t = make_identity_app(code_policy=CodePolicy(per_hour_per_address=2))
    register(t, address="192.0.2.9")
    register(t, address="192.0.2.9")
    with pytest.raises(errors.TooManyCodes):
        register(t, address="192.0.2.9")
    assert len(t.events("UserRegistered")) == 2
    register(t, address="192.0.2.10")


def test_a_number_without_an_account_gets_the_same_answer_and_no_sms(identity_app):
    t = identity_app
    known = new_phone()
    register(t, known)
    t.clock.advance(60)
    answer_known = t.app.accounts.request_password_reset({"phone": known}, "a")
    answer_unknown = t.app.accounts.request_password_reset({"phone": new_phone()}, "a")
    assert answer_known == answer_unknown
    assert [s.purpose for s in t.sender.sent] == ["verify_phone", "reset_password"]


def test_resend_for_a_verified_number_sends_nothing(identity_app):
    t = identity_app
    phone = new_phone()
    register(t, phone)
    verify(t, phone, t.sender.last_code(phone))
    t.clock.advance(60)
    t.app.accounts.resend_code({"phone": phone}, CTX_ADDRESS)
    assert len(t.sender.sent) == 1


def test_when_notify_is_down_the_account_exists_and_a_resend_works_at_once(identity_app):
    t = identity_app
    phone = new_phone()
    t.sender.failing = True
    answer = register(t, phone)
    assert answer["code_sent"] is False
    with pytest.raises(errors.CodeNotSent):
        t.app.accounts.resend_code({"phone": phone}, CTX_ADDRESS)
    t.sender.failing = False
    # Nothing that failed counts: no cooldown, and no code was stored.
    with pytest.raises(errors.CodeExpired):
        verify(t, phone, "1234")
    t.app.accounts.resend_code({"phone": phone}, CTX_ADDRESS)
    assert verify(t, phone, t.sender.last_code(phone))["verified"]


def test_a_refused_registration_records_no_event(identity_app):
    t = identity_app
    phone = new_phone()
    register(t, phone)
    with pytest.raises(errors.PhoneTaken):
        register(t, phone, kind="company")
    assert [e["event_type"] for e in t.events()] == ["UserRegistered"]


def test_the_event_log_is_append_only_for_the_service_role(identity_app):
    t = identity_app
    register(t)
    with psycopg.connect(t.db["url"]) as conn:
        for statement in ("UPDATE identity.events SET data = '{}'", "DELETE FROM identity.events"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
    with psycopg.connect(t.db["admin_url"]) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM identity.events")
