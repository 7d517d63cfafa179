"""Bodies, query strings and answers of the webhook admin routes. The webhooks service
validates again (``services/webhooks/schemas.py``, URL and filter rules); these keep
the gateway's contract and feed the OpenAPI document."""

from __future__ import annotations

from pasokh_common.validation import PersianText

from marshmallow import Schema, fields, validate

from gateway.schemas import StrictSchema, describe

STATES = ("pending", "sending", "delivered", "failed")
_URL_TEXT = "https only (plain http only for hosts in WEBHOOKS_ALLOW_HTTP_HOSTS)"
_HEADERS_TEXT = (
    "extra request headers (at most 10), e.g. a static Authorization for a gateway in"
    " front of the receiver; values are never shown again, X-Pasokh-* cannot be set"
)
_FILTER_TEXT = "event types (TicketOpened), globs (Ticket*), <source>.<type> (tickets.*), or *"


class RegisterBody(StrictSchema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=8, max=2000),
        metadata=describe(_URL_TEXT, "https://crm.example.ir/hooks/pasokh"),
    )
    event_filter = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(1, 50),
        metadata=describe(_FILTER_TEXT, ["Ticket*", "sla.SlaBreached"]),
    )
    description = PersianText(load_default="", validate=validate.Length(max=500))
    headers = fields.Dict(
        keys=fields.String(validate=validate.Length(1, 64)),
        values=fields.String(validate=validate.Length(1, 1000)),
        load_default=dict,
        metadata=describe(_HEADERS_TEXT, {"Authorization": "Bearer ..."}),
    )


class UpdateBody(StrictSchema):
    """Only the fields given change."""

    url = fields.String(validate=validate.Length(min=8, max=2000), metadata=describe(_URL_TEXT))
    event_filter = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        validate=validate.Length(1, 50),
        metadata=describe(_FILTER_TEXT),
    )
    description = PersianText(validate=validate.Length(max=500))
    headers = fields.Dict(
        keys=fields.String(validate=validate.Length(1, 64)),
        values=fields.String(validate=validate.Length(1, 1000)),
        metadata=describe(_HEADERS_TEXT + "; replaces them all ({} removes them)"),
    )


class DisableBody(StrictSchema):
    reason = PersianText(load_default="", validate=validate.Length(max=500))


class DeliveriesQuery(StrictSchema):
    state = fields.String(load_default=None, validate=validate.OneOf(STATES))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


# -- answers (for the OpenAPI document) -------------------------------------------------


class LogEntry(Schema):
    action = fields.String(metadata={"example": "auto_disabled"})
    actor = fields.String()
    detail = fields.String(allow_none=True)
    at = fields.String()


class Endpoint(Schema):
    endpoint_id = fields.String()
    url = fields.String()
    description = fields.String()
    event_filter = fields.List(fields.String())
    header_names = fields.List(fields.String(), metadata=describe("the extra headers' names"))
    enabled = fields.Boolean()
    consecutive_failures = fields.Integer()
    disabled_reason = fields.String(
        allow_none=True,
        metadata=describe("why it stopped", "5 deliveries in a row failed; the last: HTTP 503"),
    )
    disabled_at = fields.String(allow_none=True)
    disabled_by = fields.String(allow_none=True, metadata=describe("an admin's id, or system"))
    previous_secret_valid_until = fields.String(
        allow_none=True, metadata=describe("after a rotation: the old secret signs until then")
    )
    created_by = fields.String()
    created_at = fields.String()
    updated_at = fields.String()
    log = fields.List(fields.Nested(LogEntry), metadata=describe("only on GET of one endpoint"))


class EndpointWithSecret(Endpoint):
    secret = fields.String(
        metadata=describe("shown only now: store it to verify X-Pasokh-Signature", "whsec_...")
    )


class Attempt(Schema):
    number = fields.Integer()
    started_at = fields.String()
    duration_ms = fields.Integer()
    status_code = fields.Integer(allow_none=True)
    outcome = fields.String(metadata={"example": "retry"})
    error = fields.String(allow_none=True)
    response_excerpt = fields.String(allow_none=True)


class Delivery(Schema):
    delivery_id = fields.String()
    endpoint_id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    source = fields.String()
    state = fields.String(metadata={"example": "delivered"})
    attempts = fields.Integer()
    next_attempt_at = fields.String(allow_none=True)
    last_status = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.String()
    finished_at = fields.String(allow_none=True)
    attempt_log = fields.List(fields.Nested(Attempt))


class Deleted(Schema):
    endpoint_id = fields.String()
    deleted = fields.Boolean()
