"""Kavenegar (kavenegar.com REST API v1): ``sms/send``, ``verify/lookup`` for codes,
``sms/statuslocalmessageid`` to reconcile, ``sms/status`` for delivery reports.

Requests are ``POST https://api.kavenegar.com/v1/{API-KEY}/{method}.json`` with a form
body; every answer is JSON ``{"return": {"status", "message"}, "entries": ...}`` whose
``return.status`` is also the HTTP status (200, or an error code such as 411 invalid
receptor, 418 no credit). We pass our message id as ``localid`` (a long): Kavenegar
answers a repeated ``localid`` with the first message instead of sending again, and
``statuslocalmessageid`` finds a message by it (for 12 hours), which is what makes a
retry after a crash or a timeout safe. The API key is part of the URL path, so URLs
are never logged.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from datetime import datetime

from services.notify.config import KavenegarSettings
from services.notify.domain.outcomes import (
    Delivery,
    Lookup,
    LookupResult,
    Reason,
    SendResult,
)
from services.notify.domain.phones import national_iranian
from services.notify.providers import http
from services.notify.providers.base import Outgoing, Provider

# return.status codes: what each means for the message (kavenegar.com/rest.html).
_REJECT = {411: Reason.INVALID_NUMBER, 413: Reason.INVALID_MESSAGE, 422: Reason.INVALID_MESSAGE}
_BUSY = {402, 409}
# Message states (sms/status, entries[].status).
_DELIVERED, _BLOCKED, _UNKNOWN_ID = 10, 14, 100
_UNDELIVERED = {6, 11, 13, 14}
STATUS_BATCH = 500


def _return_code(reply: http.Reply, payload: object) -> int:
    if isinstance(payload, dict) and isinstance(payload.get("return"), dict):
        try:
            return int(payload["return"].get("status"))
        except (TypeError, ValueError):
            pass
    return reply.status


def _entries(payload: object) -> list[dict]:
    entries = payload.get("entries") if isinstance(payload, dict) else None
    if isinstance(entries, dict):
        return [entries]
    return [e for e in entries or [] if isinstance(e, dict)]


def classify(reply: http.Reply) -> SendResult:
    """A ``sms/send`` or ``verify/lookup`` answer as a SendResult."""
    payload = reply.json()
    code = _return_code(reply, payload)
    detail = f"kavenegar {code}"
    if isinstance(payload, dict) and isinstance(payload.get("return"), dict):
        detail += f": {payload['return'].get('message', '')}"[:200]
    if code == 200:
        entries = _entries(payload)
        entry = entries[0] if entries else {}
        if entry.get("status") == _BLOCKED:
            return SendResult.rejected(Reason.BLOCKED, detail)
        if not entry.get("messageid"):
            return SendResult.unknown(Reason.SERVER_ERROR, detail + " (no messageid)")
        return SendResult.accepted(str(entry["messageid"]), detail)
    if code in _REJECT:
        return SendResult.rejected(_REJECT[code], detail)
    if code == 429:
        return SendResult.refused(Reason.RATE_LIMITED, detail, http.retry_after_seconds(reply))
    if code in _BUSY:
        return SendResult.refused(Reason.PROVIDER_BUSY, detail)
    if code >= 500 or payload is None:
        # A 5xx, or an answer that is not Kavenegar's JSON (a proxy's error page): the
        # message may or may not have been taken.
        return SendResult.unknown(Reason.SERVER_ERROR, detail)
    # Key, credit, sender line, IP allow-list, template name: an operator must act;
    # retried with backoff meanwhile.
    return SendResult.refused(Reason.PROVIDER_ACCOUNT, detail)


class KavenegarProvider(Provider):
    name = "kavenegar"
    dedupes_client_id = True
    can_lookup = True
    reports_delivery = True

    def __init__(self, settings: KavenegarSettings, timeout: float) -> None:
        self.settings = settings
        self.timeout = timeout

    def _url(self, method: str) -> str:
        key = urllib.parse.quote(self.settings.api_key, safe="")
        return f"{self.settings.base_url.rstrip('/')}/v1/{key}/{method}.json"

    def _post(self, method: str, params: dict) -> http.Reply:
        return http.request(
            "POST",
            self._url(method),
            timeout=self.timeout,
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "Accept": "application/json",
            },
            body=http.form(params),
        )

    def _send(self, method: str, params: dict) -> SendResult:
        try:
            return classify(self._post(method, params))
        except http.NotSent as exc:
            return SendResult.refused(Reason.UNREACHABLE, str(exc))
        except http.OutcomeUnknown as exc:
            return SendResult.unknown(Reason.TIMEOUT, str(exc))

    def send(self, message: Outgoing) -> SendResult:
        return self._send(
            "sms/send",
            {
                "receptor": national_iranian(message.recipient),
                "message": message.text,
                "sender": self.settings.sender,
                "localid": message.numeric_client_id,
            },
        )

    def send_code(self, message: Outgoing) -> SendResult:
        """Through a verify template approved in the Kavenegar panel when one is
        configured (faster routes, allowed at any hour); else as ordinary text."""
        template = (
            self.settings.verify_template_en
            if message.language == "en"
            else self.settings.verify_template_fa
        )
        if not template or not message.code:
            return self.send(message)
        return self._send(
            "verify/lookup",
            {
                "receptor": national_iranian(message.recipient),
                "token": message.code,
                "template": template,
            },
        )

    def lookup(
        self, message: Outgoing, since: datetime, exclude_ids: Iterable[str] = ()
    ) -> LookupResult:
        try:
            reply = self._post("sms/statuslocalmessageid", {"localid": message.numeric_client_id})
        except (http.NotSent, http.OutcomeUnknown) as exc:
            return LookupResult(Lookup.CANNOT_TELL, detail=str(exc))
        payload = reply.json()
        if _return_code(reply, payload) != 200:
            return LookupResult(Lookup.CANNOT_TELL, detail=f"kavenegar {reply.status}")
        wanted = str(message.numeric_client_id)
        for entry in _entries(payload):
            if str(entry.get("localid", wanted)) != wanted:
                continue
            if entry.get("messageid") and entry.get("status") != _UNKNOWN_ID:
                return LookupResult(Lookup.FOUND, str(entry["messageid"]))
            return LookupResult(Lookup.NOT_FOUND)
        return LookupResult(Lookup.NOT_FOUND)

    def delivery_status(self, provider_ids: list[str]) -> dict[str, Delivery]:
        found: dict[str, Delivery] = {}
        for start in range(0, len(provider_ids), STATUS_BATCH):
            batch = provider_ids[start : start + STATUS_BATCH]
            try:
                reply = self._post("sms/status", {"messageid": ",".join(batch)})
            except (http.NotSent, http.OutcomeUnknown):
                continue
            payload = reply.json()
            if _return_code(reply, payload) != 200:
                continue
            for entry in _entries(payload):
                status = entry.get("status")
                if status == _DELIVERED:
                    found[str(entry.get("messageid"))] = Delivery.DELIVERED
                elif status in _UNDELIVERED:
                    found[str(entry.get("messageid"))] = Delivery.UNDELIVERED
        return found
