"""The main answer shapes, for the OpenAPI document (the gateway passes the services'
answers through; these schemas describe them, they do not filter them)."""

from __future__ import annotations

from marshmallow import Schema, fields


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={"example": "validation_failed"})
    message = fields.String(
        required=True, metadata={"description": "in the Accept-Language language"}
    )
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "field name -> messages"},
    )
    retry_after_seconds = fields.Integer(metadata={"description": "429 only (also Retry-After)"})
    existing_ticket = fields.Dict(metadata={"description": "duplicate_ticket (409) only"})


class ErrorBody(Schema):
    error = fields.Nested(ErrorDetail, required=True)


class TicketSummary(Schema):
    ticket_id = fields.UUID()
    number = fields.String(metadata={"example": "12345678"})
    customer_id = fields.String()
    organisation_id = fields.String(allow_none=True)
    department = fields.String()
    subject = fields.String()
    priority = fields.String()
    status = fields.String(metadata={"description": "unanswered, under_review, answered, closed"})
    assignee_id = fields.String(allow_none=True)
    needs_follow_up = fields.Boolean()
    opened_at = fields.DateTime()
    updated_at = fields.DateTime()
    last_customer_message_at = fields.DateTime()
    last_agent_reply_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    merged_into = fields.UUID(allow_none=True)
    rating = fields.Integer(allow_none=True)
    message_count = fields.Integer()
    version = fields.Integer()


class QueueItem(TicketSummary):
    sla_deadline = fields.DateTime(
        allow_none=True, metadata={"description": "the next running SLA deadline, if any"}
    )
    sla_at_risk = fields.Boolean(
        metadata={
            "description": "the sla service has warned about that deadline (its policy's"
            " warning share of the target is used up)"
        }
    )


class TicketWritten(TicketSummary):
    warnings = fields.List(fields.String(), metadata={"description": "e.g. latin_script_persian"})


class Message(Schema):
    message_id = fields.UUID()
    kind = fields.String(metadata={"description": "opening, reply, internal_note (staff only)"})
    author_id = fields.String()
    author_role = fields.String()
    body = fields.String()
    created_at = fields.DateTime()
    attachments = fields.List(fields.Dict())
    flags = fields.List(fields.String())


class TicketDetail(TicketSummary):
    number_display = fields.String(metadata={"example": "1234-5678"})
    messages = fields.List(fields.Nested(Message))
    flags = fields.List(fields.String())


class TicketPage(Schema):
    items = fields.List(fields.Nested(TicketSummary))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class QueuePage(TicketPage):
    items = fields.List(fields.Nested(QueueItem))


class AuditEntry(Schema):
    position = fields.Integer()
    version = fields.Integer()
    event_id = fields.UUID()
    type = fields.String()
    data = fields.Dict()
    actor_id = fields.String()
    actor_role = fields.String()
    correlation_id = fields.String(metadata={"description": "the X-Request-ID of the request"})
    origin = fields.String()
    recorded_at = fields.DateTime()


class AuditMoment(Schema):
    utc = fields.String(metadata={"example": "2026-11-25T10:00:00.000000Z"})
    tehran = fields.String(metadata={"description": "Tehran wall-clock time"})
    jalali_date = fields.String(metadata={"example": "1405/09/04"})
    jalali = fields.String(metadata={"description": "Jalali date and Tehran time"})


class AuditExportEvent(Schema):
    position = fields.Integer()
    version = fields.Integer()
    event_id = fields.UUID()
    type = fields.String()
    schema_version = fields.Integer()
    description_fa = fields.String(metadata={"description": "what changed, in Persian"})
    description_en = fields.String(metadata={"description": "what changed, in English"})
    actor_id = fields.String()
    actor_role = fields.String()
    correlation_id = fields.String()
    origin = fields.String()
    recorded_at = fields.Nested(AuditMoment)
    data = fields.Dict()
    chain_seq = fields.Integer(allow_none=True, metadata={"description": "null until sealed"})
    chain_hash = fields.String(allow_none=True, metadata={"description": "sha256, hex"})
    chain_status = fields.String(metadata={"description": "ok, unsealed or mismatch"})


class AuditChainSummary(Schema):
    algorithm = fields.String()
    intact = fields.Boolean(metadata={"description": "no event's stored hash mismatches"})
    sealed = fields.Integer()
    unsealed = fields.Integer()
    mismatched_positions = fields.List(fields.Integer())


class AuditExportTicket(Schema):
    ticket_id = fields.UUID()
    number = fields.String()
    number_display = fields.String()
    department = fields.String()


class AuditExportActor(Schema):
    actor_id = fields.String()
    role = fields.String()


class AuditExport(Schema):
    format = fields.String(metadata={"example": "pasokh-audit-trail-v1"})
    ticket = fields.Nested(AuditExportTicket)
    generated_at = fields.Nested(AuditMoment)
    generated_by = fields.Nested(AuditExportActor)
    chain = fields.Nested(AuditChainSummary)
    events = fields.List(fields.Nested(AuditExportEvent))


class Attachment(Schema):
    attachment_id = fields.UUID()
    name = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class Uploaded(Schema):
    attachments = fields.List(fields.Nested(Attachment))


class User(Schema):
    id = fields.String()
    name = fields.String()
    role = fields.String()
    kind = fields.String()
    username = fields.String(allow_none=True)
    language = fields.String()
    organisation_id = fields.String(allow_none=True)
    verified = fields.Boolean()
    departments = fields.List(fields.String())


class Registered(Schema):
    user = fields.Nested(User)
    code_sent = fields.Boolean()
    expires_in_seconds = fields.Integer()
    resend_after_seconds = fields.Integer()


class CodeRequested(Schema):
    accepted = fields.Boolean()
    expires_in_seconds = fields.Integer()
    resend_after_seconds = fields.Integer()


class Session(Schema):
    access_token = fields.String()
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer()
    refresh_token = fields.String()
    refresh_expires_in = fields.Integer()
    user = fields.Nested(User)


class Department(Schema):
    department_id = fields.String()
    name = fields.String()


class Member(Schema):
    id = fields.String()
    name = fields.String()
    role = fields.String()
    username = fields.String(allow_none=True)
    assigned_at = fields.DateTime()


class Erased(Schema):
    """``erased_now`` is false when the user had already been erased (nothing changed)."""

    user_id = fields.String()
    erased_at = fields.DateTime()
    erased_now = fields.Boolean()


class Done(Schema):
    """Answers such as ``{"logged_out": true}``."""


class Readiness(Schema):
    status = fields.String(metadata={"example": "ready"})
    checks = fields.Dict(keys=fields.String(), values=fields.String())
