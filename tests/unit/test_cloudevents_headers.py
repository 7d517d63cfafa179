"""What one recorded event looks like as an AMQP message (no broker needed)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

from pasokh_common.eventlog import RecordedEvent
from pasokh_common.eventlog.publisher import build_message, connection_params

from kombu.serialization import loads

TEHRAN = timezone(timedelta(hours=3, minutes=30))


def recorded(**overrides) -> RecordedEvent:
    values = {
        "position": 42,
        "xid": 1234,
        "stream_id": "ticket-7",
        "version": 3,
        "event_id": uuid.UUID("0b7a6b1e-4f5d-4c1e-9d55-2f1c3a9e8b01"),
        "type": "ReplyPosted",
        "schema_version": 2,
        "data": {"ticket_id": "ticket-7", "body": "سلام، پاسخ شما"},
        "metadata": {"actor_id": "u-1", "actor_role": "agent", "correlation_id": "corr-9"},
        "recorded_at": datetime(2024, 3, 20, 12, 30, 15, 250000, tzinfo=TEHRAN),
    }
    values.update(overrides)
    return RecordedEvent(**values)


def test_routing_key_is_the_event_type_and_body_is_the_data_as_nameko_reads_it():
    routing_key, body, properties = build_message(recorded(), "tickets")
    assert routing_key == "ReplyPosted"
    # kombu's decoder is what a nameko event handler runs on the body.
    decoded = loads(body, properties["content_type"], properties["content_encoding"])
    assert decoded == {"ticket_id": "ticket-7", "body": "سلام، پاسخ شما"}
    assert json.loads(body.decode("utf-8")) == decoded


def test_amqp_properties_identify_the_event_and_make_it_persistent():
    _, _, properties = build_message(recorded(), "tickets")
    assert properties["message_id"] == "0b7a6b1e-4f5d-4c1e-9d55-2f1c3a9e8b01"
    assert properties["type"] == "ReplyPosted"
    assert properties["app_id"] == "tickets"
    assert properties["delivery_mode"] == 2
    assert properties["correlation_id"] == "corr-9"
    expected = int(datetime(2024, 3, 20, 9, 0, 15, tzinfo=UTC).timestamp())
    assert properties["timestamp"] == expected


def test_cloudevents_headers_use_the_underscore_binding_and_utc_rfc3339_time():
    _, _, properties = build_message(recorded(), "tickets")
    headers = properties["application_headers"]
    assert headers["cloudEvents_id"] == "0b7a6b1e-4f5d-4c1e-9d55-2f1c3a9e8b01"
    assert headers["cloudEvents_type"] == "ReplyPosted"
    assert headers["cloudEvents_source"] == "pasokh/tickets"
    assert headers["cloudEvents_specversion"] == "1.0"
    assert headers["cloudEvents_time"] == "2024-03-20T09:00:15.250000Z"
    assert headers["cloudEvents_subject"] == "ticket-7"
    assert headers["pasokh_stream_id"] == "ticket-7"
    assert headers["pasokh_stream_version"] == 3
    assert headers["pasokh_position"] == 42
    assert headers["pasokh_schema_version"] == 2
    assert headers["pasokh_actor_role"] == "agent"
    assert headers["pasokh_correlation_id"] == "corr-9"
    assert not any(":" in name for name in headers)


def test_missing_metadata_is_left_out_not_sent_empty():
    _, _, properties = build_message(recorded(metadata={"actor_id": "system"}), "tickets")
    assert "correlation_id" not in properties
    assert "pasokh_correlation_id" not in properties["application_headers"]
    assert "pasokh_actor_role" not in properties["application_headers"]


def test_amqp_uri_is_read_like_kombu_reads_it():
    params = connection_params("amqp://relay:s%40cret@mq.internal:5673/pasokh%2Fprod")
    assert params["host"] == "mq.internal:5673"
    assert params["userid"] == "relay"
    assert params["password"] == "s@cret"
    assert params["virtual_host"] == "pasokh/prod"
    assert connection_params("amqp://guest:guest@127.0.0.1:5672/")["virtual_host"] == "/"
