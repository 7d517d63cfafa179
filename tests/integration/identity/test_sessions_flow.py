"""Login, throttling, tokens, refresh, logout and passwords: the application layer on
real PostgreSQL with a clock the tests move."""

from __future__ import annotations

from datetime import timedelta

from pasokh_common.context import CallContext
from pasokh_common.errors import ValidationFailed

import psycopg
import pytest

from services.identity.domain import errors
from services.identity.domain.throttling import LoginPolicy
from tests.integration.identity.support import PASSWORD, new_phone, wrong

pytestmark = pytest.mark.integration
ADDRESS = "198.51.100.20"


def verified_customer(t, phone=None, **extra) -> dict:
    phone = phone or new_phone()
    payload = {"kind": "person", "name": "رضا احمدی", "phone": phone, "password": PASSWORD}
    user = t.app.accounts.register({**payload, **extra}, ADDRESS, CallContext())["user"]
    code = t.sender.last_code(phone)
    t.app.accounts.verify_phone({"phone": phone, "code": code}, CallContext())
    return {**user, "phone": phone}


def login(t, who: str, password: str = PASSWORD, address: str = ADDRESS) -> dict:
    return t.app.sessions.login({"login": who, "password": password}, address)


def test_login_by_phone_or_username_gives_tokens_and_the_actor(identity_app):
    t = identity_app
    user = verified_customer(t, username="reza")
    for who in (user["phone"], "0" + user["phone"][3:], "Reza"):
        answer = login(t, who)
        assert answer["token_type"] == "Bearer" and answer["expires_in"] == 900
        assert answer["refresh_token"] and answer["user"]["id"] == user["id"]
        actor = t.app.sessions.validate_token(answer["access_token"])
        assert actor == {
            "id": user["id"],
            "role": "customer",
            "departments": [],
            "organisation_id": None,
        }


def test_an_unverified_account_cannot_log_in(identity_app):
    t = identity_app
    phone = new_phone()
    t.app.accounts.register(
        {"kind": "person", "name": "نیما", "phone": phone, "password": PASSWORD},
        ADDRESS,
        CallContext(),
    )
    with pytest.raises(errors.PhoneNotVerified):
        login(t, phone)


def test_a_wrong_password_and_an_unknown_account_answer_alike(identity_app):
    t = identity_app
    user = verified_customer(t)
    with pytest.raises(errors.InvalidCredentials) as wrong_password:
        login(t, user["phone"], "not the password")
    with pytest.raises(errors.InvalidCredentials) as unknown:
        login(t, new_phone(), PASSWORD)
    assert wrong_password.value.to_dict() == unknown.value.to_dict()


def test_failed_logins_are_throttled_per_account_then_released(identity_app):
    t = identity_app
    user = verified_customer(t)
    for _ in range(5):
        t.clock.advance(1)
        with pytest.raises(errors.InvalidCredentials):
            login(t, user["phone"], "guess guess", address=f"10.0.0.{_}")
    with pytest.raises(errors.LoginThrottled) as caught:
        login(t, user["phone"])  # the right password, from a new address: still throttled
    assert caught.value.retry_after_seconds == 900 - 4
    t.clock.advance(900 - 4)
    assert login(t, user["phone"])["access_token"]


def test_a_success_clears_the_account_failures(identity_app):
    t = identity_app
    user = verified_customer(t)
    for _ in range(4):
        with pytest.raises(errors.InvalidCredentials):
            login(t, user["phone"], "guess guess")
    login(t, user["phone"])
    for _ in range(4):
        with pytest.raises(errors.InvalidCredentials):
            login(t, user["phone"], "guess guess")
    assert login(t, user["phone"])["access_token"]


def test_failed_logins_are_throttled_per_address_across_accounts(make_identity_app):
    t = make_identity_app(login_policy=LoginPolicy(max_failures_per_address=3))
    users = [verified_customer(t) for _ in range(2)]
    for who in (users[0]["phone"], users[1]["phone"], "nobody.here"):
        with pytest.raises(errors.InvalidCredentials):
            login(t, who, "guess guess", address="172.16.0.1")
    with pytest.raises(errors.LoginThrottled):
        login(t, users[0]["phone"], address="172.16.0.1")
    assert login(t, users[0]["phone"], address="172.16.0.2")["access_token"]


def test_guessing_unknown_usernames_is_throttled_too(identity_app):
    t = identity_app
    for _ in range(5):
        with pytest.raises(errors.InvalidCredentials):
            login(t, "ghost", "guess guess", address=f"10.1.0.{_}")
    with pytest.raises(errors.LoginThrottled):
        login(t, "ghost", "guess guess", address="10.1.0.99")


def test_an_access_token_expires_on_the_clock(identity_app):
    t = identity_app
    token = login(t, verified_customer(t)["phone"])["access_token"]
    t.clock.advance(899)
    t.app.sessions.validate_token(token)
    t.clock.advance(1)
    with pytest.raises(errors.TokenExpired):
        t.app.sessions.validate_token(token)


