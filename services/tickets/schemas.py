"""marshmallow schemas of every RPC argument of the tickets service."""

from __future__ import annotations

from pasokh_common.validation import PersianText

from marshmallow import RAISE, Schema, fields, validate

ROLES = ("customer", "agent", "supervisor", "admin", "system")
PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("unanswered", "under_review", "answered", "closed")
QUEUE_ORDERS = ("customer_last_wrote", "opened", "priority", "sla_deadline")


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class ActorSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    departments = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list)
    organisation_id = fields.String(load_default=None, allow_none=True)


_DEPARTMENT = fields.String(required=True, validate=validate.Length(min=1, max=100))
_ATTACHMENT_IDS = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=10))
_IDEMPOTENCY = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
_EXPECTED_VERSION = fields.Integer(
    load_default=None, allow_none=True, validate=validate.Range(min=1)
)


class OpenTicketSchema(StrictSchema):
    department = _DEPARTMENT
    subject = PersianText(required=True, validate=validate.Length(min=3, max=200))
    priority = fields.String(load_default="normal", validate=validate.OneOf(PRIORITIES))
    body = PersianText(required=True, validate=validate.Length(min=1, max=20000))
    attachment_ids = _ATTACHMENT_IDS
    needs_follow_up = fields.Boolean(load_default=False)
    customer_id = fields.String(load_default=None, allow_none=True)
    organisation_id = fields.String(load_default=None, allow_none=True)
    idempotency_key = _IDEMPOTENCY


class TicketRefSchema(StrictSchema):
    ticket_id = fields.UUID(required=True)
    expected_version = _EXPECTED_VERSION
    idempotency_key = _IDEMPOTENCY


class ReplySchema(TicketRefSchema):
    body = PersianText(required=True, validate=validate.Length(min=1, max=20000))
    attachment_ids = _ATTACHMENT_IDS


class TransferSchema(TicketRefSchema):
    to_department = _DEPARTMENT
    reason = PersianText(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class ChangePrioritySchema(TicketRefSchema):
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))


class CloseSchema(TicketRefSchema):
    reason = PersianText(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class MergeSchema(TicketRefSchema):
    into_ticket_id = fields.UUID(required=True)


class RateSchema(TicketRefSchema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = PersianText(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class UploadSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content_type = fields.String(required=True, validate=validate.Length(min=3, max=255))
    data_base64 = fields.String(required=True)


class ListMineSchema(StrictSchema):
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class QueueSchema(StrictSchema):
    department = _DEPARTMENT
    order = fields.String(load_default="customer_last_wrote", validate=validate.OneOf(QUEUE_ORDERS))
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class FindByNumberSchema(StrictSchema):
    number = fields.String(required=True, validate=validate.Length(min=1, max=40))
