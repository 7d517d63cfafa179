"""The events notify emits on its own log (``notify.events``, exchange ``notify.events``).

They say what happened to a message, for other systems (a CRM, reports on SMS cost):
ids, template, provider, parts and reason. Never a phone number, never the text (a
verification code's text is the secret itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar


def message_stream(message_id: str) -> str:
    return f"sms-{message_id}"


@dataclass(frozen=True)
class SmsSent:
    TYPE: ClassVar[str] = "SmsSent"
    SCHEMA_VERSION: ClassVar[int] = 1

    message_id: str
    template: str
    user_id: str
    ticket_id: str | None
    cause_event_id: str | None
    provider: str
    parts: int
    encoding: str
    attempts: int
    sent_at: datetime

    def to_data(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["sent_at"] = self.sent_at.isoformat()
        return data


@dataclass(frozen=True)
class SmsFailed:
    """``permanent`` is false only for ``gave_up``/``expired`` after transient errors,
    true for rejections (invalid or blocked number) and undelivered reports."""

    TYPE: ClassVar[str] = "SmsFailed"
    SCHEMA_VERSION: ClassVar[int] = 1

    message_id: str
    template: str
    user_id: str
    ticket_id: str | None
    cause_event_id: str | None
    provider: str | None
    reason: str
    permanent: bool
    attempts: int
    failed_at: datetime

    def to_data(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["failed_at"] = self.failed_at.isoformat()
        return data
