"""The one place where an error becomes an HTTP answer.

Domain errors arrive from the services as ``ServiceError`` (payload ``{code, message
{fa, en}, fields, http_status, ...}``; nameko's serialisation may turn numbers into
strings, so every number is read with ``int()``); the gateway's own errors are
PasokhErrors. Both become ``{"error": {"code", "message", "fields"}}`` with the message
and the field messages in the caller's language (``Accept-Language``: fa by default,
en). ``detail`` is never shown: it is for logs and may name internal ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pasokh_common.errors import PasokhError, ServiceError

from werkzeug.datastructures import LanguageAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header

from gateway.errors import (
    GatewayError,
    InternalError,
    MethodNotAllowed,
    RequestTooLarge,
    RouteNotFound,
)

log = logging.getLogger(__name__)

LANGUAGES = ("fa", "en")
DEFAULT_LANGUAGE = "fa"


def choose_language(accept_language: str | None) -> str:
    """``fa`` unless the caller prefers English. By primary subtag, in the caller's
    order of preference: ``fa-IR,en;q=0.5`` is Persian, ``en-GB`` English. (werkzeug's
    best_match prefers an exact tag of lower quality over a regional variant.)"""
    if not accept_language:
        return DEFAULT_LANGUAGE
    for value, quality in parse_accept_header(accept_language, LanguageAccept):
        primary = value.split("-", 1)[0].strip().lower()
        if quality > 0 and primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


@dataclass
class ErrorReply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def localise(messages: Any, language: str) -> Any:
    """Field messages as the services send them ({"fa", "en"} pairs, in lists, maybe
    nested per list index) reduced to the chosen language."""
    if isinstance(messages, dict):
        if set(messages) == {"fa", "en"}:
            return messages.get(language) or messages.get("en")
        return {str(key): localise(value, language) for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [localise(m, language) for m in messages]
    return messages


def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _from_payload(payload: dict[str, Any], language: str) -> ErrorReply:
    status = _as_int(payload.get("http_status"), 400)
    message = payload.get("message") or {}
    text = (message.get(language) or message.get("en")) if isinstance(message, dict) else message
    error: dict[str, Any] = {
        "code": str(payload.get("code") or "error"),
        "message": text or "",
        "fields": localise(payload.get("fields") or {}, language),
    }
    headers: dict[str, str] = {}
    if "retry_after_seconds" in payload:
        retry_after = max(1, _as_int(payload["retry_after_seconds"], 1))
        error["retry_after_seconds"] = retry_after
        headers["Retry-After"] = str(retry_after)
    if "tries_left" in payload:
        error["tries_left"] = _as_int(payload["tries_left"], 0)
    return ErrorReply(status, {"error": error}, headers)


def _from_http_exception(exc: HTTPException) -> PasokhError:
    code = exc.code or 500
    if code == 413:
        return RequestTooLarge(str(exc))
    if code == 404:
        return RouteNotFound(str(exc))
    if code == 405:
        allowed = list(getattr(exc, "valid_methods", None) or [])
        return MethodNotAllowed(allowed)
    error = GatewayError(
        str(exc),
        message_en=exc.description or exc.name,
        message_fa=exc.description or exc.name,
    )
    error.http_status = code  # type: ignore[misc]
    error.code = exc.name.lower().replace(" ", "_")  # type: ignore[misc]
    return error


def error_reply(exc: BaseException, language: str, request_id: str = "") -> ErrorReply:
    """The HTTP answer for ``exc``; anything unexpected is logged and becomes a 500 that
    names the request id (so support can find the log line) and nothing else."""
    if isinstance(exc, ServiceError):
        payload = exc.payload if isinstance(exc.payload, dict) else {}
        return _from_payload(payload, language)
    if isinstance(exc, HTTPException):
        exc = _from_http_exception(exc)
    if not isinstance(exc, PasokhError):
        log.error(
            "unexpected error",
            exc_info=(type(exc), exc, exc.__traceback__),
            extra={"correlation_id": request_id},
        )
        exc = InternalError("unexpected")
    reply = _from_payload({**exc.to_dict(), "http_status": exc.http_status}, language)
    if isinstance(exc, GatewayError):
        reply.body["error"].update(exc.body_extras())
        reply.headers.update(exc.headers())
    if reply.status >= 500 and request_id:
        # The one thing support needs to find the log lines of this failure.
        label = "شناسهٔ درخواست" if language == "fa" else "request id"
        reply.body["error"]["message"] += f" ({label}: {request_id})"
    return reply
