"""The identity service as a real process over nameko RPC, with the notify double as a
real process receiving the codes: each flow as the gateway will drive it.

Started once for the module; every test uses its own phone numbers and client
addresses so that the rate limits of one test never touch another.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime

import pasokh_common  # noqa: F401
from pasokh_common.errors import ServiceError
from pasokh_common.validation import load

import jwt
import psycopg
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.tickets.schemas import ActorSchema
from tests.integration.identity.support import PASSWORD, new_phone, typed_as_people_do, wrong
from tests.support.notify_double import latest_code, messages_to
from tests.support.processes import REPO_ROOT, spawn

pytestmark = pytest.mark.integration

FAILING_PHONE = new_phone()
IDENTITY_ENV = {"IDENTITY_CODE_SECONDS": "3", "NOTIFY_DOUBLE_FAIL_PHONES": FAILING_PHONE}


@pytest.fixture(scope="module")
def identity(identity_stack):
    with ClusterRpcProxy({"AMQP_URI": identity_stack.amqp_uri}, timeout=30) as cluster:
        yield cluster.identity


@pytest.fixture
def address() -> str:
    """A client address of this test's own, so rate limits never cross tests."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}"


def refused(call, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call(*args, **kwargs)
    return caught.value


def register(identity, address, phone=None, kind="person", **extra) -> tuple[dict, str]:
    phone = phone or new_phone()
    payload = {"kind": kind, "name": "سارا کریمی", "phone": phone, "password": PASSWORD, **extra}
    if kind == "company":
        payload.setdefault("organisation_name", "شرکت نمونه")
    return identity.register(payload, client_address=address), phone


def verified_login(identity, stack, address, **extra) -> tuple[dict, str]:
    _, phone = register(identity, address, **extra)
    code = latest_code(stack.outbox, phone)
    identity.verify_phone({"phone": phone, "code": code})
    return identity.login({"login": phone, "password": PASSWORD}, client_address=address), phone


def events(stack, event_type: str) -> list[dict]:
    with psycopg.connect(stack.db["admin_url"]) as conn:
        rows = conn.execute(
            "SELECT data, metadata FROM identity.events WHERE event_type = %s ORDER BY position",
            (event_type,),
        ).fetchall()
    return [{"data": r[0], "metadata": r[1]} for r in rows]


# -- register, verify, log in ----------------------------------------------------------


def test_a_person_registers_verifies_and_gets_an_actor_the_tickets_service_accepts(
    identity, identity_stack, address
):
    phone = new_phone()
    answer, _ = register(identity, address, typed_as_people_do(phone))
    assert answer["code_sent"] is True and answer["user"]["verified"] is False
    [sms] = messages_to(identity_stack.outbox, phone)
    assert (sms["user_id"], sms["purpose"], sms["language"]) == (
        answer["user"]["id"],
        "verify_phone",
        "fa",
    )
    error = refused(identity.login, {"login": phone, "password": PASSWORD}, client_address=address)
    assert error.code == "phone_not_verified" and error.http_status == 403

    verified = identity.verify_phone({"phone": phone, "code": sms["code"]})
    assert verified["user"]["verified"] is True
    [event] = [
        e
        for e in events(identity_stack, "UserVerified")
        if e["data"]["user_id"] == answer["user"]["id"]
    ]
    assert set(event["data"]) == {"user_id", "kind", "organisation_id", "verified_at"}

    session = identity.login({"login": phone, "password": PASSWORD}, client_address=address)
    actor = identity.validate_token(session["access_token"])
    assert load(ActorSchema(), actor)["id"] == answer["user"]["id"]  # the tickets contract
    assert actor == {
        "id": answer["user"]["id"],
        "role": "customer",
        "departments": [],
        "organisation_id": None,
    }
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    assert set(claims) >= {"sub", "role", "departments", "organisation_id", "exp", "iat", "jti"}
    assert claims["exp"] - claims["iat"] == 900


def test_a_company_registers_and_a_member_adds_a_colleague(identity, identity_stack, address):
    session, _ = verified_login(
        identity, identity_stack, address, kind="company", organisation_name="شرکت گاما"
    )
    organisation_id = session["user"]["organisation_id"]
    assert session["user"]["kind"] == "company" and organisation_id
    colleague = new_phone()
    added = identity.add_member(
        session["access_token"],
        {"name": "همکار", "phone": colleague, "password": PASSWORD},
        client_address=address,
    )
    assert added["user"]["organisation_id"] == organisation_id
    identity.verify_phone(
        {"phone": colleague, "code": latest_code(identity_stack.outbox, colleague)}
    )
    theirs = identity.login({"login": colleague, "password": PASSWORD}, client_address=address)
    assert identity.validate_token(theirs["access_token"])["organisation_id"] == organisation_id


# -- codes ---------------------------------------------------------------------------------


def test_code_brute_force_stops_at_five_tries(identity, identity_stack, address):
    _, phone = register(identity, address)
    code = latest_code(identity_stack.outbox, phone)
    answers = [
        refused(identity.verify_phone, {"phone": phone, "code": wrong(code)}) for _ in range(5)
    ]
    assert [a.code for a in answers] == ["wrong_code"] * 4 + ["code_locked"]
    # nameko's error serialisation turns numbers into strings (as with http_status).
    assert [int(a.payload["tries_left"]) for a in answers[:4]] == [4, 3, 2, 1]
    assert refused(identity.verify_phone, {"phone": phone, "code": code}).code == "code_locked"


def test_an_expired_code_fails(identity, identity_stack, address):
    _, phone = register(identity, address)
    code = latest_code(identity_stack.outbox, phone)
    time.sleep(3.2)  # IDENTITY_CODE_SECONDS=3 for this module
    assert refused(identity.verify_phone, {"phone": phone, "code": code}).code == "code_expired"


def test_the_resend_cooldown_holds(identity, identity_stack, address):
    _, phone = register(identity, address)
    error = refused(identity.resend_code, {"phone": phone}, client_address=address)
    assert error.code == "too_many_codes" and error.http_status == 429
    assert 1 <= int(error.payload["retry_after_seconds"]) <= 60
    assert len(messages_to(identity_stack.outbox, phone)) == 1


def test_when_notify_refuses_the_account_exists_and_the_error_says_so(identity, address):
    answer, _ = register(identity, address, FAILING_PHONE)
    assert answer["code_sent"] is False
    error = refused(identity.resend_code, {"phone": FAILING_PHONE}, client_address=address)
    assert error.code == "code_not_sent" and error.http_status == 503


def test_password_reset_through_the_sms_code(identity, identity_stack, address):
    session, phone = verified_login(identity, identity_stack, address)
    answer = identity.request_password_reset({"phone": phone}, client_address=address)
    assert answer["accepted"] is True
    code = latest_code(identity_stack.outbox, phone, "reset_password")
    identity.reset_password({"phone": phone, "code": code, "new_password": "a new long secret"})
    assert refused(identity.validate_token, session["access_token"]).code == "invalid_token"
    again = identity.login(
        {"login": phone, "password": "a new long secret"}, client_address=address
    )
    assert again["access_token"]


# -- sessions ------------------------------------------------------------------------------


def test_login_refresh_and_logout(identity, identity_stack, address):
    session, _ = verified_login(
        identity, identity_stack, address, username=f"u{uuid.uuid4().hex[:8]}"
    )
    renewed = identity.refresh({"refresh_token": session["refresh_token"]})
    assert identity.validate_token(renewed["access_token"])["id"] == session["user"]["id"]
    identity.logout(
        {"refresh_token": renewed["refresh_token"], "access_token": renewed["access_token"]}
    )
    assert refused(identity.validate_token, renewed["access_token"]).http_status == 401
    assert (
        refused(identity.refresh, {"refresh_token": renewed["refresh_token"]}).code
        == "invalid_token"
    )


def test_repeated_failed_logins_are_throttled(identity, identity_stack, address):
    _, phone = verified_login(identity, identity_stack, address)
    for _ in range(5):
        error = refused(
            identity.login, {"login": phone, "password": "x" * 12}, client_address=address
        )
        assert error.code == "invalid_credentials"
    error = refused(identity.login, {"login": phone, "password": PASSWORD}, client_address=address)
    assert error.code == "login_throttled" and error.http_status == 429
    assert int(error.payload["retry_after_seconds"]) > 0


# -- who may do what -----------------------------------------------------------------------


def create_admin(stack) -> str:
    phone = new_phone()
    result = subprocess.run(
        [sys.executable, "-m", "services.identity.cli", "create-admin", "--phone",
         typed_as_people_do(phone), "--name", "مدیر سامانه", "--username", "root.admin"],
        input=PASSWORD + "\n", capture_output=True, text=True, cwd=REPO_ROOT,
        env={**os.environ, **stack.env}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    return phone


def test_admin_manages_departments_and_agents_and_each_change_is_an_event(
    identity, identity_stack, address
):
    create_admin(identity_stack)
    admin = identity.login({"login": "root.admin", "password": PASSWORD}, client_address=address)
    token = admin["access_token"]
    assert admin["user"]["role"] == "admin"
    identity.create_department(
        token, {"department_id": "complaints", "name": "انتقادات و پیشنهادات"}
    )
    identity.create_department(token, {"department_id": "billing", "name": "مالی"})
    agent = identity.create_agent(
        token,
        {
            "name": "کارشناس",
            "username": "agent.one",
            "password": PASSWORD,
            "departments": ["complaints"],
        },
    )
    identity.assign_to_department(token, {"user_id": agent["id"], "department_id": "billing"})
    agent_session = identity.login(
        {"login": "agent.one", "password": PASSWORD}, client_address=address
    )
    assert identity.validate_token(agent_session["access_token"])["departments"] == [
        "billing",
        "complaints",
    ]
    identity.remove_from_department(token, {"user_id": agent["id"], "department_id": "complaints"})
    assert identity.validate_token(agent_session["access_token"])["departments"] == ["billing"]
    assert {d["department_id"] for d in identity.list_departments()} >= {"complaints", "billing"}

    assert [e["data"]["department_id"] for e in events(identity_stack, "DepartmentCreated")] == [
        "complaints",
        "billing",
    ]
    assigned = [e["data"] for e in events(identity_stack, "AgentAssignedToDepartment")]
    assert [(a["user_id"], a["department_id"]) for a in assigned] == [
        (agent["id"], "complaints"),
        (agent["id"], "billing"),
    ]
    [removed] = events(identity_stack, "AgentRemovedFromDepartment")
    assert removed["metadata"]["actor_id"] == admin["user"]["id"]


def test_a_customer_token_cannot_call_agent_or_admin_operations(identity, identity_stack, address):
    session, _ = verified_login(identity, identity_stack, address)
    token = session["access_token"]
    calls = [
        (identity.create_department, (token, {"department_id": "hacked", "name": "نفوذ"})),
        (
            identity.create_agent,
            (token, {"name": "نفوذی", "username": "mole", "password": PASSWORD}),
        ),
        (
            identity.assign_to_department,
            (token, {"user_id": session["user"]["id"], "department_id": "billing"}),
        ),
        (identity.find_customer, (token, {"phone": new_phone()})),
        (identity.department_members, (token, {"department_id": "billing"})),
    ]
    for call, args in calls:
        error = refused(call, *args)
        assert (error.code, error.http_status) == ("not_permitted", 403)


def test_get_contact_answers_only_with_the_notify_secret(identity, identity_stack, address):
    session, phone = verified_login(identity, identity_stack, address)
    user_id = session["user"]["id"]
    assert refused(identity.get_contact, user_id, "guess").code == "not_permitted"
    contact = identity.get_contact(user_id, identity_stack.contact_secret)
    assert contact == {"user_id": user_id, "phone": phone, "language": "fa"}
    assert "phone" not in identity.get_user(user_id)


# -- tokens that must not work ---------------------------------------------------------------


def test_tampered_expired_and_unsigned_tokens_are_refused(identity, identity_stack, address):
    session, _ = verified_login(identity, identity_stack, address)
    good = session["access_token"]
    claims = jwt.decode(good, options={"verify_signature": False})
    header, payload, signature = good.split(".")
    as_admin = {**claims, "role": "admin"}
    forged_payload = jwt.encode(as_admin, "x" * 40, algorithm="HS256").split(".")[1]
    now = int(datetime.now(UTC).timestamp())
    expired = {**claims, "iat": now - 3600, "exp": now - 60}
    bad_tokens = {
        "tampered payload": f"{header}.{forged_payload}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "another key": jwt.encode(as_admin, "k" * 48, algorithm="HS256"),
        "alg none": jwt.encode(as_admin, None, algorithm="none"),
        "garbage": "not.a.token",
        "very long": "a" * 100_000,
    }
    for name, token in bad_tokens.items():
        error = refused(identity.validate_token, token)
        assert error.code == "invalid_token", name
        assert (
            refused(
                identity.create_department, token, {"department_id": "x-y", "name": "نه"}
            ).http_status
            == 401
        )
    expired_token = jwt.encode(expired, identity_stack.jwt_secret, algorithm="HS256")
    assert refused(identity.validate_token, expired_token).code == "token_expired"
    assert identity.validate_token(good)["role"] == "customer"


# -- hostile input ---------------------------------------------------------------------------


def test_sql_metacharacters_and_very_long_inputs_are_harmless(identity, identity_stack, address):
    nasty = "Robert'); DROP TABLE identity.users;--"
    answer, _ = register(identity, address, name=nasty)
    assert identity.get_user(answer["user"]["id"])["name"] == nasty
    error = refused(
        identity.login, {"login": "' OR '1'='1", "password": "' OR '1'='1"}, client_address=address
    )
    assert error.code == "invalid_credentials"
    sneaky = {"kind": "person", "name": "x", "phone": new_phone(), "password": PASSWORD}
    error = refused(identity.register, {**sneaky, "username": "admin'--"}, client_address=address)
    assert error.code == "validation_failed"
    huge = "۹" * 100_000
    for field in ("name", "phone", "password", "username", "organisation_name"):
        payload = {"kind": "company", "name": "سارا", "phone": new_phone(), "password": PASSWORD,
                   "organisation_name": "شرکت", field: huge}  # fmt: skip
        error = refused(identity.register, payload, client_address=address)
        assert error.code == "validation_failed" and field in error.payload["fields"], field
    for call, payload in (
        (identity.login, {"login": huge, "password": huge}),
        (identity.verify_phone, {"phone": new_phone(), "code": huge}),
        (identity.refresh, {"refresh_token": huge}),
    ):
        assert refused(call, payload).code == "validation_failed"
    assert (
        refused(identity.register, {"kind": "person"}, client_address="x" * 5000).code
        == "validation_failed"
    )
    assert refused(identity.get_user, "1; DROP TABLE identity.users").code == "validation_failed"
    with psycopg.connect(identity_stack.db["admin_url"]) as conn:
        assert conn.execute("SELECT count(*) FROM identity.users").fetchone()[0] >= 1


# -- operations ----------------------------------------------------------------------------


def test_metrics_count_registrations_verifications_logins_and_codes(
    identity, identity_stack, address
):
    _, phone = register(identity, address)
    refused(
        identity.verify_phone,
        {"phone": phone, "code": wrong(latest_code(identity_stack.outbox, phone))},
    )
    refused(identity.login, {"login": phone, "password": "nope nope nope"}, client_address=address)
    url = f"http://127.0.0.1:{identity_stack.metrics_port}/metrics"
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("pasokh_identity_")
    }
    assert samples['pasokh_identity_registrations_total{kind="person"}'] >= 1
    assert samples['pasokh_identity_verifications_total{outcome="wrong_code"}'] >= 1
    assert samples['pasokh_identity_logins_total{outcome="failed"}'] >= 1
    assert samples['pasokh_identity_codes_sent_total{purpose="verify_phone"}'] >= 1
    for outcome in ("ok", "expired", "locked"):
        assert f'pasokh_identity_verifications_total{{outcome="{outcome}"}}' in samples
    assert 'pasokh_identity_logins_total{outcome="throttled"}' in samples


def test_the_service_will_not_start_without_a_jwt_secret(identity_stack, tmp_path):
    env = {**identity_stack.env, "IDENTITY_JWT_SECRET": "", "IDENTITY_METRICS_PORT": "0"}
    process = spawn(
        ["-m", "pasokh_common.runner", "identity", "services.identity.service:IdentityService"],
        env,
        tmp_path / "identity.log",
    )
    try:
        assert process.wait(timeout=60) != 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "IDENTITY_JWT_SECRET" in (tmp_path / "identity.log").read_text()
