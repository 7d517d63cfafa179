"""Every way an identity request can be refused, one class per situation.

Each has a stable ``code`` (clients key translations on it), the HTTP status the
gateway answers with, and messages in formal Persian and English. Refusals about
credentials and codes are deliberately vague about *which* part was wrong, so that
nobody learns which phone numbers or usernames have accounts by trying them.
"""

from __future__ import annotations

import math
from typing import Any

from pasokh_common.errors import PasokhError


class IdentityError(PasokhError):
    code = "identity_error"
    http_status = 400
    message_en = "The request could not be completed."
    message_fa = "درخواست انجام نشد."


class RetryLater(IdentityError):
    """A refusal that lifts by itself: carries ``retry_after_seconds`` so the gateway
    can answer with a ``Retry-After`` header and the app can show a countdown."""

    http_status = 429

    def __init__(self, retry_after_seconds: float, detail: str | None = None) -> None:
        super().__init__(detail)
        self.retry_after_seconds = max(1, math.ceil(retry_after_seconds))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "retry_after_seconds": self.retry_after_seconds}


# -- registration ------------------------------------------------------------------


class PhoneTaken(IdentityError):
    code = "phone_taken"
    http_status = 409
    message_en = "An account with this mobile number already exists; log in or reset the password."
    message_fa = "حسابی با این شمارهٔ همراه وجود دارد؛ وارد شوید یا گذرواژه را بازیابی کنید."


class UsernameTaken(IdentityError):
    code = "username_taken"
    http_status = 409
    message_en = "This username is taken."
    message_fa = "این نام کاربری قبلاً انتخاب شده است."


# -- verification codes ------------------------------------------------------------


class WrongCode(IdentityError):
    code = "wrong_code"
    http_status = 400
    message_en = "The code is not correct."
    message_fa = "کد واردشده درست نیست."

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"{tries_left} tries left")
        self.tries_left = tries_left

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "tries_left": self.tries_left}


class CodeExpired(IdentityError):
    """Expired, already used, or never sent: the remedy is the same, a new code."""

    code = "code_expired"
    http_status = 400
    message_en = "The code has expired or is no longer valid; request a new one."
    message_fa = "کد منقضی شده یا دیگر معتبر نیست؛ کد جدید درخواست کنید."


class CodeLocked(IdentityError):
    code = "code_locked"
    http_status = 400
    message_en = "Too many wrong tries; this code no longer works. Request a new one."
    message_fa = "تعداد تلاش‌های نادرست بیش از حد مجاز بود و این کد باطل شد؛ کد جدید درخواست کنید."


class TooManyCodes(RetryLater):
    code = "too_many_codes"
    message_en = "A code was sent recently; please wait before asking for another."
    message_fa = "کد به‌تازگی ارسال شده است؛ لطفاً پیش از درخواست دوباره کمی صبر کنید."


class CodeNotSent(IdentityError):
    code = "code_not_sent"
    http_status = 503
    message_en = "The code could not be sent right now; please try again shortly."
    message_fa = "در حال حاضر ارسال کد ممکن نیست؛ لطفاً کمی بعد دوباره تلاش کنید."


# -- login and tokens --------------------------------------------------------------


class InvalidCredentials(IdentityError):
    code = "invalid_credentials"
    http_status = 401
    message_en = "The mobile number, username or password is not correct."
    message_fa = "شمارهٔ همراه، نام کاربری یا گذرواژه درست نیست."


class LoginThrottled(RetryLater):
    code = "login_throttled"
    message_en = "Too many failed attempts; please wait before trying again."
    message_fa = "تلاش‌های ناموفق بیش از حد مجاز بود؛ لطفاً کمی بعد دوباره تلاش کنید."


class PhoneNotVerified(IdentityError):
    code = "phone_not_verified"
    http_status = 403
    message_en = "Verify your mobile number with the code we sent before logging in."
    message_fa = "پیش از ورود، شمارهٔ همراه خود را با کد ارسال‌شده تأیید کنید."


class InvalidToken(IdentityError):
    code = "invalid_token"
    http_status = 401
    message_en = "You are not logged in, or your session has ended; please log in again."
    message_fa = "وارد نشده‌اید یا نشست شما پایان یافته است؛ لطفاً دوباره وارد شوید."


class TokenExpired(InvalidToken):
    code = "token_expired"
    message_en = "Your session has expired; please refresh it or log in again."
    message_fa = "نشست شما منقضی شده است؛ آن را تمدید کنید یا دوباره وارد شوید."


class WrongPassword(IdentityError):
    code = "wrong_password"
    http_status = 400
    message_en = "The current password is not correct."
    message_fa = "گذرواژهٔ فعلی درست نیست."


# -- permissions and staff -----------------------------------------------------------


class NotPermitted(IdentityError):
    code = "not_permitted"
    http_status = 403
    message_en = "You are not allowed to do this."
    message_fa = "شما اجازهٔ انجام این کار را ندارید."


class UserNotFound(IdentityError):
    code = "user_not_found"
    http_status = 404
    message_en = "User not found."
    message_fa = "کاربر یافت نشد."


class DepartmentNotFound(IdentityError):
    code = "department_not_found"
    http_status = 404
    message_en = "Department not found."
    message_fa = "واحد مورد نظر یافت نشد."


class DepartmentExists(IdentityError):
    code = "department_exists"
    http_status = 409
    message_en = "A department with this id already exists."
    message_fa = "واحدی با این شناسه وجود دارد."


class NotAssignable(IdentityError):
    code = "not_assignable"
    http_status = 409
    message_en = "Only agents and supervisors can be members of a department."
    message_fa = "فقط کارشناسان و سرپرستان می‌توانند عضو یک واحد باشند."


ALL_IDENTITY_ERRORS: tuple[type[IdentityError], ...] = (
    PhoneTaken,
    UsernameTaken,
    WrongCode,
    CodeExpired,
    CodeLocked,
    TooManyCodes,
    CodeNotSent,
    InvalidCredentials,
    LoginThrottled,
    PhoneNotVerified,
    InvalidToken,
    TokenExpired,
    WrongPassword,
    NotPermitted,
    UserNotFound,
    DepartmentNotFound,
    DepartmentExists,
    NotAssignable,
)
