"""One error shape for every failure, in the caller's language."""

from __future__ import annotations

from pasokh_common.errors import NotFound, ServiceError, ValidationFailed, bilingual

from werkzeug.exceptions import MethodNotAllowed as WerkzeugMethodNotAllowed

from gateway.error_mapping import choose_language, error_reply, localise
from gateway.errors import DuplicateTicket, RateLimited


def test_the_language_is_persian_unless_english_is_preferred():
    assert choose_language(None) == "fa"
    assert choose_language("") == "fa"
    assert choose_language("de, fr;q=0.8") == "fa"
    assert choose_language("en-GB,en;q=0.9") == "en"
    assert choose_language("fa-IR,en;q=0.5") == "fa"
    assert choose_language("en;q=0.4, fa;q=0.9") == "fa"


def test_field_messages_are_reduced_to_one_language_at_any_depth():
    fields = {
        "subject": [bilingual("کوتاه است", "too short")],
        "attachment_ids": {"0": [bilingual("شناسه معتبر نیست", "Not a valid UUID.")]},
        "plain": ["as is"],
    }
    assert localise(fields, "en") == {
        "subject": ["too short"],
        "attachment_ids": {"0": ["Not a valid UUID."]},
        "plain": ["as is"],
    }
    assert localise(fields, "fa")["subject"] == ["کوتاه است"]


def test_a_service_error_whose_numbers_arrived_as_strings():
    error = ServiceError(
        {
            "code": "too_many_codes",
            "message": {"fa": "صبر کنید", "en": "Please wait"},
            "detail": "internal detail with an id 1234",
            "fields": {},
            "http_status": "429",
            "retry_after_seconds": "42",
        }
    )
    reply = error_reply(error, "en")
    assert reply.status == 429
    assert reply.headers == {"Retry-After": "42"}
    assert reply.body == {
        "error": {
            "code": "too_many_codes",
            "message": "Please wait",
            "fields": {},
            "retry_after_seconds": 42,
        }
    }


def test_the_gateways_own_errors_share_the_shape_and_add_what_they_need():
    reply = error_reply(RateLimited(2.2), "fa")
    assert (reply.status, reply.headers["Retry-After"]) == (429, "3")
    assert reply.body["error"]["code"] == "rate_limited"
    duplicate = error_reply(
        DuplicateTicket({"ticket_id": "t", "number_display": "1234-5678"}), "en"
    )
    assert duplicate.status == 409 and "1234-5678" in duplicate.body["error"]["message"]
    assert duplicate.body["error"]["existing_ticket"]["ticket_id"] == "t"
    failed = error_reply(ValidationFailed(fields={"x": [bilingual("بد", "bad")]}), "fa")
    assert failed.body["error"]["fields"] == {"x": ["بد"]} and failed.status == 400
    assert error_reply(NotFound("secret detail"), "en").body["error"]["message"] == "Not found."


def test_an_unexpected_exception_is_a_500_naming_only_the_request_id():
    reply = error_reply(KeyError("database password is hunter2"), "en", "req-1")
    assert reply.status == 500
    assert reply.body["error"]["code"] == "internal_error"
    assert "req-1" in reply.body["error"]["message"]
    assert "hunter2" not in str(reply.body)


def test_routing_errors_become_the_shape_too():
    reply = error_reply(WerkzeugMethodNotAllowed(valid_methods=["POST"]), "en")
    assert (reply.status, reply.body["error"]["code"]) == (405, "method_not_allowed")
    assert reply.headers == {"Allow": "POST"}
