"""Bodies of the account routes (register, verify, log in, ...). identity checks the
finer rules (mobile number forms, password length, username syntax) and answers with
the same field-error shape; here every field is typed and bounded."""

from __future__ import annotations

from pasokh_common.validation import PersianText

from marshmallow import ValidationError, fields, validate, validates_schema

from gateway.schemas import StrictSchema, describe

LANGUAGES = ("fa", "en")

_PHONE = fields.String(
    required=True,
    validate=validate.Length(min=4, max=40),
    metadata=describe("Iranian mobile number in any common form", "0912 123 4567"),
)
_PASSWORD = fields.String(
    required=True,
    validate=validate.Length(min=1, max=1000),
    metadata=describe("8-128 characters; not the phone number or username"),
)
_NAME = PersianText(
    required=True, validate=validate.Length(min=2, max=100), metadata=describe("full name")
)
_USERNAME = fields.String(
    load_default=None,
    allow_none=True,
    validate=validate.Length(min=3, max=100),
    metadata=describe("optional login name: Latin letters, digits, '.', '_' or '-'"),
)
_LANGUAGE = fields.String(
    load_default="fa", validate=validate.OneOf(LANGUAGES), metadata=describe("SMS language")
)
_CODE = fields.String(
    required=True,
    validate=validate.Length(min=1, max=20),
    metadata=describe("the SMS code", "1234"),
)


class RegisterBody(StrictSchema):
    kind = fields.String(
        load_default="person",
        validate=validate.OneOf(("person", "company")),
        metadata=describe("a person, or a company (with organisation_name)"),
    )
    name = _NAME
    organisation_name = PersianText(
        load_default=None, allow_none=True, validate=validate.Length(min=2, max=200)
    )
    phone = _PHONE
    password = _PASSWORD
    username = _USERNAME
    language = _LANGUAGE

    @validates_schema
    def company_has_a_name(self, data: dict, **kwargs) -> None:
        if data.get("kind") == "company" and not data.get("organisation_name"):
            raise ValidationError("Missing data for required field.", "organisation_name")


class VerifyPhoneBody(StrictSchema):
    phone = _PHONE
    code = _CODE


class ResendCodeBody(StrictSchema):
    phone = _PHONE
    purpose = fields.String(
        load_default="verify_phone", validate=validate.OneOf(("verify_phone", "reset_password"))
    )


class LoginBody(StrictSchema):
    login = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata=describe("mobile number or username"),
    )
    password = _PASSWORD


class RefreshBody(StrictSchema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class LogoutBody(RefreshBody):
    """The access token, if any, comes from the Authorization header."""


class PasswordResetBody(StrictSchema):
    phone = _PHONE


class PasswordResetConfirmBody(StrictSchema):
    phone = _PHONE
    code = _CODE
    new_password = _PASSWORD


class ChangePasswordBody(StrictSchema):
    current_password = _PASSWORD
    new_password = _PASSWORD


class AddMemberBody(StrictSchema):
    name = _NAME
    phone = _PHONE
    password = _PASSWORD
    username = _USERNAME
    language = _LANGUAGE


class FindCustomerBody(StrictSchema):
    phone = _PHONE
