"""The personal-data envelope: AES-256-GCM bound to its event and field (pure parts)."""

from __future__ import annotations

import base64
import json
import uuid

from pasokh_common.personal_data import (
    ERASED,
    DataKey,
    EnvelopeError,
    PersonalDataCodec,
    associated_data,
    is_envelope,
    new_data_key,
    open_envelope,
    seal,
)

import pytest

from services.tickets.domain.events import ALL_EVENT_CLASSES, PERSONAL_FIELDS

EVENT_ID = uuid.UUID("5b1e0c7e-5d0c-4d55-9a1b-7f3f3c1d2e10")
KEY_ID = "0f0e0d0c-0b0a-4908-8706-050403020100"
AAD = associated_data(EVENT_ID, "body")
TEXT = "سلام، قبض ۱۲۳ من اشتباه است — please check"


def test_round_trip_keeps_any_json_value_and_hides_the_text():
    key = new_data_key()
    for value in (TEXT, "", None, 42, ["a", {"b": "ج"}]):
        envelope = seal(key, KEY_ID, value, AAD)
        assert is_envelope(envelope) and envelope["k"] == KEY_ID
        assert open_envelope(key, envelope, AAD) == value
    envelope = seal(key, KEY_ID, TEXT, AAD)
    assert "قبض" not in json.dumps(envelope, ensure_ascii=False)
    assert TEXT.encode() not in base64.b64decode(envelope["c"])


def test_every_seal_uses_a_fresh_nonce():
    key = new_data_key()
    first, second = seal(key, KEY_ID, TEXT, AAD), seal(key, KEY_ID, TEXT, AAD)
    assert first["n"] != second["n"] and first["c"] != second["c"]


def test_a_tampered_ciphertext_is_refused():
    key = new_data_key()
    envelope = seal(key, KEY_ID, TEXT, AAD)
    raw = bytearray(base64.b64decode(envelope["c"]))
    raw[0] ^= 1
    tampered = {**envelope, "c": base64.b64encode(bytes(raw)).decode()}
    with pytest.raises(EnvelopeError):
        open_envelope(key, tampered, AAD)
    with pytest.raises(EnvelopeError):
        open_envelope(key, {**envelope, "n": "not base64!"}, AAD)
    with pytest.raises(EnvelopeError):
        open_envelope(key, {"$enc": "v1", "k": KEY_ID}, AAD)


def test_the_wrong_key_or_place_is_refused():
    key = new_data_key()
    envelope = seal(key, KEY_ID, TEXT, AAD)
    with pytest.raises(EnvelopeError):
        open_envelope(new_data_key(), envelope, AAD)
    with pytest.raises(EnvelopeError):  # copied into another field of the same event
        open_envelope(key, envelope, associated_data(EVENT_ID, "subject"))
    with pytest.raises(EnvelopeError):  # copied into another event
        open_envelope(key, envelope, associated_data(uuid.uuid4(), "body"))


def test_a_destroyed_or_unknown_key_reads_as_the_placeholder():
    key = new_data_key()
    envelope = seal(key, KEY_ID, TEXT, AAD)
    open_ = PersonalDataCodec._open
    assert open_({KEY_ID: DataKey(KEY_ID, key)}, EVENT_ID, "body", envelope) == TEXT
    assert open_({KEY_ID: DataKey(KEY_ID, None)}, EVENT_ID, "body", envelope) == ERASED
    assert open_({}, EVENT_ID, "body", envelope) == ERASED
    with pytest.raises(EnvelopeError):  # a destroyed key is no excuse for tampering
        open_({}, EVENT_ID, "body", {**envelope, "k": "not-a-key-id"})


def test_only_envelopes_are_envelopes():
    assert not is_envelope(TEXT)
    assert not is_envelope({"$enc": "v2", "k": KEY_ID})
    assert not is_envelope(None)


def test_every_free_text_field_of_a_ticket_event_is_personal():
    """A new free-text field must be listed (or this test says why not)."""
    not_personal = {
        "ticket_id", "number", "customer_id", "organisation_id", "department", "priority",
        "message_id", "author_id", "author_role", "agent_id", "released_by", "attachment_id",
        "content_type", "sha256", "from_department", "to_department", "transferred_by",
        "from_priority", "to_priority", "changed_by", "closed_by", "closed_by_role",
        "reopened_by", "reopened_by_role", "into_ticket_id", "into_number", "merged_by",
    }  # fmt: skip
    for cls in ALL_EVENT_CLASSES:
        texts = {
            name
            for name, (kind, _optional) in _specs(cls).items()
            if kind is str and name not in not_personal
        }
        assert set(cls.PERSONAL_FIELDS) == texts, cls.TYPE
    assert PERSONAL_FIELDS["TicketOpened"] == ("subject", "body")
    assert "TicketClaimed" not in PERSONAL_FIELDS


def _specs(cls):
    from services.tickets.domain.events import _field_specs

    return _field_specs(cls)
