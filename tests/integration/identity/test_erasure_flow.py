"""Right to be forgotten in identity: the account keeps its id, loses everything that
names the person, and ``UserErased`` is recorded once. Application layer on real
PostgreSQL (the whole path through the bus: tests/e2e/test_privacy.py)."""

from __future__ import annotations

from pasokh_common.context import CallContext
from pasokh_common.errors import ValidationFailed
from pasokh_common.personal_data import ERASED

import psycopg
import pytest
from psycopg.rows import dict_row

from services.identity.domain import errors
from tests.integration.identity.support import PASSWORD, new_phone
from tests.integration.identity.test_staff_flow import admin_token

pytestmark = pytest.mark.integration


def register_customer(t) -> tuple[str, str]:
    phone = new_phone()
    payload = {"kind": "person", "name": "سارا کریمی", "phone": phone, "password": PASSWORD}
    user = t.app.accounts.register(payload, "10.0.0.1", CallContext())["user"]
    t.app.accounts.verify_phone({"phone": phone, "code": t.sender.last_code(phone)}, CallContext())
    return user["id"], phone


def row_of(t, user_id: str) -> dict:
    with psycopg.connect(t.db["admin_url"], row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT * FROM identity.users WHERE user_id = %s", (user_id,)
        ).fetchone()


def count(t, query: str, *params) -> int:
    with psycopg.connect(t.db["admin_url"], row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchone()["n"]


def test_erasing_a_customer_keeps_the_row_and_drops_the_person(identity_app):
    t = identity_app
    admin = admin_token(t)
    user_id, phone = register_customer(t)
    session = t.app.sessions.login({"login": phone, "password": PASSWORD}, "10.0.0.1")
    t.app.accounts.request_password_reset({"phone": phone}, "10.0.0.1")  # a code and a request

    answer = t.app.erasure.erase_user(admin, {"user_id": user_id}, CallContext())
    assert answer["user_id"] == user_id and answer["erased_now"] is True

    row = row_of(t, user_id)
    assert row["phone"] is None and row["username"] is None and row["name"] == ERASED
    assert row["phone_verified_at"] is None and row["erased_at"] is not None
    assert "argon2" not in row["password_hash"]
    assert count(t, "SELECT count(*) AS n FROM identity.code_requests WHERE phone = %s", phone) == 0
    assert (
        count(
            t, "SELECT count(*) AS n FROM identity.verification_codes WHERE user_id = %s", user_id
        )
        == 0
    )
    assert (
        count(t, "SELECT count(*) AS n FROM identity.refresh_tokens WHERE user_id = %s", user_id)
        == 0
    )
    # the person can no longer get in, by any door
    with pytest.raises(errors.InvalidToken):
        t.app.sessions.validate_token(session["access_token"])
    with pytest.raises(errors.InvalidCredentials):
        t.app.sessions.login({"login": phone, "password": PASSWORD}, "10.0.0.2")
    # the id still resolves (tickets and messages refer to it), with nothing personal
    view = t.app.directory.get_user(user_id)
    assert view["name"] == ERASED and view["username"] is None and not view["verified"]
    # the number is free again for a new account
    register_again = {"kind": "person", "name": "کسی دیگر", "phone": phone, "password": PASSWORD}
    assert (
        t.app.accounts.register(register_again, "10.0.0.3", CallContext())["user"]["id"] != user_id
    )

    erased = t.events("UserErased")
    assert [(e["stream_id"], e["data"]["user_id"]) for e in erased] == [
        (f"user-{user_id}", user_id)
    ]
    assert set(erased[0]["data"]) == {"user_id", "erased_at"}
    assert phone not in str(t.events())  # no event ever carried the number


def test_erasing_twice_changes_nothing_and_records_nothing(identity_app):
    t = identity_app
    admin = admin_token(t)
    user_id, _ = register_customer(t)
    first = t.app.erasure.erase_user(admin, {"user_id": user_id}, CallContext())
    t.clock.advance(60)
    again = t.app.erasure.erase_user(admin, {"user_id": user_id}, CallContext())
    assert again == {**first, "erased_now": False}
    assert len(t.events("UserErased")) == 1


def test_erasing_staff_removes_them_from_their_departments(identity_app):
    t = identity_app
    admin = admin_token(t)
    t.app.staff.create_department(
        admin, {"department_id": "billing", "name": "مالی"}, CallContext()
    )
    agent = t.app.staff.create_agent(
        admin,
        {"name": "علی", "username": "ali.erase", "password": PASSWORD, "departments": ["billing"]},
        CallContext(),
    )
    t.app.erasure.erase_user(admin, {"user_id": agent["id"]}, CallContext())
    assert t.app.directory.get_user(agent["id"])["departments"] == []
    removed = t.events("AgentRemovedFromDepartment")
    assert [(e["data"]["user_id"], e["data"]["department_id"]) for e in removed] == [
        (agent["id"], "billing")
    ]


def test_unknown_users_bad_ids_and_non_admins_are_refused_and_change_nothing(identity_app):
    t = identity_app
    admin = admin_token(t)
    user_id, phone = register_customer(t)
    customer = t.app.sessions.login({"login": phone, "password": PASSWORD}, "x")["access_token"]
    before = len(t.events())
    with pytest.raises(errors.UserNotFound) as unknown:
        t.app.erasure.erase_user(
            admin, {"user_id": "00000000-0000-4000-8000-000000000000"}, CallContext()
        )
    assert unknown.value.http_status == 404
    with pytest.raises(ValidationFailed):
        t.app.erasure.erase_user(admin, {"user_id": "not-a-uuid"}, CallContext())
    with pytest.raises(errors.NotPermitted):
        t.app.erasure.erase_user(customer, {"user_id": user_id}, CallContext())
    admin_id = t.app.sessions.validate_token(admin)["id"]
    with pytest.raises(errors.NotPermitted):
        t.app.erasure.erase_user(admin, {"user_id": admin_id}, CallContext())
    assert len(t.events()) == before
    assert row_of(t, user_id)["phone"] == phone
