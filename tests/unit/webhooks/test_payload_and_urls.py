"""The CloudEvents body, the signed headers, and which URLs may be registered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pasokh_common.errors import ValidationFailed

import pytest

from services.webhooks.domain.payload import cloud_event
from services.webhooks.domain.signing import verify
from services.webhooks.sender import headers_for, secrets_for
from services.webhooks.urls import check_url

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_cloud_event_carries_the_event_and_its_data():
    text = cloud_event(
        "e-1",
        "tickets",
        "TicketOpened",
        {"ticket_id": "t-1", "subject": "قطعی اینترنت"},
        NOW,
        {
            "cloudEvents_time": "2026-11-25T09:59:00Z",
            "cloudEvents_subject": "ticket-t-1",
            "pasokh_stream_version": 3,
            "pasokh_schema_version": 1,
            "x-pasokh-attempt": 2,
        },
    )
    event = json.loads(text)
    assert event == {
        "specversion": "1.0",
        "id": "e-1",
        "source": "pasokh/tickets",
        "type": "TicketOpened",
        "time": "2026-11-25T09:59:00Z",
        "datacontenttype": "application/json",
        "subject": "ticket-t-1",
        "pasokhstreamversion": 3,
        "pasokhschemaversion": 1,
        "data": {"ticket_id": "t-1", "subject": "قطعی اینترنت"},
    }
    assert "قطعی" in text  # UTF-8, not \u escapes


def test_time_defaults_to_when_the_delivery_was_made():
    assert json.loads(cloud_event("e", "sla", "SlaBreached", {}, NOW))["time"] == NOW.isoformat()


def test_headers_sign_the_body_with_every_valid_secret():
    row = {
        "event_id": "e-1",
        "event_type": "TicketOpened",
        "delivery_id": "d-1",
        "secret": "new",
        "previous_secret": "old",
        "previous_secret_until": NOW + timedelta(hours=1),
    }
    body = b'{"id":"e-1"}'
    headers = headers_for(row, body, NOW)
    assert headers["X-Pasokh-Event-Id"] == "e-1"
    assert headers["X-Pasokh-Delivery-Id"] == "d-1"
    stamp = headers["X-Pasokh-Timestamp"]
    assert stamp == str(int(NOW.timestamp()))
    for secret in ("new", "old"):
        assert verify(secret, headers["X-Pasokh-Signature"], stamp, body, NOW.timestamp())
    expired = {**row, "previous_secret_until": NOW - timedelta(seconds=1)}
    assert secrets_for(expired, NOW) == ["new"]


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/pasokh",
        "https://10.0.0.5:8443/x?team=7",
        "http://localhost:9000/h",
    ],
)
def test_accepted_urls(url):
    assert check_url(url, ("localhost",)) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/pasokh",
        "ftp://hooks.example.com/",
        "https://",
        "https://user:pw@hooks.example.com/",
        "https://hooks.example.com/#frag",
        "https://hooks.example.com:99999/",
        "hooks.example.com/x",
    ],
)
def test_refused_urls_name_the_field_in_both_languages(url):
    with pytest.raises(ValidationFailed) as raised:
        check_url(url, ("localhost",))
    (message,) = raised.value.fields["url"]
    assert set(message) == {"fa", "en"}
