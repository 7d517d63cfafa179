"""Bodies and query strings of the SLA routes (deadlines, calendars, holidays,
policies) and of the dead-letter routes. The sla service validates again, with its
own schemas (``services/sla/schemas.py``); these keep the gateway's contract."""

from __future__ import annotations

from pasokh_common.validation import PersianText

from marshmallow import Schema, fields, validate

from gateway.schemas import StrictSchema, describe

PRIORITIES = ("low", "normal", "high", "urgent")
WEEKDAYS = ("saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday")
MAX_TARGET_SECONDS = 10 * 365 * 24 * 3600
_TARGET = fields.Integer(
    strict=True,
    required=True,
    validate=validate.Range(1, MAX_TARGET_SECONDS),
    metadata=describe("business seconds", 86400),
)

# -- calendars ------------------------------------------------------------------------


class CalendarBody(StrictSchema):
    """A calendar's settings, replaced whole (the id is in the path)."""

    name = PersianText(required=True, validate=validate.Length(min=1, max=200))
    time_zone = fields.String(
        load_default="Asia/Tehran",
        validate=validate.Length(1, 64),
        metadata=describe("IANA time zone", "Asia/Tehran"),
    )
    weekly_schedule = fields.Dict(
        keys=fields.String(validate=validate.OneOf(WEEKDAYS)),
        values=fields.List(
            fields.String(validate=validate.Length(max=40)), validate=validate.Length(max=12)
        ),
        load_default=None,
        allow_none=True,
        metadata=describe(
            "working intervals per weekday; days left out are closed",
            {"saturday": ["09:00-12:00", "13:00-17:00"]},
        ),
    )
    official_holidays = fields.Boolean(load_default=True)
    esfand_30_holiday = fields.Boolean(load_default=True)
    horizon_days = fields.Integer(strict=True, load_default=366, validate=validate.Range(1, 3660))


class HolidayBody(StrictSchema):
    """A holiday override of one (Tehran) date; the date is in the path."""

    closed = fields.Boolean(
        load_default=True, metadata=describe("true: closed; false: a working day after all")
    )
    name_fa = PersianText(load_default=None, allow_none=True, validate=validate.Length(max=200))
    name_en = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class BindingBody(StrictSchema):
    calendar_id = fields.String(
        required=True, validate=validate.Length(min=2, max=63), metadata=describe("", "default")
    )


class MonthPath(StrictSchema):
    """The path of the month view (the ranges are the calendar engine's)."""

    jalali_year = fields.Integer(required=True, validate=validate.Range(1359, 1477))
    jalali_month = fields.Integer(required=True, validate=validate.Range(1, 12))


# -- policies -------------------------------------------------------------------------


class PolicyBody(StrictSchema):
    """Targets in business seconds; ``department`` null or absent: every department
    (admins only; a supervisor sets the policy of their own departments)."""

    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    department = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 100))
    first_response_seconds = _TARGET
    follow_up_first_response_seconds = _TARGET
    next_reply_seconds = _TARGET
    resolution_seconds = _TARGET
    warning_share = fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(0, 1, min_inclusive=False, max_inclusive=False),
    )
    notify_outside_hours = fields.Boolean(load_default=False)


# -- dead letters ---------------------------------------------------------------------

_QUEUE = fields.String(
    required=True,
    validate=validate.Length(min=1, max=255),
    metadata=describe(
        "the handler's queue or its .dead queue", "evt-tickets-#--sla.on_ticket_event"
    ),
)


class DeadLetterQuery(StrictSchema):
    queue = _QUEUE
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class ReplayBody(StrictSchema):
    queue = _QUEUE
    message_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(1, 255),
        metadata=describe("only this message; absent: every parked message"),
    )


# -- answers (for the OpenAPI document) -------------------------------------------------


class Instant(Schema):
    utc = fields.String(metadata={"example": "2026-03-29T12:30:00Z"})
    local = fields.String(metadata={"example": "2026-03-29T16:00:00+03:30"})
    jalali = fields.String(metadata={"example": "1405-01-09 16:00"})


class TehranTime(Schema):
    jalali_date = fields.String(metadata={"example": "1405-01-09"})
    tehran_time = fields.String(metadata={"example": "16:00"})
    weekday_fa = fields.String(metadata={"example": "یک‌شنبه"})


class Target(Schema):
    target = fields.String(metadata={"example": "first_response"})
    cycle = fields.Integer()
    status = fields.String()
    target_seconds = fields.Integer()
    elapsed_business_seconds = fields.Integer()
    remaining_business_seconds = fields.Integer()
    started_at = fields.Nested(Instant, allow_none=True)
    counting_from = fields.Nested(Instant, allow_none=True)
    deadline = fields.Nested(Instant, allow_none=True)
    deadline_tehran = fields.Nested(
        TehranTime, allow_none=True, metadata={"description": "the deadline for the UI"}
    )
    warned_at = fields.Nested(Instant, allow_none=True)
    breached_at = fields.Nested(Instant, allow_none=True)
    ended_at = fields.Nested(Instant, allow_none=True)


class Deadlines(Schema):
    ticket_id = fields.UUID()
    department = fields.String()
    priority = fields.String()
    calendar_id = fields.String()
    phase = fields.String()
    as_of = fields.Nested(Instant)
    targets = fields.List(fields.Nested(Target))


class Month(Schema):
    jalali_year = fields.Integer()
    jalali_month = fields.Integer()
    month_name_fa = fields.String()
    month_name_en = fields.String()
    time_zone = fields.String()
    days = fields.List(fields.Dict())


class CalendarListed(Schema):
    calendar_id = fields.String()
    name = fields.String()
    time_zone = fields.String()
    departments = fields.List(fields.String())


class Calendar(Schema):
    calendar_id = fields.String()
    name = fields.String()
    settings = fields.Dict()
    holidays = fields.List(fields.Dict())
    departments = fields.List(fields.String())


class RulesChanged(Schema):
    """The change as recorded, with ``changed_at`` and ``recomputed_tickets``."""

    changed_at = fields.String()
    recomputed_tickets = fields.Integer()


class Policy(Schema):
    priority = fields.String()
    department = fields.String()
    first_response_seconds = fields.Integer()
    follow_up_first_response_seconds = fields.Integer()
    next_reply_seconds = fields.Integer()
    resolution_seconds = fields.Integer()
    warning_share = fields.Float(allow_none=True)
    effective_warning_share = fields.Float()
    notify_outside_hours = fields.Boolean()


class DeadLetter(Schema):
    message_id = fields.String(allow_none=True)
    type = fields.String(allow_none=True)
    original_queue = fields.String()
    error = fields.String(allow_none=True)
    failed_at = fields.String(allow_none=True)
    attempts = fields.Integer(allow_none=True)
    content_type = fields.String(allow_none=True)
    headers = fields.Dict()
    body = fields.String(metadata={"description": "as text when UTF-8, else a Python repr"})


class Replayed(Schema):
    queue = fields.String()
    replayed = fields.Integer()
