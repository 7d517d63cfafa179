"""marshmallow schemas of every identity RPC argument.

Unknown fields are refused; every string has a maximum length, so a megabyte of input
is a field error, not work. Mobile numbers are normalised to E.164 here, from any
way people in Iran type them. Passwords are never normalised: they are compared as
typed.
"""

from __future__ import annotations

from typing import Any

from pasokh_common.errors import ValidationFailed, bilingual
from pasokh_common.text import normalise_mobile, normalise_number
from pasokh_common.validation import PersianText
from pasokh_common.validation import load as common_load

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from services.identity.domain.accounts import (
    is_valid_department_id,
    is_valid_username,
    normalise_username,
)
from services.identity.domain.codes import CODE_DIGITS, Purpose
from services.identity.domain.errors import InvalidToken

LANGUAGES = ("fa", "en")
KINDS = ("person", "company")
STAFF_ROLES = ("agent", "supervisor")

# Our own field messages, in Persian; pasokh_common.validation translates marshmallow's.
INVALID_PHONE = "Not a valid Iranian mobile number, e.g. 0912 123 4567."
INVALID_USERNAME = (
    "3-32 characters: Latin letters, digits, '.', '_' or '-', starting with a letter."
)
INVALID_CODE = f"The code has {CODE_DIGITS} digits."
INVALID_DEPARTMENT = "Lowercase Latin letters, digits and '-', starting with a letter."
ORGANISATION_REQUIRED = "A company's name is required."
_FA = {
    INVALID_PHONE: "شمارهٔ همراه معتبر نیست؛ مانند ۰۹۱۲ ۱۲۳ ۴۵۶۷.",
    INVALID_USERNAME: "۳ تا ۳۲ نویسه: حروف لاتین، رقم، «.»، «_» یا «-» و با یک حرف آغاز شود.",
    INVALID_CODE: f"کد {CODE_DIGITS} رقمی است.",
    INVALID_DEPARTMENT: "حروف کوچک لاتین، رقم و «-» و با یک حرف آغاز شود.",
    ORGANISATION_REQUIRED: "نام شرکت الزامی است.",
}


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class Mobile(fields.String):
    """A mobile number as typed (Persian/Arabic digits, spaces, dashes, +98/0098/0),
    loaded as +989xxxxxxxxx."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 40:
            raise ValidationError(INVALID_PHONE)
        phone = normalise_mobile(text)
        if phone is None:
            raise ValidationError(INVALID_PHONE)
        return phone


class Username(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        name = normalise_username(text[:100])
        if len(text) > 100 or not is_valid_username(name):
            raise ValidationError(INVALID_USERNAME)
        return name


class Code(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        code = normalise_number(text[:20])
        if len(text) > 20 or not code.isascii() or not code.isdigit() or len(code) != CODE_DIGITS:
            raise ValidationError(INVALID_CODE)
        return code


class DepartmentId(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        if not is_valid_department_id(text):
            raise ValidationError(INVALID_DEPARTMENT)
        return text


def _password(**kwargs: Any) -> fields.String:
    # The length rule with its own message is in domain.passwords; this bound only keeps
    # absurd input from reaching the hasher.
    return fields.String(validate=validate.Length(min=1, max=1000), **kwargs)


_NAME = PersianText(required=True, validate=validate.Length(min=2, max=100))
_LANGUAGE = fields.String(load_default="fa", validate=validate.OneOf(LANGUAGES))


class RegisterSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    name = _NAME
    organisation_name = PersianText(
        load_default=None, allow_none=True, validate=validate.Length(min=2, max=200)
    )
    phone = Mobile(required=True)
    password = _password(required=True)
    username = Username(load_default=None, allow_none=True)
    language = _LANGUAGE

    @validates_schema
    def company_has_a_name(self, data: dict, **kwargs: Any) -> None:
        if data.get("kind") == "company" and not data.get("organisation_name"):
            raise ValidationError(ORGANISATION_REQUIRED, "organisation_name")


class AddMemberSchema(StrictSchema):
    name = _NAME
    phone = Mobile(required=True)
    password = _password(required=True)
    username = Username(load_default=None, allow_none=True)
    language = _LANGUAGE


class PhoneSchema(StrictSchema):
    phone = Mobile(required=True)


class ResendSchema(PhoneSchema):
    purpose = fields.String(
        load_default=Purpose.VERIFY_PHONE.value,
        validate=validate.OneOf([p.value for p in Purpose]),
    )


class VerifySchema(PhoneSchema):
    code = Code(required=True)


class ResetPasswordSchema(VerifySchema):
    new_password = _password(required=True)


class LoginSchema(StrictSchema):
    login = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = _password(required=True)


class RefreshSchema(StrictSchema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class LogoutSchema(RefreshSchema):
    access_token = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=4096)
    )


class ChangePasswordSchema(StrictSchema):
    current_password = _password(required=True)
    new_password = _password(required=True)


class DepartmentSchema(StrictSchema):
    department_id = DepartmentId(required=True)
    name = PersianText(required=True, validate=validate.Length(min=2, max=100))


class CreateAgentSchema(StrictSchema):
    name = _NAME
    username = Username(required=True)
    password = _password(required=True)
    role = fields.String(load_default="agent", validate=validate.OneOf(STAFF_ROLES))
    phone = Mobile(load_default=None, allow_none=True)
    language = _LANGUAGE
    departments = fields.List(DepartmentId(), load_default=list, validate=validate.Length(max=50))


class MembershipSchema(StrictSchema):
    user_id = fields.UUID(required=True)
    department_id = DepartmentId(required=True)


class UserRefSchema(StrictSchema):
    user_id = fields.UUID(required=True)


class DepartmentRefSchema(StrictSchema):
    department_id = DepartmentId(required=True)


class CreateAdminSchema(StrictSchema):
    name = _NAME
    phone = Mobile(required=True)
    password = _password(required=True)
    username = Username(load_default=None, allow_none=True)
    language = _LANGUAGE


TOKEN_MAX_LENGTH = 4096


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """``pasokh_common.validation.load`` with identity's own messages in Persian too."""
    try:
        return common_load(schema, data)
    except ValidationFailed as exc:
        raise ValidationFailed(fields=_with_persian(exc.fields)) from exc


def _with_persian(messages: Any) -> Any:
    if isinstance(messages, dict):
        if set(messages) == {"fa", "en"} and messages["en"] in _FA:
            return bilingual(_FA[messages["en"]], messages["en"])
        return {key: _with_persian(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_with_persian(m) for m in messages]
    return messages


def load_token(token: Any) -> str:
    """A bearer token argument: a string of sane length, else the same refusal as a bad
    signature (the caller is simply not authenticated)."""
    if not isinstance(token, str) or not 0 < len(token) <= TOKEN_MAX_LENGTH:
        raise InvalidToken("malformed")
    return token
