"""Every way a notify request can be refused, with a stable code and both languages."""

from __future__ import annotations

from pasokh_common.errors import PasokhError, ValidationFailed, bilingual


class NotifyError(PasokhError):
    code = "notify_error"


class SmsNotSent(NotifyError):
    """The verification code did not reach the provider; identity forgets the code."""

    code = "sms_not_sent"
    http_status = 503
    message_en = "The SMS could not be sent right now; please try again shortly."
    message_fa = "در حال حاضر ارسال پیامک ممکن نیست؛ لطفاً کمی بعد دوباره تلاش کنید."


class NotPermitted(NotifyError):
    code = "not_permitted"
    http_status = 403
    message_en = "You are not allowed to do this."
    message_fa = "شما اجازهٔ انجام این کار را ندارید."


class TemplateNotFound(NotifyError):
    code = "template_not_found"
    http_status = 404
    message_en = "No such SMS template."
    message_fa = "چنین قالب پیامکی وجود ندارد."


def template_invalid(en: str, fa: str) -> ValidationFailed:
    """A template body refused at edit time; the message says why in both languages."""
    return ValidationFailed(fields={"body": [bilingual(fa, en)]})


class TicketNotKnownYet(Exception):
    """An event about a ticket whose TicketOpened has not arrived yet (queues are per
    event type, so order between types is not guaranteed). Raising it makes the
    consumer retry the event later; it is not an error anyone sees."""
