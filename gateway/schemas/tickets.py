"""Bodies and query strings of the ticket routes (customers' and agents')."""

from __future__ import annotations

from pasokh_common.validation import PersianText

from marshmallow import ValidationError, fields, validate, validates_schema

from gateway.schemas import StrictSchema, describe

PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("unanswered", "under_review", "answered", "closed")
QUEUE_ORDERS = ("customer_last_wrote", "opened", "priority", "sla_deadline")

_DEPARTMENT = fields.String(
    required=True,
    validate=validate.Length(min=1, max=100),
    metadata=describe("department id", "billing"),
)
_BODY = PersianText(
    required=True,
    validate=validate.Length(min=1, max=20000),
    metadata=describe("the message; Arabic Yeh/Kaf are normalised to Persian"),
)
_ATTACHMENT_IDS = fields.List(
    fields.UUID(),
    load_default=list,
    validate=validate.Length(max=10),
    metadata=describe("ids from POST /api/v1/attachments (or send files as multipart)"),
)
_REASON = PersianText(load_default=None, allow_none=True, validate=validate.Length(max=1000))
_IDEMPOTENCY_KEY = fields.String(
    load_default=None,
    allow_none=True,
    validate=validate.Length(min=1, max=200),
    metadata=describe("a retry with the same key does not act twice (or Idempotency-Key header)"),
)
ONE_MERGE_TARGET = "Give exactly one of into_ticket_id and into_number."


class CommandBody(StrictSchema):
    """What every command on a ticket may carry."""

    expected_version = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1),
        metadata=describe("refuse with 409 if the ticket changed since this version"),
    )
    idempotency_key = _IDEMPOTENCY_KEY


class OpenTicketBody(StrictSchema):
    department = _DEPARTMENT
    subject = PersianText(
        required=True, validate=validate.Length(min=3, max=200), metadata=describe("subject")
    )
    body = _BODY
    priority = fields.String(load_default="normal", validate=validate.OneOf(PRIORITIES))
    needs_follow_up = fields.Boolean(load_default=False)
    attachment_ids = _ATTACHMENT_IDS
    customer_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=100),
        metadata=describe("staff only: the customer this ticket is opened for (a phone call)"),
    )
    different_matter = fields.Boolean(
        load_default=False,
        metadata=describe("true: open even if an open ticket has a similar subject"),
    )
    idempotency_key = _IDEMPOTENCY_KEY


class ListMineQuery(StrictSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class QueueQuery(StrictSchema):
    order = fields.String(
        load_default="customer_last_wrote",
        validate=validate.OneOf(QUEUE_ORDERS),
        metadata=describe(
            "customer_last_wrote: whoever waited longest first (the default);"
            " sla_deadline: the nearest running SLA deadline first"
        ),
    )
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ReplyBody(CommandBody):
    body = _BODY
    attachment_ids = _ATTACHMENT_IDS


class NoteBody(CommandBody):
    body = _BODY


class TransferBody(CommandBody):
    to_department = _DEPARTMENT
    reason = _REASON


class PriorityBody(CommandBody):
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))


class CloseBody(CommandBody):
    reason = _REASON


class MergeBody(CommandBody):
    into_ticket_id = fields.UUID(load_default=None, allow_none=True)
    into_number = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=40),
        metadata=describe("the ticket number, instead of into_ticket_id", "1234-5678"),
    )

    @validates_schema
    def one_target(self, data: dict, **kwargs) -> None:
        if (data.get("into_ticket_id") is None) == (data.get("into_number") is None):
            raise ValidationError(ONE_MERGE_TARGET, "into_ticket_id")


class RateBody(CommandBody):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = _REASON


class UploadBody(StrictSchema):
    """Only files (multipart field ``attachments``)."""


class AuditExportQuery(StrictSchema):
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(("json", "html")),
        metadata=describe("json: the document; html: a printable Persian page (RTL)"),
    )
