"""marshmallow schemas: RPC arguments (strict) and the events notify reads (tolerant).

RPC payloads refuse unknown fields, like every Pasokh service. Events are contracts
owned by other services that may gain fields, so their schemas ignore unknown ones and
check only what notify uses; an event missing those fails, is retried and finally
parked in the dead-letter queue with the reason.
"""

from __future__ import annotations

from typing import Any

from pasokh_common.errors import ValidationFailed, bilingual
from pasokh_common.validation import PersianText
from pasokh_common.validation import load as common_load

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from services.notify.domain.phones import to_e164
from services.notify.domain.templates import CODE_TEMPLATES, LANGUAGES, TEMPLATE_NAMES

ROLES = ("customer", "agent", "supervisor", "admin", "system")
STAFF_ROLES = ("agent", "supervisor", "admin")
_ID = fields.String(required=True, validate=validate.Length(min=1, max=100))


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class EventSchema(Schema):
    class Meta:
        unknown = EXCLUDE


class Phone(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        phone = to_e164(text[:40])
        if phone is None:
            raise ValidationError("Not a valid mobile number.")
        return phone


# -- RPC -------------------------------------------------------------------------------


class CodeRequestSchema(StrictSchema):
    user_id = _ID
    phone = Phone(required=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{4,10}$"))
    purpose = fields.String(required=True, validate=validate.OneOf(tuple(CODE_TEMPLATES)))
    language = fields.String(load_default="fa", validate=validate.OneOf(LANGUAGES))


class ActorSchema(Schema):
    """The actor the gateway passes (as for tickets); extra keys are ignored here."""

    class Meta:
        unknown = EXCLUDE

    id = _ID
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class TemplateEditSchema(StrictSchema):
    template = fields.String(required=True, validate=validate.OneOf(TEMPLATE_NAMES))
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    body = PersianText(required=True, validate=validate.Length(min=1, max=1000))


class QuerySchema(StrictSchema):
    id = _ID
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


# -- events ----------------------------------------------------------------------------


class TicketOpenedSchema(EventSchema):
    ticket_id = _ID
    number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    customer_id = _ID
    department = _ID
    opened_at = fields.String(required=True)


class ReplyPostedSchema(EventSchema):
    ticket_id = _ID
    author_role = fields.String(required=True)


class TicketClosedSchema(EventSchema):
    ticket_id = _ID


class SlaEventSchema(EventSchema):
    """The expected shape of the sla service's SlaWarning / SlaBreached (docs/notify.md)."""

    ticket_id = _ID
    department = fields.String(load_default=None, allow_none=True)
    number = fields.String(load_default=None, allow_none=True)
    target = fields.String(required=True, validate=validate.Length(min=1, max=50))
    deadline = fields.String(required=True, validate=validate.Length(min=1, max=50))


class MembershipAssignedSchema(EventSchema):
    user_id = _ID
    department_id = _ID
    role = fields.String(load_default=None, allow_none=True)
    assigned_at = fields.String(required=True)


class MembershipRemovedSchema(EventSchema):
    user_id = _ID
    department_id = _ID
    removed_at = fields.String(required=True)


def load(schema: Schema, data: Any) -> dict[str, Any]:
    return common_load(schema, data)


def load_event(schema: Schema, data: Any) -> dict[str, Any]:
    """Like ``load``, but the error names the event's problem for the dead-letter queue."""
    try:
        return common_load(schema, data)
    except ValidationFailed as error:
        raise ValueError(
            f"event data does not fit {type(schema).__name__}: {error.fields}"
        ) from None


def invalid(field: str, fa: str, en: str) -> ValidationFailed:
    return ValidationFailed(fields={field: [bilingual(fa, en)]})
