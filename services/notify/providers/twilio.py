"""Twilio Programmable Messaging: ``POST /2010-04-01/Accounts/{Sid}/Messages.json``.

Form fields ``To``, ``From`` (or ``MessagingServiceSid``), ``Body`` and optionally
``StatusCallback``; HTTP Basic auth with the account SID and auth token. ``201`` with
the message resource (``sid``, ``status``, ``num_segments``) means accepted; errors
are ``{"code", "message", "more_info", "status"}``, e.g. 21211 (invalid 'To'), 21610
(the recipient replied STOP), 20429 (too many requests).

Twilio takes no client-side id, so it cannot de-duplicate a resend. To reconcile
after an unknown outcome we list the messages to that number (newest first) and look
for one with our exact text created since our first attempt that no other message of
ours already claims. Delivery reports come from ``GET .../Messages/{Sid}.json``.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from services.notify.config import TwilioSettings
from services.notify.domain.outcomes import Delivery, Lookup, LookupResult, Reason, SendResult
from services.notify.providers import http
from services.notify.providers.base import Outgoing, Provider

_INVALID_NUMBER = {21211, 21614, 21612, 21217, 21401, 21421}
_BLOCKED = {21610, 30004}
_NOT_PERMITTED = {21408, 21606, 21659, 21660}
_INVALID_MESSAGE = {21617, 21602, 30007}
_AUTH = {20003, 20005, 20008}
_DELIVERED = {"delivered"}
_UNDELIVERED = {"undelivered", "failed"}
CLOCK_SKEW = timedelta(minutes=2)


def classify(reply: http.Reply) -> SendResult:
    payload = reply.json()
    if reply.status in (200, 201) and isinstance(payload, dict) and payload.get("sid"):
        return SendResult.accepted(str(payload["sid"]), f"twilio {payload.get('status', '')}")
    code = payload.get("code") if isinstance(payload, dict) else None
    message = payload.get("message", "") if isinstance(payload, dict) else reply.text()
    detail = f"twilio {reply.status}/{code}: {message}"[:300]
    if reply.status == 429 or code == 20429:
        return SendResult.refused(Reason.RATE_LIMITED, detail, http.retry_after_seconds(reply))
    if reply.status >= 500 or payload is None:
        return SendResult.unknown(Reason.SERVER_ERROR, detail)
    if code in _INVALID_NUMBER:
        return SendResult.rejected(Reason.INVALID_NUMBER, detail)
    if code in _BLOCKED:
        return SendResult.rejected(Reason.BLOCKED, detail)
    if code in _INVALID_MESSAGE:
        return SendResult.rejected(Reason.INVALID_MESSAGE, detail)
    if reply.status in (401, 403) or code in _AUTH or code in _NOT_PERMITTED:
        return SendResult.refused(Reason.PROVIDER_ACCOUNT, detail)
    return SendResult.rejected(Reason.REJECTED, detail)


def _created_at(resource: dict) -> datetime | None:
    try:
        return parsedate_to_datetime(resource.get("date_created", ""))
    except (TypeError, ValueError):
        return None


class TwilioProvider(Provider):
    name = "twilio"
    dedupes_client_id = False
    can_lookup = True
    reports_delivery = True

    def __init__(self, settings: TwilioSettings, timeout: float) -> None:
        self.settings = settings
        self.timeout = timeout
        token = f"{settings.account_sid}:{settings.auth_token}".encode()
        self._auth = "Basic " + base64.b64encode(token).decode()

    def _url(self, path: str, query: dict | None = None) -> str:
        sid = urllib.parse.quote(self.settings.account_sid, safe="")
        url = f"{self.settings.base_url.rstrip('/')}/2010-04-01/Accounts/{sid}/{path}"
        return url + ("?" + urllib.parse.urlencode(query) if query else "")

    def _call(self, method: str, url: str, body: bytes | None = None) -> http.Reply:
        headers = {"Authorization": self._auth, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return http.request(method, url, timeout=self.timeout, headers=headers, body=body)

    def send(self, message: Outgoing) -> SendResult:
        fields = {
            "To": message.recipient,
            "Body": message.text,
            "StatusCallback": self.settings.status_callback,
        }
        if self.settings.messaging_service_sid:
            fields["MessagingServiceSid"] = self.settings.messaging_service_sid
        else:
            fields["From"] = self.settings.sender
        try:
            return classify(self._call("POST", self._url("Messages.json"), http.form(fields)))
        except http.NotSent as exc:
            return SendResult.refused(Reason.UNREACHABLE, str(exc))
        except http.OutcomeUnknown as exc:
            return SendResult.unknown(Reason.TIMEOUT, str(exc))

    def lookup(
        self, message: Outgoing, since: datetime, exclude_ids: Iterable[str] = ()
    ) -> LookupResult:
        query = {"To": message.recipient, "PageSize": 50}
        try:
            reply = self._call("GET", self._url("Messages.json", query))
        except (http.NotSent, http.OutcomeUnknown) as exc:
            return LookupResult(Lookup.CANNOT_TELL, detail=str(exc))
        payload = reply.json()
        if reply.status != 200 or not isinstance(payload, dict):
            return LookupResult(Lookup.CANNOT_TELL, detail=f"twilio {reply.status}")
        excluded = set(exclude_ids)
        for resource in payload.get("messages") or []:
            created = _created_at(resource)
            if (
                resource.get("body") == message.text
                and resource.get("sid") not in excluded
                and created is not None
                and created >= since - CLOCK_SKEW
            ):
                return LookupResult(Lookup.FOUND, str(resource["sid"]))
        return LookupResult(Lookup.NOT_FOUND)

    def delivery_status(self, provider_ids: list[str]) -> dict[str, Delivery]:
        found: dict[str, Delivery] = {}
        for sid in provider_ids:
            try:
                reply = self._call("GET", self._url(f"Messages/{urllib.parse.quote(sid)}.json"))
            except (http.NotSent, http.OutcomeUnknown):
                continue
            payload = reply.json()
            if reply.status != 200 or not isinstance(payload, dict):
                continue
            if payload.get("status") in _DELIVERED:
                found[sid] = Delivery.DELIVERED
            elif payload.get("status") in _UNDELIVERED:
                found[sid] = Delivery.UNDELIVERED
        return found
