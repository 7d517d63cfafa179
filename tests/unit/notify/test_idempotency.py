"""One key per (event, template, recipient); ids derived from it, stable forever."""

from __future__ import annotations

import uuid

from services.notify.domain.idempotency import (
    client_id_for,
    code_message_key,
    event_message_key,
    message_id_for,
    numeric_client_id,
)


def test_the_same_event_and_template_always_give_the_same_message_id():
    key = event_message_key("e-1", "ticket_answered")
    assert message_id_for(key) == message_id_for(event_message_key("e-1", "ticket_answered"))
    assert message_id_for(key).version == 5


def test_other_events_templates_or_recipients_give_other_ids():
    ids = {
        message_id_for(event_message_key("e-1", "ticket_answered")),
        message_id_for(event_message_key("e-2", "ticket_answered")),
        message_id_for(event_message_key("e-1", "ticket_closed")),
        message_id_for(event_message_key("e-1", "sla_breached", "sup-1")),
        message_id_for(event_message_key("e-1", "sla_breached", "sup-2")),
        message_id_for(code_message_key("identity.register.abc", "u-1", "verify_phone")),
    }
    assert len(ids) == 6


def test_the_id_is_pinned_so_a_deploy_never_renames_sent_messages():
    assert str(message_id_for("event:e-1:ticket_opened")) == str(
        uuid.uuid5(uuid.UUID("6f1c2b8e-3a7d-5c4e-9b0a-5e1d7c3f2a90"), "event:e-1:ticket_opened")
    )


def test_client_ids_for_providers():
    message_id = message_id_for("event:e-1:ticket_opened")
    assert client_id_for(message_id) == str(message_id)
    number = numeric_client_id(message_id)
    assert 0 < number < 2**63 and number == numeric_client_id(message_id)
