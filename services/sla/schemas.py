"""marshmallow schemas of every RPC argument of the SLA service.

Unknown fields are refused everywhere (a misspelt setting must not be ignored
silently); the calendar engine validates the calendar itself (intervals, zones,
dates) and its errors reach the caller with their own codes.
"""

from __future__ import annotations

from pasokh_common.validation import PersianText

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from services.sla.domain.policy import PRIORITIES

ROLES = ("customer", "agent", "supervisor", "admin", "system")
SLUG = validate.Regexp(r"^[a-z][a-z0-9-]{1,62}$", error="Use a-z, 0-9 and -, 2-63 characters.")
WEEKDAYS = ("saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday")
# Ten years of business time: far beyond any sensible target, small enough for int32.
MAX_TARGET_SECONDS = 10 * 365 * 24 * 3600


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class ActorSchema(StrictSchema):
    """The caller as the gateway vouches for it (as the tickets service takes it)."""

    id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    departments = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list)
    organisation_id = fields.String(load_default=None, allow_none=True)


_CALENDAR_ID = fields.String(required=True, validate=SLUG)
_DEPARTMENT = fields.String(required=True, validate=validate.Length(min=1, max=100))
_TARGET = fields.Integer(strict=True, required=True, validate=validate.Range(1, MAX_TARGET_SECONDS))


class CalendarSchema(StrictSchema):
    """A calendar's settings, replaced whole; holidays are changed one date at a time."""

    calendar_id = _CALENDAR_ID
    name = PersianText(required=True, validate=validate.Length(min=1, max=200))
    time_zone = fields.String(load_default="Asia/Tehran", validate=validate.Length(1, 64))
    weekly_schedule = fields.Dict(
        keys=fields.String(validate=validate.OneOf(WEEKDAYS)),
        values=fields.List(
            fields.String(validate=validate.Length(max=40)), validate=validate.Length(max=12)
        ),
        load_default=None,
        allow_none=True,
    )
    official_holidays = fields.Boolean(load_default=True)
    esfand_30_holiday = fields.Boolean(load_default=True)
    horizon_days = fields.Integer(strict=True, load_default=366, validate=validate.Range(1, 3660))


class HolidaySchema(StrictSchema):
    calendar_id = _CALENDAR_ID
    # "1405-05-07" (Jalali, told apart by the year) or "2026-07-29" (Gregorian).
    date = fields.String(required=True, validate=validate.Length(min=8, max=10))
    closed = fields.Boolean(load_default=True)
    name_fa = PersianText(load_default=None, allow_none=True, validate=validate.Length(max=200))
    name_en = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ClearHolidaySchema(StrictSchema):
    calendar_id = _CALENDAR_ID
    date = fields.String(required=True, validate=validate.Length(min=8, max=10))


class BindingSchema(StrictSchema):
    department = _DEPARTMENT
    calendar_id = _CALENDAR_ID


class PolicySchema(StrictSchema):
    """Targets in business seconds; ``department`` null or absent: every department."""

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

    @validates_schema
    def _no_wildcard(self, data: dict, **kwargs: object) -> None:
        if data.get("department") == "*":
            raise ValidationError(
                "Leave department out for the policy of every department.", "department"
            )


class RemovePolicySchema(StrictSchema):
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    department = _DEPARTMENT


class BetweenSchema(StrictSchema):
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    calendar_id = _CALENDAR_ID


class InstantSchema(StrictSchema):
    instant = fields.AwareDateTime(required=True)
    calendar_id = _CALENDAR_ID


class MonthSchema(StrictSchema):
    calendar_id = _CALENDAR_ID
    jalali_year = fields.Integer(strict=True, required=True, validate=validate.Range(1359, 1477))
    jalali_month = fields.Integer(strict=True, required=True, validate=validate.Range(1, 12))


class DepartmentReportSchema(StrictSchema):
    department = fields.String(required=True, validate=validate.Length(1, 100))
    days = fields.Integer(strict=True, required=True, validate=validate.Range(1, 366))
