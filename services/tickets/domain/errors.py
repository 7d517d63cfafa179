"""Every way a ticket command can be refused, one class per situation.

Each carries a stable ``code`` (clients and translations key on it, so it never
changes), the HTTP status the gateway answers with, and a message in formal Persian
and in English. A customer asking about a ticket that is not theirs always gets
``ticket_not_found`` (404), never 403: a 403 would confirm that the ticket exists.
"""

from __future__ import annotations

from typing import Any

from pasokh_common.errors import PasokhError, bilingual

_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def fa_number(value: int) -> str:
    """A number as a Persian reader expects to see it in a sentence."""
    return str(value).translate(_PERSIAN_DIGITS)


def field_message(fa: str, en: str) -> list[dict[str, str]]:
    """One field's messages in the shape of ``PasokhError.fields`` values."""
    return [bilingual(fa, en)]


class TicketError(PasokhError):
    """Base of every refusal by the ticket model."""

    code = "ticket_error"
    http_status = 400
    message_en = "The ticket request could not be completed."
    message_fa = "درخواست مربوط به تیکت انجام نشد."


# -- 400: the request itself is wrong ---------------------------------------------


class InvalidTicketData(TicketError):
    """Some values are invalid; ``fields`` says which and why, in both languages."""

    code = "invalid_ticket_data"
    http_status = 400
    message_en = "Some of the ticket's details are invalid."
    message_fa = "برخی از اطلاعات تیکت نامعتبر است."


class EmptyBody(InvalidTicketData):
    """A subclass of ``InvalidTicketData`` so a form can treat both alike, with its
    own code so a client can say exactly this."""

    code = "empty_body"
    http_status = 400
    message_en = "The message cannot be empty."
    message_fa = "متن پیام نمی‌تواند خالی باشد."


class TooManyAttachments(TicketError):
    code = "too_many_attachments"
    http_status = 400
    message_en = "This message has more attachments than allowed."
    message_fa = "تعداد پیوست‌های این پیام بیش از حد مجاز است."


class AttachmentTooLarge(TicketError):
    code = "attachment_too_large"
    http_status = 413
    message_en = "An attachment is larger than allowed."
    message_fa = "حجم یکی از پیوست‌ها بیش از حد مجاز است."


# -- 403 / 404: who may do what ---------------------------------------------------


class TicketNotVisible(TicketError):
    """The actor may not see this ticket. Answered as "not found" so that nobody
    learns which ticket ids exist by trying them."""

    code = "ticket_not_found"
    http_status = 404
    message_en = "Ticket not found."
    message_fa = "تیکت مورد نظر یافت نشد."


class NotPermitted(TicketError):
    """The actor sees the ticket but this action is not theirs to take (a customer
    trying a staff action, a colleague rating someone else's ticket)."""

    code = "not_permitted"
    http_status = 403
    message_en = "You are not allowed to do this."
    message_fa = "شما اجازهٔ انجام این کار را ندارید."


class NotInDepartment(TicketError):
    code = "not_in_department"
    http_status = 403
    message_en = "This ticket belongs to a department you do not work in."
    message_fa = "این تیکت به واحدی تعلق دارد که شما عضو آن نیستید."


# -- 409: the ticket's state does not allow it ------------------------------------


class AlreadyClaimed(TicketError):
    code = "already_claimed"
    http_status = 409
    message_en = "You are already handling this ticket."
    message_fa = "این تیکت هم‌اکنون در دست بررسی شماست."


class ClaimedByAnotherAgent(TicketError):
    code = "claimed_by_another_agent"
    http_status = 409
    message_en = "Another agent is handling this ticket."
    message_fa = "این تیکت در دست بررسی کارشناس دیگری است."


class NotClaimed(TicketError):
    code = "not_claimed"
    http_status = 409
    message_en = "No agent is handling this ticket."
    message_fa = "این تیکت در دست بررسی هیچ کارشناسی نیست."


