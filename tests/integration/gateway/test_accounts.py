"""The account routes through HTTP, with identity and the notify double behind them."""

from __future__ import annotations

import psycopg
import pytest

from tests.integration.gateway.client import (
    Api,
    error_of,
    login,
    new_phone,
    ok,
    register_customer,
)
from tests.integration.gateway.stack import PASSWORD
from tests.support.notify_double import latest_code, messages_to

pytestmark = pytest.mark.integration


def users_with_phone(stack, phone: str) -> int:
    with psycopg.connect(stack.identity_db["admin_url"]) as conn:
        return conn.execute(
            "SELECT count(*) FROM identity.users WHERE phone = %s", (phone,)
        ).fetchone()[0]


def test_register_verify_login_refresh_and_logout(stack):
    api = Api(stack.base_url)
    phone = new_phone()
    typed = "0" + phone[3:6] + " " + phone[6:9] + " " + phone[9:]
    registered = ok(
        api.post(
            "/api/v1/auth/register", {"name": "سارا كريمي", "phone": typed, "password": PASSWORD}
        ),
        201,
    )
    assert registered["code_sent"] is True and registered["user"]["verified"] is False
    assert registered["user"]["name"] == "سارا کریمی"  # Arabic Kaf/Yeh made Persian
    error = error_of(api.post("/api/v1/auth/login", {"login": phone, "password": PASSWORD}), 403)
    assert error["code"] == "phone_not_verified"

    ok(api.post("/api/v1/auth/resend-code", {"phone": phone}))
    codes = messages_to(stack.outbox, phone, "verify_phone")
    assert len(codes) == 2
    wrong = f"{(int(codes[-1]['code']) + 1) % 10000:04d}"
    error = error_of(api.post("/api/v1/auth/verify-phone", {"phone": phone, "code": wrong}), 400)
    assert error["code"] == "wrong_code" and error["tries_left"] == 4
    verified = ok(
        api.post("/api/v1/auth/verify-phone", {"phone": phone, "code": codes[-1]["code"]})
    )
    assert verified["verified"] is True

    session = ok(api.post("/api/v1/auth/login", {"login": phone, "password": PASSWORD}))
    assert session["token_type"] == "Bearer"
    me = ok(api.get("/api/v1/me", token=session["access_token"]))
    assert me["id"] == registered["user"]["id"] and "phone" not in me

    renewed = ok(api.post("/api/v1/auth/refresh", {"refresh_token": session["refresh_token"]}))
    assert ok(api.get("/api/v1/me", token=renewed["access_token"]))["id"] == me["id"]
    error = error_of(
        api.post("/api/v1/auth/refresh", {"refresh_token": session["refresh_token"]}), 401
    )
    assert error["code"] == "invalid_token"  # a rotated refresh token is dead

    out = api.post(
        "/api/v1/auth/logout",
        {"refresh_token": renewed["refresh_token"]},
        token=renewed["access_token"],
    )
    assert ok(out) == {"logged_out": True}
    # Evicted from the gateway's cache at once, and revoked in identity.
    assert (
        error_of(api.get("/api/v1/me", token=renewed["access_token"]), 401)["code"]
        == "invalid_token"
    )


def test_password_reset_by_sms_code_and_password_change(stack):
    customer = register_customer(stack)
    api = Api(stack.base_url)
    ok(api.post("/api/v1/auth/password-reset", {"phone": customer.phone}))
    code = latest_code(stack.outbox, customer.phone, "reset_password")
    body = {"phone": customer.phone, "code": code, "new_password": "another long secret"}
    assert ok(api.post("/api/v1/auth/password-reset/confirm", body)) == {"password_reset": True}
    # Every session ended (the gateway's token cache holds a verdict 2 s at most here).
    session = ok(
        api.post("/api/v1/auth/login", {"login": customer.phone, "password": "another long secret"})
    )

    api.token = session["access_token"]
    change = {"current_password": "another long secret", "new_password": "a third long secret"}
    assert ok(api.post("/api/v1/me/password", change)) == {"password_changed": True}
    assert error_of(api.get("/api/v1/me"), 401)["code"] == "invalid_token"
    ok(api.post("/api/v1/auth/login", {"login": customer.phone, "password": "a third long secret"}))


def test_a_company_member_adds_a_colleague_who_sees_the_company_tickets(stack, department):
    owner = register_customer(stack, kind="company", organisation_name="شرکت آلفا")
    colleague_phone = new_phone()
    added = ok(
        owner.api.post(
            "/api/v1/organisation/members",
            {"name": "همکار", "phone": colleague_phone, "password": PASSWORD},
        ),
        201,
    )
    assert added["user"]["organisation_id"] == owner.user["organisation_id"]
    api = Api(stack.base_url)
    code = latest_code(stack.outbox, colleague_phone)
    ok(api.post("/api/v1/auth/verify-phone", {"phone": colleague_phone, "code": code}))
    colleague = login(stack, colleague_phone, api)
    ticket = ok(
        owner.api.post(
            "/api/v1/tickets",
            {"department": department, "subject": "قرارداد شرکت", "body": "متن"},
        ),
        201,
    )
    listed = ok(colleague.api.get("/api/v1/tickets"))
    assert [t["ticket_id"] for t in listed["items"]] == [ticket["ticket_id"]]


def test_bad_registrations_change_nothing_and_say_why_in_both_languages(stack):
    phone = new_phone()
    for language, message in (
        ("fa", "شمارهٔ همراه معتبر نیست"),
        ("en", "Not a valid Iranian mobile"),
    ):
        api = Api(stack.base_url, language=language)
        response = api.post(
            "/api/v1/auth/register", {"name": "سارا", "phone": "12345", "password": PASSWORD}
        )
        error = error_of(response, 400)
        assert error["code"] == "validation_failed"
        assert error["fields"]["phone"][0].startswith(message)
    api = Api(stack.base_url, language="en")
    error = error_of(
        api.post("/api/v1/auth/register", {"kind": "company", "name": "x", "phone": phone,
                                           "password": PASSWORD, "role": "admin"}),
        400,
    )  # fmt: skip
    assert set(error["fields"]) == {"name", "role"}
    assert users_with_phone(stack, phone) == 0
    assert messages_to(stack.outbox, phone) == []
    error = error_of(api.post("/api/v1/auth/verify-phone", {"phone": phone, "code": "x" * 50}), 400)
    assert set(error["fields"]) == {"code"}


def test_a_taken_phone_is_a_conflict(stack):
    customer = register_customer(stack)
    response = Api(stack.base_url).post(
        "/api/v1/auth/register", {"name": "دیگری", "phone": customer.phone, "password": PASSWORD}
    )
    assert error_of(response, 409)["code"] == "phone_taken"
