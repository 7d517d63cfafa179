"""Bodies of the department and agent administration routes."""

from __future__ import annotations

from pasokh_common.validation import PersianText

from marshmallow import fields, validate

from gateway.schemas import StrictSchema, describe
from gateway.schemas.auth import _LANGUAGE, _NAME, _PASSWORD


class CreateDepartmentBody(StrictSchema):
    department_id = fields.String(
        required=True,
        validate=validate.Length(min=2, max=64),
        metadata=describe("slug: lowercase Latin letters, digits and '-'", "billing"),
    )
    name = PersianText(required=True, validate=validate.Length(min=2, max=100))


class CreateAgentBody(StrictSchema):
    name = _NAME
    username = fields.String(required=True, validate=validate.Length(min=3, max=100))
    password = _PASSWORD
    role = fields.String(load_default="agent", validate=validate.OneOf(("agent", "supervisor")))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    language = _LANGUAGE
    departments = fields.List(
        fields.String(validate=validate.Length(min=2, max=64)),
        load_default=list,
        validate=validate.Length(max=50),
    )


class EmptyBody(StrictSchema):
    """No fields: everything is in the path."""