class TicketIsClosed(TicketError):
    code = "ticket_is_closed"
    http_status = 409
    message_en = "This ticket is closed."
    message_fa = "این تیکت بسته شده است."


class TicketNotClosed(TicketError):
    code = "ticket_not_closed"
    http_status = 409
    message_en = "This ticket is not closed."
    message_fa = "این تیکت هنوز بسته نشده است."


class ReopenWindowExpired(TicketError):
    code = "reopen_window_expired"
    http_status = 409
    message_en = "This ticket was closed too long ago to be reopened; please open a new ticket."
    message_fa = "مهلت بازگشایی این تیکت به پایان رسیده است؛ لطفاً تیکت جدیدی ثبت کنید."


class TicketWasMerged(TicketError):
    """The ticket was merged into another one; the conversation continues there.
    ``into_ticket_id`` lets a client go to it."""

    code = "ticket_was_merged"
    http_status = 409
    message_en = "This ticket was merged into another ticket; please continue there."
    message_fa = "این تیکت با تیکت دیگری ادغام شده است؛ لطفاً گفت‌وگو را در آن تیکت ادامه دهید."

    def __init__(
        self, detail: str | None = None, *, into_ticket_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(detail, **kwargs)
        self.into_ticket_id = into_ticket_id

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "into_ticket_id": self.into_ticket_id}


class SameDepartment(TicketError):
    code = "same_department"
    http_status = 409
    message_en = "The ticket is already in this department."
    message_fa = "تیکت هم‌اکنون در همین واحد است."


class SamePriority(TicketError):
    code = "same_priority"
    http_status = 409
    message_en = "The ticket already has this priority."
    message_fa = "اولویت تیکت هم‌اکنون همین است."


class CannotMergeIntoItself(TicketError):
    code = "cannot_merge_into_itself"
    http_status = 409
    message_en = "A ticket cannot be merged into itself."
    message_fa = "یک تیکت را نمی‌توان با خودش ادغام کرد."


class MergeTargetClosed(TicketError):
    """The ticket to merge into is closed (or was itself merged, which closed it)."""

    code = "merge_target_closed"
    http_status = 409
    message_en = "The ticket to merge into is closed."
    message_fa = "تیکت مقصد ادغام بسته شده است."


class MergeAcrossCustomers(TicketError):
    code = "merge_across_customers"
    http_status = 409
    message_en = "Only tickets of the same customer can be merged."
    message_fa = "فقط تیکت‌های یک مشتری را می‌توان با هم ادغام کرد."


class AlreadyRated(TicketError):
    code = "already_rated"
    http_status = 409
    message_en = "You have already rated this ticket."
    message_fa = "شما پیش‌تر به این تیکت امتیاز داده‌اید."


class RatingNotAllowed(TicketError):
    code = "rating_not_allowed"
    http_status = 409
    message_en = "This ticket cannot be rated."
    message_fa = "امکان امتیازدهی به این تیکت وجود ندارد."


# -- not refusals of a command: the stored history cannot be read -----------------


class EventDecodingError(ValueError):
    """Stored event data that this code cannot turn into an event. A server fault
    (500), never a caller's mistake, so it is not a ``PasokhError``."""


class UnknownEventType(EventDecodingError):
    pass


class UnsupportedSchemaVersion(EventDecodingError):
    pass


ALL_TICKET_ERRORS: tuple[type[TicketError], ...] = (
    InvalidTicketData,
    EmptyBody,
    TooManyAttachments,
    AttachmentTooLarge,
    TicketNotVisible,
    NotPermitted,
    NotInDepartment,
    AlreadyClaimed,
    ClaimedByAnotherAgent,
    NotClaimed,
    TicketIsClosed,
    TicketNotClosed,
    ReopenWindowExpired,
    TicketWasMerged,
    SameDepartment,
    SamePriority,
    CannotMergeIntoItself,
    MergeTargetClosed,
    MergeAcrossCustomers,
    AlreadyRated,
    RatingNotAllowed,
)
