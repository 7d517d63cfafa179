"""marshmallow schemas of the public API: request bodies and query strings (which the
gateway validates) and the main response shapes (for the OpenAPI document).

They are the gateway's contract with the outside, kept apart from the services' RPC
schemas on purpose: a field can be renamed behind the gateway without breaking
clients, and the services validate again (they trust nothing on the bus either).
Unknown fields are refused everywhere, so a typo is an error rather than ignored.
"""

from typing import Any

from pasokh_common.errors import ValidationFailed, bilingual
from pasokh_common.validation import load as common_load

from marshmallow import RAISE, Schema

# The gateway's own field messages, in Persian (marshmallow's stock messages are
# translated by pasokh_common.validation).
MESSAGES_FA = {
    "Give exactly one of into_ticket_id and into_number.": (
        "دقیقاً یکی از into_ticket_id یا into_number را بفرستید."
    ),
}


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


def describe(text: str, example: object = None) -> dict:
    """``metadata`` for a field: what the OpenAPI document shows."""
    meta: dict = {"description": text}
    if example is not None:
        meta["example"] = example
    return meta


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """Validate ``data``; field errors carry Persian and English messages."""
    try:
        return common_load(schema, data)
    except ValidationFailed as exc:
        raise ValidationFailed(fields=_with_persian(exc.fields)) from exc


def _with_persian(messages: Any) -> Any:
    if isinstance(messages, dict):
        if set(messages) == {"fa", "en"}:
            english = messages["en"]
            return bilingual(MESSAGES_FA[english], english) if english in MESSAGES_FA else messages
        return {key: _with_persian(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_with_persian(m) for m in messages]
    return messages
