"""How each provider's answers map to sent / rejected / refused / unknown.

The wire shapes come from the providers' public API documents; the same shapes are
served by tests/support/sms_providers.py for the integration tests of the clients.
"""

from __future__ import annotations

import json

import pytest

from services.notify.domain.outcomes import Reason, Status
from services.notify.domain.phones import mask, national_iranian, to_e164
from services.notify.providers import generic, kavenegar, twilio
from services.notify.providers.http import Reply


def reply(status: int, payload=None, raw: bytes | None = None, headers=None) -> Reply:
    body = raw if raw is not None else json.dumps(payload).encode()
    return Reply(status, headers or {}, body)


def kave(status: int, entries=None, message="") -> Reply:
    payload = {"return": {"status": status, "message": message}, "entries": entries}
    return reply(status, payload)


def test_kavenegar_success_carries_the_messageid():
    result = kavenegar.classify(kave(200, [{"messageid": 8792343, "status": 1}]))
    assert (result.status, result.provider_message_id) == (Status.ACCEPTED, "8792343")


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        (411, Status.REJECTED, Reason.INVALID_NUMBER),
        (413, Status.REJECTED, Reason.INVALID_MESSAGE),
        (418, Status.REFUSED, Reason.PROVIDER_ACCOUNT),  # no credit: an operator tops up
        (412, Status.REFUSED, Reason.PROVIDER_ACCOUNT),
        (409, Status.REFUSED, Reason.PROVIDER_BUSY),
        (500, Status.UNKNOWN, Reason.SERVER_ERROR),
    ],
)
def test_kavenegar_errors(code, status, reason):
    result = kavenegar.classify(kave(code, message="خطا"))
    assert (result.status, result.reason) == (status, reason)


def test_kavenegar_blocked_receptor_and_foreign_error_pages():
    blocked = kavenegar.classify(kave(200, [{"messageid": 5, "status": 14}]))
    assert (blocked.status, blocked.reason) == (Status.REJECTED, Reason.BLOCKED)
    proxy = kavenegar.classify(reply(502, raw=b"<html>Bad gateway</html>"))
    assert proxy.status is Status.UNKNOWN


def test_twilio_created_and_errors():
    created = twilio.classify(reply(201, {"sid": "SM1", "status": "queued"}))
    assert (created.status, created.provider_message_id) == (Status.ACCEPTED, "SM1")
    for code, status, reason in [
        (21211, Status.REJECTED, Reason.INVALID_NUMBER),
        (21610, Status.REJECTED, Reason.BLOCKED),
        (21408, Status.REFUSED, Reason.PROVIDER_ACCOUNT),
    ]:
        result = twilio.classify(reply(400, {"code": code, "message": "m", "status": 400}))
        assert (result.status, result.reason) == (status, reason)
    limited = twilio.classify(
        reply(429, {"code": 20429, "message": "Too Many Requests"}, headers={"retry-after": "3"})
    )
    assert (limited.status, limited.retry_after) == (Status.REFUSED, 3.0)
    assert twilio.classify(reply(500, {"code": 20500})).status is Status.UNKNOWN
    assert twilio.classify(reply(401, {"code": 20003})).reason is Reason.PROVIDER_ACCOUNT


def test_generic_http_answers():
    ok = generic.classify(reply(200, {"data": {"id": 42}}), "data.id")
    assert (ok.status, ok.provider_message_id) == (Status.ACCEPTED, "42")
    assert generic.classify(reply(202, raw=b"queued")).provider_message_id is None
    assert generic.classify(reply(429, {})).reason is Reason.RATE_LIMITED
    assert generic.classify(reply(503, {})).status is Status.REFUSED
    assert generic.classify(reply(500, {})).status is Status.UNKNOWN
    assert generic.classify(reply(401, {})).reason is Reason.PROVIDER_ACCOUNT
    assert generic.classify(reply(400, {})).status is Status.REJECTED


def test_generic_templates_encode_values_for_their_place():
    values = {"to": "+989121234567", "text": 'سلام "1" & 2'}
    assert generic.fill('{"to": {to}, "text": {text}}', values, json.dumps) == (
        '{"to": "+989121234567", "text": "\\u0633\\u0644\\u0627\\u0645 \\"1\\" & 2"}'
    )


def test_phone_forms():
    assert to_e164("۰۹۱۲ ۱۲۳ ۴۵۶۷") == "+989121234567"
    assert to_e164("+44 7700 900123") == "+447700900123"
    assert to_e164("12") is None
    assert national_iranian("+989121234567") == "09121234567"
    assert national_iranian("+447700900123") == "00447700900123"
    assert mask("+989121234567") == "+98912*****67"
    assert mask(None) is None
