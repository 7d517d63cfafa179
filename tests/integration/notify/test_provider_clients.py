"""The real provider clients over real HTTP against the local Kavenegar, Twilio and
generic servers (and the console provider against PostgreSQL): requests in the shape
each API expects, and every kind of answer mapped to the right outcome."""

from __future__ import annotations

import socket
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.config import HttpSettings, KavenegarSettings, TwilioSettings
from services.notify.domain.idempotency import message_id_for, numeric_client_id
from services.notify.domain.outcomes import Delivery, Lookup, Reason, Status
from services.notify.providers.base import Outgoing
from services.notify.providers.console import ConsoleProvider
from services.notify.providers.generic import HttpTemplateProvider
from services.notify.providers.kavenegar import KavenegarProvider
from services.notify.providers.twilio import TwilioProvider
from tests.integration.notify.conftest import new_phone
from tests.support.sms_providers import FakeGenericGateway, FakeKavenegar, FakeTwilio

pytestmark = pytest.mark.integration


def outgoing(phone: str, text: str = "درخواست 1234-5678 ثبت شد.", code: str | None = None):
    message_id = message_id_for(f"test:{uuid.uuid4()}")
    return Outgoing(
        message_id=str(message_id),
        client_id=str(message_id),
        numeric_client_id=numeric_client_id(message_id),
        recipient=phone,
        text=text,
        template="verification_code" if code else "ticket_opened",
        language="fa",
        code=code,
    )


@pytest.fixture
def kavenegar_server():
    server = FakeKavenegar(templates=("pasokh-verify",))
    url = server.start()
    yield server, url
    server.stop()


def kavenegar(url: str, key: str = "test-kavenegar-key", timeout: float = 2.0):
    settings = KavenegarSettings(
        api_key=key, sender="10004346", base_url=url, verify_template_fa="pasokh-verify"
    )
    return KavenegarProvider(settings, timeout)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


# -- Kavenegar --------------------------------------------------------------------------


def test_kavenegar_send_passes_localid_and_a_repeat_sends_nothing(kavenegar_server):
    server, url = kavenegar_server
    client, phone = kavenegar(url), new_phone()
    message = outgoing(phone)
    first = client.send(message)
    again = client.send(message)
    assert (
        first.status is Status.ACCEPTED and again.provider_message_id == first.provider_message_id
    )
    [sms] = server.messages_to(phone)
    assert (sms.text, sms.sender, sms.client_id) == (
        message.text,
        "10004346",
        str(message.numeric_client_id),
    )
    [request] = server.requests_for("/sms/send.json")[:1]
    assert request["receptor"] == "0" + phone[3:]  # Kavenegar's national form


def test_kavenegar_lookup_by_localid(kavenegar_server):
    _, url = kavenegar_server
    client, phone = kavenegar(url), new_phone()
    sent, unsent = outgoing(phone), outgoing(phone)
    accepted = client.send(sent)
    since = datetime.now(UTC) - timedelta(minutes=1)
    found = client.lookup(sent, since)
    assert (found.answer, found.provider_message_id) == (Lookup.FOUND, accepted.provider_message_id)
    assert client.lookup(unsent, since).answer is Lookup.NOT_FOUND


def test_kavenegar_codes_use_the_verify_template(kavenegar_server):
    server, url = kavenegar_server
    phone = new_phone()
    result = kavenegar(url).send_code(outgoing(phone, "code 4321", code="4321"))
    assert result.status is Status.ACCEPTED
    [sms] = server.messages_to(phone)
    assert (sms.template, sms.token) == ("pasokh-verify", "4321")


def test_kavenegar_errors_map_to_outcomes(kavenegar_server):
    server, url = kavenegar_server
    phone = new_phone()
    server.invalid.add(phone)
    assert kavenegar(url).send(outgoing(phone)).reason is Reason.INVALID_NUMBER
    wrong_key = kavenegar(url, key="stolen").send(outgoing(new_phone()))
    assert (wrong_key.status, wrong_key.reason) == (Status.REFUSED, Reason.PROVIDER_ACCOUNT)
    server.fail_next(1, 503)
    assert kavenegar(url).send(outgoing(new_phone())).status is Status.UNKNOWN
    down = kavenegar(closed_port_url()).send(outgoing(new_phone()))
    assert (down.status, down.reason) == (Status.REFUSED, Reason.UNREACHABLE)


def test_kavenegar_silence_after_sending_is_unknown(kavenegar_server):
    server, url = kavenegar_server
    phone = new_phone()
    release = server.hold(phone)
    result = kavenegar(url, timeout=0.5).send(outgoing(phone))
    release.set()
    assert (result.status, result.reason) == (Status.UNKNOWN, Reason.TIMEOUT)
    assert len(server.messages_to(phone)) == 1  # it was sent: only a lookup can tell


def test_kavenegar_delivery_reports(kavenegar_server):
    server, url = kavenegar_server
    client = kavenegar(url)
    delivered = client.send(outgoing(new_phone())).provider_message_id
    lost = client.send(outgoing(new_phone())).provider_message_id
    pending = client.send(outgoing(new_phone())).provider_message_id
    server.set_status(delivered, "delivered")
    server.set_status(lost, "undelivered")
    assert client.delivery_status([delivered, lost, pending]) == {
        delivered: Delivery.DELIVERED,
        lost: Delivery.UNDELIVERED,
    }


