"""The shape of a supervisor's department overview (answers only; the route takes
no body and no query)."""

from __future__ import annotations

from marshmallow import Schema, fields

from gateway.schemas.sla import Instant


class OpenByStatus(Schema):
    unanswered = fields.Integer()
    under_review = fields.Integer()
    answered = fields.Integer()


class DepartmentOverview(Schema):
    department = fields.String()
    open_by_status = fields.Nested(OpenByStatus)
    calendar_id = fields.String()
    as_of = fields.Nested(Instant)
    today = fields.String(
        metadata={"description": "the Jalali date of 'today'", "example": "1405-09-04"}
    )
    breaches_today = fields.Integer(
        metadata={"description": "SLA targets whose deadline passed unmet today (calendar day)"}
    )
    window_days = fields.Integer(metadata={"example": 30})
    first_responses = fields.Integer(
        metadata={"description": "first responses (met or late) in the window"}
    )
    average_first_response_business_seconds = fields.Integer(
        allow_none=True,
        metadata={"description": "their average, in business seconds; null when none"},
    )
