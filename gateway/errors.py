"""Errors the gateway itself raises (the services raise their own, as ServiceError).

They are PasokhErrors, so one mapper (``gateway.error_mapping``) turns both kinds into
the same ``{"error": {"code", "message", "fields"}}`` body.
"""

from __future__ import annotations

import math
from typing import Any

from pasokh_common.errors import PasokhError


class GatewayError(PasokhError):
    """A PasokhError that may add keys to the error body or HTTP headers."""

    def body_extras(self) -> dict[str, Any]:
        return {}

    def headers(self) -> dict[str, str]:
        return {}


class AuthenticationRequired(GatewayError):
    code = "authentication_required"
    http_status = 401
    message_en = "Please log in: this needs an access token (Authorization: Bearer ...)."
    message_fa = "لطفاً وارد شوید: این درخواست به توکن دسترسی نیاز دارد."

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="pasokh"'}


class InvalidToken(AuthenticationRequired):
    """Same words as identity's ``invalid_token``: the header was there but unusable."""

    code = "invalid_token"
    message_en = "You are not logged in, or your session has ended; please log in again."
    message_fa = "وارد نشده‌اید یا نشست شما پایان یافته است؛ لطفاً دوباره وارد شوید."


class NotPermitted(GatewayError):
    code = "not_permitted"
    http_status = 403
    message_en = "You are not allowed to do this."
    message_fa = "شما اجازهٔ انجام این کار را ندارید."


class RateLimited(GatewayError):
    code = "rate_limited"
    http_status = 429
    message_en = "Too many requests; please wait a moment and try again."
    message_fa = "تعداد درخواست‌ها بیش از حد مجاز است؛ لطفاً کمی صبر کنید و دوباره تلاش کنید."

    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__(f"retry after {retry_after_seconds:.1f}s")
        self.retry_after = max(1, math.ceil(retry_after_seconds))

    def body_extras(self) -> dict[str, Any]:
        return {"retry_after_seconds": self.retry_after}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class RequestTooLarge(GatewayError):
    code = "request_too_large"
    http_status = 413
    message_en = "The request is larger than allowed."
    message_fa = "حجم درخواست بیش از حد مجاز است."


class AttachmentTooLarge(GatewayError):
    code = "attachment_too_large"
    http_status = 413
    message_en = "An attachment is larger than allowed (10 MB)."
    message_fa = "حجم یکی از پیوست‌ها بیش از حد مجاز (۱۰ مگابایت) است."


class TooManyAttachments(GatewayError):
    code = "too_many_attachments"
    http_status = 400
    message_en = "This message has more attachments than allowed."
    message_fa = "تعداد پیوست‌های این پیام بیش از حد مجاز است."


class UnsupportedMediaType(GatewayError):
    code = "unsupported_media_type"
    http_status = 415
    message_en = "Send the request body as application/json (or multipart/form-data with files)."
    message_fa = (
        "بدنهٔ درخواست را به‌صورت application/json (یا multipart/form-data همراه فایل) بفرستید."
    )


class InvalidJson(GatewayError):
    code = "invalid_json"
    http_status = 400
    message_en = "The request body is not valid JSON."
    message_fa = "بدنهٔ درخواست JSON معتبر نیست."


class InvalidMultipart(GatewayError):
    code = "invalid_multipart"
    http_status = 400
    message_en = "The multipart request could not be read."
    message_fa = "درخواست چندبخشی (multipart) قابل خواندن نیست."


class AttachmentTypeNotAllowed(GatewayError):
    code = "attachment_type_not_allowed"
    http_status = 415
    message_en = (
        "This kind of file cannot be attached. Allowed: PDF, PNG, JPEG, GIF, WebP, ZIP,"
        " Word, Excel, PowerPoint and plain text."
    )
    message_fa = (
        "این نوع فایل را نمی‌توان پیوست کرد. مجاز: PDF، PNG، JPEG، GIF، WebP، ZIP،"
        " Word، Excel، PowerPoint و متن ساده."
    )


class AttachmentTypeMismatch(GatewayError):
    code = "attachment_type_mismatch"
    http_status = 415
    message_en = "An attachment's content does not match its name or declared type."
    message_fa = "محتوای یکی از پیوست‌ها با نام یا نوع اعلام‌شدهٔ آن هم‌خوانی ندارد."


class DuplicateTicket(GatewayError):
    """The customer already has an open ticket on (nearly) this subject."""

    code = "duplicate_ticket"
    http_status = 409
    message_en = (
        "You already have an open ticket on this subject (number {number}); please continue"
        ' there, or send "different_matter": true if this is a different matter.'
    )
    message_fa = (
        "شما تیکت بازی با همین موضوع دارید (شمارهٔ {number})؛ لطفاً گفت‌وگو را در همان تیکت"
        " ادامه دهید، یا اگر موضوع دیگری است «different_matter» را true بفرستید."
    )

    def __init__(self, existing: dict[str, Any]) -> None:
        number = existing.get("number_display") or existing.get("number", "")
        super().__init__(
            f"similar to ticket {existing.get('ticket_id')}",
            message_en=type(self).message_en.format(number=number),
            message_fa=type(self).message_fa.format(number=number),
        )
        self.existing = existing

    def body_extras(self) -> dict[str, Any]:
        return {"existing_ticket": self.existing}


class LatinScriptNotAccepted(GatewayError):
    code = "latin_script_not_accepted"
    http_status = 400
    message_en = (
        "This department asks you to write in Persian script, not Persian in Latin letters."
    )
    message_fa = (
        "این واحد از شما می‌خواهد فارسی را با حروف فارسی بنویسید، نه با حروف لاتین (فینگلیش)."
    )


class ServiceUnavailable(GatewayError):
    code = "service_unavailable"
    http_status = 503
    message_en = "The service is not available right now; please try again shortly."
    message_fa = "سرویس در حال حاضر در دسترس نیست؛ لطفاً کمی بعد دوباره تلاش کنید."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class InternalError(GatewayError):
    code = "internal_error"
    http_status = 500
    message_en = "Something went wrong on our side; please try again."
    message_fa = "خطایی در سامانه رخ داد؛ لطفاً دوباره تلاش کنید."


class TicketNotFound(GatewayError):
    """The tickets service's own words for a ticket the caller may not see."""

    code = "ticket_not_found"
    http_status = 404
    message_en = "Ticket not found."
    message_fa = "تیکت مورد نظر یافت نشد."


class RouteNotFound(GatewayError):
    code = "not_found"
    http_status = 404
    message_en = "Not found."
    message_fa = "یافت نشد."


class MethodNotAllowed(GatewayError):
    code = "method_not_allowed"
    http_status = 405
    message_en = "This method is not allowed here."
    message_fa = "این روش (method) در این نشانی مجاز نیست."

    def __init__(self, allowed: list[str] | None = None) -> None:
        super().__init__("method not allowed")
        self.allowed = allowed or []

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)} if self.allowed else {}
