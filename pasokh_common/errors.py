"""One error shape for every boundary: a stable code, messages in Persian and English,
and per-field messages. The gateway turns these into
``{"error": {"code", "message", "fields"}}`` with the language the caller asked for."""

from __future__ import annotations

from typing import Any, ClassVar

from nameko.exceptions import deserialize_to_instance


class PasokhError(Exception):
    """Base of every error a caller may see. Subclasses set ``code`` and the messages."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400
    message_en: ClassVar[str] = "The request could not be completed."
    message_fa: ClassVar[str] = "درخواست انجام نشد."

    def __init__(
        self,
        detail: str | None = None,
        *,
        fields: dict[str, Any] | None = None,
        message_en: str | None = None,
        message_fa: str | None = None,
    ) -> None:
        self.fields = fields or {}
        if message_en:
            self.message_en = message_en
        if message_fa:
            self.message_fa = message_fa
        self.detail = detail
        super().__init__(detail or self.message_en)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": {"fa": self.message_fa, "en": self.message_en},
            "detail": self.detail,
            "fields": self.fields,
        }


class ValidationFailed(PasokhError):
    code = "validation_failed"
    http_status = 400
    message_en = "Some fields are invalid."
    message_fa = "برخی از فیلدها نامعتبر است."


class NotFound(PasokhError):
    code = "not_found"
    http_status = 404
    message_en = "Not found."
    message_fa = "یافت نشد."


class Conflict(PasokhError):
    code = "conflict"
    http_status = 409
    message_en = "Someone else changed this first; reload and try again."
    message_fa = "این مورد هم‌زمان توسط شخص دیگری تغییر کرد؛ دوباره بارگذاری و تلاش کنید."


def bilingual(fa: str, en: str) -> dict[str, str]:
    """A field message in both languages, as field errors carry them."""
    return {"fa": fa, "en": en}


@deserialize_to_instance
class ServiceError(Exception):
    """How a PasokhError crosses nameko RPC: its dict travels as the only argument and
    the caller gets this class back (not a bare RemoteError), so the gateway can map it
    to HTTP without parsing strings."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload)
        self.payload = payload

    @property
    def code(self) -> str:
        return self.payload.get("code", "error")

    @property
    def http_status(self) -> int:
        return int(self.payload.get("http_status", 400))

    @classmethod
    def from_error(cls, error: PasokhError) -> ServiceError:
        return cls({**error.to_dict(), "http_status": error.http_status})
