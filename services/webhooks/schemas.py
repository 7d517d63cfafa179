"""marshmallow schemas of webhooks' RPC arguments (strict: unknown fields refused).

Checks that need the settings (which hosts may use plain http) live in ``urls.py``;
filter patterns are checked by ``domain.filters``; both raise bilingual field errors.
"""

from __future__ import annotations

from typing import Any

from pasokh_common.validation import PersianText
from pasokh_common.validation import load as common_load

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

ROLES = ("customer", "agent", "supervisor", "admin", "system")
STATES = ("pending", "sending", "delivered", "failed")
_ID = fields.String(required=True, validate=validate.Length(min=1, max=100))
_URL = fields.String(validate=validate.Length(min=8, max=2000))
_FILTER = fields.List(
    fields.String(validate=validate.Length(min=1, max=100)), validate=validate.Length(1, 50)
)
_DESCRIPTION = PersianText(validate=validate.Length(max=500))
_HEADERS = fields.Dict(keys=fields.String(), values=fields.String())


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class ActorSchema(Schema):
    """The actor the gateway passes from the token; extra keys are ignored here."""

    class Meta:
        unknown = EXCLUDE

    id = _ID
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class RegisterSchema(StrictSchema):
    url = fields.String(required=True, validate=validate.Length(min=8, max=2000))
    event_filter = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(1, 50),
    )
    description = PersianText(load_default="", validate=validate.Length(max=500))
    headers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


class UpdateSchema(StrictSchema):
    url = _URL
    event_filter = _FILTER
    description = _DESCRIPTION
    headers = _HEADERS


class DisableSchema(StrictSchema):
    reason = PersianText(load_default="", validate=validate.Length(max=500))


class DeliveriesQuery(StrictSchema):
    state = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def load(schema: Schema, data: Any) -> dict[str, Any]:
    return common_load(schema, data)
