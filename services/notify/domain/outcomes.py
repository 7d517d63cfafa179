"""What a provider call can tell us, in the four shapes that decide what happens next.

The distinction that matters for "never a second SMS" is whether the provider may have
taken the message:

* ``ACCEPTED``: it did (we have its id).
* ``REJECTED``: it answered that it will never send this one (invalid or blocked
  number, malformed text). Permanent: recorded, never retried.
* ``REFUSED``: it answered that it did not take it *now* (rate limited, out of credit,
  busy), or we never reached it (connection refused). Nothing was sent: retry.
* ``UNKNOWN``: the request may have been processed (a timeout after sending, a dropped
  connection, a 5xx). Retrying blindly could send twice, so the next attempt first
  reconciles: it asks the provider whether the message exists (by our client id), or
  relies on the provider's own de-duplication of that id; a provider that can do
  neither gets no blind resend (``outcome_unknown``, docs/notify.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REFUSED = "refused"
    UNKNOWN = "unknown"


class Reason(StrEnum):
    """Short, stable failure reasons (stored, shown to staff, bounded metric labels)."""

    INVALID_NUMBER = "invalid_number"
    BLOCKED = "blocked"
    INVALID_MESSAGE = "invalid_message"
    REJECTED = "rejected"
    RATE_LIMITED = "rate_limited"
    PROVIDER_ACCOUNT = "provider_account"  # credit, key, sender line: an operator fixes it
    PROVIDER_BUSY = "provider_busy"
    UNREACHABLE = "unreachable"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    NO_CONTACT = "no_contact"
    TOO_LONG = "too_long"
    GAVE_UP = "gave_up"
    EXPIRED = "expired"
    OUTCOME_UNKNOWN = "outcome_unknown"
    INTERRUPTED = "interrupted"
    UNDELIVERED = "undelivered"


@dataclass(frozen=True)
class SendResult:
    status: Status
    provider_message_id: str | None = None
    reason: Reason | None = None
    detail: str = ""
    retry_after: float | None = None  # the provider's own hint, seconds

    @classmethod
    def accepted(cls, provider_message_id: str | None, detail: str = "") -> SendResult:
        return cls(Status.ACCEPTED, provider_message_id, None, detail)

    @classmethod
    def rejected(cls, reason: Reason, detail: str = "") -> SendResult:
        return cls(Status.REJECTED, None, reason, detail)

    @classmethod
    def refused(
        cls, reason: Reason, detail: str = "", retry_after: float | None = None
    ) -> SendResult:
        return cls(Status.REFUSED, None, reason, detail, retry_after)

    @classmethod
    def unknown(cls, reason: Reason, detail: str = "") -> SendResult:
        return cls(Status.UNKNOWN, None, reason, detail)


class Lookup(StrEnum):
    """The answer of a provider asked "did you get message X?"."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    CANNOT_TELL = "cannot_tell"


@dataclass(frozen=True)
class LookupResult:
    answer: Lookup
    provider_message_id: str | None = None
    detail: str = ""


class Delivery(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