# -- Twilio -----------------------------------------------------------------------------


@pytest.fixture
def twilio_server():
    server = FakeTwilio()
    url = server.start()
    yield server, url
    server.stop()


def twilio(server: FakeTwilio, url: str, token: str | None = None) -> TwilioProvider:
    settings = TwilioSettings(
        account_sid=server.account_sid,
        auth_token=token or server.auth_token,
        sender="+15005550006",
        base_url=url,
    )
    return TwilioProvider(settings, 2.0)


def test_twilio_send_status_and_errors(twilio_server):
    server, url = twilio_server
    client, phone = twilio(server, url), new_phone()
    result = client.send(outgoing(phone))
    assert result.status is Status.ACCEPTED and result.provider_message_id.startswith("SM")
    [sms] = server.messages_to(phone)
    assert sms.sender == "+15005550006"
    server.set_status(result.provider_message_id, "delivered")
    assert client.delivery_status([result.provider_message_id]) == {
        result.provider_message_id: Delivery.DELIVERED
    }
    bad, blocked = new_phone(), new_phone()
    server.invalid.add(bad)
    server.blocked.add(blocked)
    assert client.send(outgoing(bad)).reason is Reason.INVALID_NUMBER
    assert client.send(outgoing(blocked)).reason is Reason.BLOCKED
    assert twilio(server, url, token="wrong").send(outgoing(phone)).reason is (
        Reason.PROVIDER_ACCOUNT
    )
    server.fail_next(1, 429)
    limited = client.send(outgoing(phone))
    assert (limited.status, limited.retry_after) == (Status.REFUSED, 1.0)


def test_twilio_lookup_finds_our_text_and_skips_ids_other_messages_own(twilio_server):
    server, url = twilio_server
    client, phone = twilio(server, url), new_phone()
    since = datetime.now(UTC) - timedelta(seconds=5)
    same_text = "به درخواست شمارهٔ 1234-5678 پاسخ داده شد."
    earlier = client.send(outgoing(phone, same_text)).provider_message_id
    mine = outgoing(phone, same_text)
    assert client.lookup(mine, since, exclude_ids=[earlier]).answer is Lookup.NOT_FOUND
    sent = client.send(mine).provider_message_id
    found = client.lookup(mine, since, exclude_ids=[earlier])
    assert (found.answer, found.provider_message_id) == (Lookup.FOUND, sent)
    assert client.lookup(outgoing(phone, "another text"), since).answer is Lookup.NOT_FOUND


# -- generic HTTP -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "to={to}&text={text}&id={client_id}"),
        ("application/json", '{"to": {to}, "text": {text}, "id": {client_id}}'),
    ],
)
def test_a_generic_gateway_by_url_and_body_template(content_type, body):
    server = FakeGenericGateway(dedupes=True)
    url = server.start()
    try:
        settings = HttpSettings(
            url=url + "/send",
            body=body,
            content_type=content_type,
            authorization="Bearer gateway-token",
            dedupes=True,
            id_field="result.id",
        )
        client, phone = HttpTemplateProvider(settings, 2.0), new_phone()
        message = outgoing(phone, 'متن با "نقل‌قول" & نماد')
        first, again = client.send(message), client.send(message)
        assert first.status is Status.ACCEPTED
        assert first.provider_message_id == again.provider_message_id
        [sms] = server.messages_to(phone)
        assert (sms.text, sms.client_id) == (message.text, message.client_id)
        bad = new_phone()
        server.invalid.add(bad)
        assert client.send(outgoing(bad)).status is Status.REJECTED
        server.fail_next(1, 500)
        assert client.send(outgoing(new_phone())).status is Status.UNKNOWN
    finally:
        server.stop()


def test_a_generic_gateway_by_query_string():
    server = FakeGenericGateway(dedupes=False)
    url = server.start()
    try:
        settings = HttpSettings(
            url=url + "/send?to={to_national}&text={text}&id={message_id}",
            method="GET",
            authorization="Bearer gateway-token",
        )
        phone = new_phone()
        assert HttpTemplateProvider(settings, 2.0).send(outgoing(phone, "a+b c")).status is (
            Status.ACCEPTED
        )
        [sms] = server.messages_to(phone)
        assert sms.text == "a+b c"
    finally:
        server.stop()


# -- console ----------------------------------------------------------------------------


def test_the_console_provider_writes_the_outbox_once(notify_pool):
    client, phone = ConsoleProvider(notify_pool), new_phone()
    message = outgoing(phone, "کد تأیید: 1234", code="1234")
    first, again = client.send(message), client.send(message)
    assert first.provider_message_id == again.provider_message_id
    # A replayed client id answers with the first message, whatever it carries now.
    replayed = client.send(replace(message, text="کد تأیید: 9999", code="9999"))
    assert replayed.status is Status.ACCEPTED
    assert replayed.provider_message_id == first.provider_message_id
    since = datetime.now(UTC)
    assert client.lookup(message, since).answer is Lookup.FOUND
    assert client.lookup(outgoing(phone), since).answer is Lookup.NOT_FOUND
    with notify_pool.connection() as conn:
        rows = conn.execute("SELECT recipient, body, parts, encoding FROM notify.outbox").fetchall()
    assert rows == [{"recipient": phone, "body": message.text, "parts": 1, "encoding": "ucs2"}]
