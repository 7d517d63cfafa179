"""Idempotency keys and the ids derived from them.

One SMS per (event, template, recipient): the key names exactly that, the message id
is a UUIDv5 of the key, and the id we hand to providers as their client-side id is
derived from the message id. So a redelivered event, a second notify process or a
retry all arrive at the same row (the key is UNIQUE) and the same provider-side id,
without any lookup table. (An event has one recipient except the SLA escalations,
which go to each supervisor of the department: the recipient is part of the key.)

A verification code has no event: identity's RPC call id (the immediate parent in the
nameko call stack it sends) is stable across a redelivery of the same request, so it
keys the code, with the user and the purpose.
"""

from __future__ import annotations

import uuid

# Fixed forever: changing it would give already-sent messages new ids.
NAMESPACE = uuid.UUID("6f1c2b8e-3a7d-5c4e-9b0a-5e1d7c3f2a90")
_INT63 = (1 << 63) - 1


def event_message_key(event_id: str, template: str, recipient_id: str | None = None) -> str:
    key = f"event:{event_id}:{template}"
    return f"{key}:{recipient_id}" if recipient_id else key


def code_message_key(caller_call_id: str, user_id: str, purpose: str) -> str:
    """The caller's call plus whom and what for (never the code: a hash of four digits
    would give it away), so one caller asking for two different codes gets both."""
    return f"code:{caller_call_id}:{user_id}:{purpose}"


def message_id_for(key: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, key)


def client_id_for(message_id: uuid.UUID) -> str:
    """What providers that take a string id get (Twilio has none; the generic one does)."""
    return str(message_id)


def numeric_client_id(message_id: uuid.UUID) -> int:
    """Kavenegar's ``localid`` is a long: 63 bits of the message id (collisions need
    ~3 billion messages inside its 12-hour lookup window)."""
    return int.from_bytes(message_id.bytes[:8], "big") & _INT63 or 1
