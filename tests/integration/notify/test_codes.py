"""Verification codes: identity's RPC, sent at once through Kavenegar's verify template,
never stored in clear, never behind a backlog of ticket messages.

The stack runs with a rate limit of 20 SMS per second, so a backlog of 1,000 ticket
messages takes at least 50 seconds to drain; a code that waited in line would arrive
after all of them.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime

from pasokh_common.errors import ServiceError

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from tests.integration.notify.conftest import new_phone, publish_many, ticket_opened
from tests.support.processes import wait_until
from tests.support.sms_providers import FakeKavenegar

pytestmark = pytest.mark.integration

BACKLOG = 1000
RATE = 20


@pytest.fixture(scope="module")
def stack(stack_factory):
    provider = FakeKavenegar(templates=("pasokh-verify", "pasokh-verify-en"))
    env = {
        "NOTIFY_RATE_LIMIT_PER_SECOND": str(RATE),
        "NOTIFY_RATE_LIMIT_BURST": str(RATE),
        "NOTIFY_MESSAGE_TTL_SECONDS": "3600",
    }
    with stack_factory(provider, env) as running:
        yield running


def code_rows(stack, user_id: str) -> list[dict]:
    return [r for r in stack.messages(user_id=user_id) if r["template"] == "verification_code"]


def test_a_registration_code_arrives_by_verify_template_and_verifies_the_phone(stack):
    user_id, phone = stack.register("fa")
    [sms] = stack.provider.messages_to(phone)
    assert sms.template == "pasokh-verify" and len(sms.token) == 4
    with stack.rpc() as cluster:
        answer = cluster.identity.verify_phone({"phone": phone, "code": sms.token})
    assert answer["verified"] is True
    [row] = code_rows(stack, user_id)
    assert (row["state"], row["urgent"], row["language"], row["body"]) == ("sent", True, "fa", None)
    # Nowhere in the row as a number of its own (ids and times are not where it
    # could hide, and a 4-digit code can appear inside them by chance).
    stored = json.dumps(
        {k: v for k, v in row.items() if not isinstance(v, uuid.UUID | datetime)}, default=str
    )
    assert not re.search(rf"(?<![0-9a-f]){sms.token}(?![0-9a-f])", stored), stored
    assert stack.sql("SELECT count(*) AS n FROM notify.outbox")[0]["n"] == 0


def test_english_speakers_get_the_english_template(stack):
    _, phone = stack.register("en")
    [sms] = stack.provider.messages_to(phone)
    assert sms.template == "pasokh-verify-en"


def test_a_number_the_provider_refuses_gets_no_code_and_identity_keeps_none(stack):
    phone = new_phone()
    stack.provider.invalid.add(phone)
    with stack.rpc() as cluster:
        answer = cluster.identity.register(
            {"kind": "person", "name": "رضا", "phone": phone, "password": "a long enough secret"},
            client_address="2001:db8::2",
        )
        with pytest.raises(ServiceError) as refused:
            cluster.notify.send_verification_code(
                user_id=answer["user"]["id"],
                phone=phone,
                code="1234",
                purpose="verify_phone",
                language="fa",
            )
    assert answer["code_sent"] is False
    assert refused.value.code == "sms_not_sent" and refused.value.http_status == 503
    rows = code_rows(stack, answer["user"]["id"])
    assert [(r["state"], r["failure_reason"], r["attempts"]) for r in rows] == [
        ("failed", "invalid_number", 1)
    ] * 2


def test_the_same_request_delivered_twice_sends_one_code(stack):
    phone = new_phone()
    caller = {"call_id_stack": ["identity.resend_code.5b6c0e2a"]}
    call = {
        "user_id": "u-dup",
        "phone": phone,
        "code": "2468",
        "purpose": "reset_password",
        "language": "en",
    }
    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, context_data=caller, timeout=30) as c:
        first = c.notify.send_verification_code(**call)
        second = c.notify.send_verification_code(**call)
    assert first["message_id"] == second["message_id"] and first["state"] == "sent"
    assert [m.token for m in stack.provider.messages_to(phone)] == ["2468"]


def test_a_code_bypasses_a_backlog_of_a_thousand_ticket_messages(stack):
    customer, phone = stack.register("fa")
    tickets = [ticket_opened(customer) for _ in range(BACKLOG)]
    publish_many(stack.amqp_uri, "tickets", "TicketOpened", tickets)

    def queued() -> int:
        return stack.sql(
            "SELECT count(*) AS n FROM notify.messages WHERE user_id = %s AND state = 'queued'",
            (customer,),
        )[0]["n"]

    # A real backlog: hundreds queued behind the rate limit, some already going out.
    assert wait_until(lambda: queued() >= 500, timeout=60)
    assert wait_until(lambda: len(stack.provider.messages_to(phone)) > 1, timeout=20)

    code_phone = new_phone()
    with stack.rpc() as cluster:
        answer = cluster.notify.send_verification_code(
            user_id="u-urgent",
            phone=code_phone,
            code="9753",
            purpose="verify_phone",
            language="fa",
        )
    assert answer["state"] == "sent"  # sent during the call, not queued
    still_waiting = queued()

    with stack.provider.lock:
        arrival = [m.to for m in stack.provider.sms]
    code_at = arrival.index(code_phone)
    ticket_sms_before_code = sum(1 for to in arrival[:code_at] if to == phone) - 1  # - its code
    assert ticket_sms_before_code < BACKLOG
    assert still_waiting > 0  # the backlog was still there when the code had arrived
    [row] = code_rows(stack, "u-urgent")
    assert (row["urgent"], row["state"]) == (True, "sent")