def test_refresh_rotates_and_a_reused_refresh_token_ends_every_session(identity_app):
    t = identity_app
    first = login(t, verified_customer(t)["phone"])
    t.clock.advance(60)
    second = t.app.sessions.refresh({"refresh_token": first["refresh_token"]})
    assert second["refresh_token"] != first["refresh_token"]
    t.app.sessions.validate_token(second["access_token"])
    with pytest.raises(errors.InvalidToken):
        t.app.sessions.refresh({"refresh_token": first["refresh_token"]})  # replayed
    with pytest.raises(errors.InvalidToken):
        t.app.sessions.refresh({"refresh_token": second["refresh_token"]})  # ended with it


def test_a_refresh_token_expires(identity_app):
    t = identity_app
    answer = login(t, verified_customer(t)["phone"])
    t.clock.advance(timedelta(days=30).total_seconds())
    with pytest.raises(errors.InvalidToken):
        t.app.sessions.refresh({"refresh_token": answer["refresh_token"]})


def test_logout_revokes_the_refresh_token_and_the_access_token(identity_app):
    t = identity_app
    answer = login(t, verified_customer(t)["phone"])
    out = t.app.sessions.logout(
        {"refresh_token": answer["refresh_token"], "access_token": answer["access_token"]}
    )
    assert out == {"logged_out": True}
    with pytest.raises(errors.InvalidToken):
        t.app.sessions.refresh({"refresh_token": answer["refresh_token"]})
    with pytest.raises(errors.InvalidToken):
        t.app.sessions.validate_token(answer["access_token"])
    assert t.app.sessions.logout({"refresh_token": "never-issued"}) == {"logged_out": True}


def test_changing_the_password_ends_every_session(identity_app):
    t = identity_app
    user = verified_customer(t)
    answer = login(t, user["phone"])
    with pytest.raises(errors.WrongPassword):
        t.app.accounts.change_password(
            answer["access_token"],
            {"current_password": "not it at all", "new_password": "another long secret"},
            ADDRESS,
            CallContext(),
        )
    t.app.accounts.change_password(
        answer["access_token"],
        {"current_password": PASSWORD, "new_password": "another long secret"},
        ADDRESS,
        CallContext(),
    )
    with pytest.raises(errors.InvalidToken):
        t.app.sessions.validate_token(answer["access_token"])
    with pytest.raises(errors.InvalidToken):
        t.app.sessions.refresh({"refresh_token": answer["refresh_token"]})
    with pytest.raises(errors.InvalidCredentials):
        login(t, user["phone"])
    assert login(t, user["phone"], "another long secret")["access_token"]
    [event] = t.events("PasswordChanged")
    assert event["data"]["method"] == "change" and event["data"]["user_id"] == user["id"]


def test_password_reset_by_sms_code(identity_app):
    t = identity_app
    user = verified_customer(t)
    old = login(t, user["phone"])
    t.app.accounts.request_password_reset({"phone": user["phone"]}, ADDRESS)
    code = t.sender.last_code(user["phone"], "reset_password")
    with pytest.raises(errors.WrongCode):
        t.app.accounts.reset_password(
            {"phone": user["phone"], "code": wrong(code), "new_password": "brand new secret"},
            CallContext(),
        )
    with pytest.raises(ValidationFailed):
        t.app.accounts.reset_password(
            {"phone": user["phone"], "code": code, "new_password": "short"}, CallContext()
        )
    done = t.app.accounts.reset_password(
        {"phone": user["phone"], "code": code, "new_password": "brand new secret"}, CallContext()
    )
    assert done == {"password_reset": True}
    with pytest.raises(errors.InvalidToken):
        t.app.sessions.validate_token(old["access_token"])
    assert login(t, user["phone"], "brand new secret")["access_token"]
    assert [e["data"]["method"] for e in t.events("PasswordChanged")] == ["reset"]


def test_a_verify_code_does_not_reset_a_password(identity_app):
    t = identity_app
    phone = new_phone()
    t.app.accounts.register(
        {"kind": "person", "name": "مینا", "phone": phone, "password": PASSWORD},
        ADDRESS,
        CallContext(),
    )
    with pytest.raises(errors.CodeExpired):
        t.app.accounts.reset_password(
            {"phone": phone, "code": t.sender.last_code(phone), "new_password": "brand new secret"},
            CallContext(),
        )


def test_reset_verifies_an_unverified_phone(identity_app):
    t = identity_app
    phone = new_phone()
    t.app.accounts.register(
        {"kind": "person", "name": "مینا", "phone": phone, "password": PASSWORD},
        ADDRESS,
        CallContext(),
    )
    t.app.accounts.request_password_reset({"phone": phone}, ADDRESS)
    code = t.sender.last_code(phone, "reset_password")
    t.app.accounts.reset_password(
        {"phone": phone, "code": code, "new_password": "brand new secret"}, CallContext()
    )
    assert login(t, phone, "brand new secret")["user"]["verified"] is True
    assert len(t.events("UserVerified")) == 1


def test_purge_forgets_only_what_no_rule_reads(identity_app):
    t = identity_app
    user = verified_customer(t)
    with pytest.raises(errors.InvalidCredentials):
        login(t, user["phone"], "guess guess")
    assert sum(t.app.purge().values()) == 0
    t.clock.advance(timedelta(days=31).total_seconds())
    counts = t.app.purge()
    assert counts["code_requests"] == 1 and counts["login_attempts"] == 1
    with psycopg.connect(t.db["admin_url"]) as conn:
        assert conn.execute("SELECT count(*) FROM identity.users").fetchone()[0] == 1
