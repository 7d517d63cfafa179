"""Any SMS gateway with an HTTP API, described by a URL template (and a body template).

``NOTIFY_HTTP_URL`` (and ``NOTIFY_HTTP_BODY``) may contain ``{to}`` (E.164),
``{to_national}`` (``09…`` for Iranian numbers), ``{text}``, ``{client_id}``,
``{message_id}``, ``{template}`` and ``{language}``. Values are URL-encoded in the URL
and in form bodies, and become JSON strings (quotes included) in JSON bodies, so
``{"to": {to}, "text": {text}}`` is a valid template. Placeholders are replaced
literally (not with ``str.format``), so JSON braces need no escaping.

A 2xx answer is success (the gateway's id read from ``NOTIFY_HTTP_ID_FIELD``, a dotted
path into a JSON answer, when set); 408, 425, 429 and 503 mean "not taken now"; other
5xx mean "unknown"; 401, 403, 404, 405 are configuration errors; any other 4xx is a
permanent rejection. Set ``NOTIFY_HTTP_DEDUPES=true`` only if the gateway really
ignores a repeated ``{client_id}``: then a retry after an unknown outcome may resend;
otherwise such a message is not resent (``outcome_unknown``).
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from services.notify.config import HttpSettings
from services.notify.domain.outcomes import Reason, SendResult
from services.notify.domain.phones import national_iranian
from services.notify.providers import http
from services.notify.providers.base import Outgoing, Provider

_NOT_TAKEN = {408, 425, 429, 503}
_CONFIGURATION = {401, 403, 404, 405}


def _values(message: Outgoing) -> dict[str, str]:
    return {
        "to": message.recipient,
        "to_national": national_iranian(message.recipient),
        "text": message.text,
        "client_id": message.client_id,
        "message_id": message.message_id,
        "template": message.template,
        "language": message.language,
    }


def fill(template: str, values: dict[str, str], encode) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", encode(value))
    return template


def _dig(payload: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(payload, dict):
            return None
        payload = payload.get(part)
    return payload


def classify(reply: http.Reply, id_field: str = "") -> SendResult:
    detail = f"http {reply.status}: {reply.text(200)}"
    if 200 <= reply.status < 300:
        found = _dig(reply.json(), id_field) if id_field else None
        return SendResult.accepted(str(found) if found is not None else None, detail)
    if reply.status in _NOT_TAKEN:
        reason = Reason.RATE_LIMITED if reply.status == 429 else Reason.PROVIDER_BUSY
        return SendResult.refused(reason, detail, http.retry_after_seconds(reply))
    if reply.status >= 500:
        return SendResult.unknown(Reason.SERVER_ERROR, detail)
    if reply.status in _CONFIGURATION:
        return SendResult.refused(Reason.PROVIDER_ACCOUNT, detail)
    return SendResult.rejected(Reason.REJECTED, detail)


class HttpTemplateProvider(Provider):
    name = "http"
    can_lookup = False

    def __init__(self, settings: HttpSettings, timeout: float) -> None:
        self.settings = settings
        self.timeout = timeout
        self.dedupes_client_id = settings.dedupes

    def _body(self, values: dict[str, str]) -> bytes | None:
        if not self.settings.body:
            return None
        content_type = self.settings.content_type.lower()
        if "json" in content_type:
            encode = json.dumps
        elif "x-www-form-urlencoded" in content_type:
            encode = urllib.parse.quote_plus
        else:
            encode = str
        return fill(self.settings.body, values, encode).encode("utf-8")

    def send(self, message: Outgoing) -> SendResult:
        values = _values(message)
        url = fill(self.settings.url, values, lambda v: urllib.parse.quote(v, safe=""))
        body = self._body(values)
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = self.settings.content_type
        if self.settings.authorization:
            headers["Authorization"] = self.settings.authorization
        try:
            reply = http.request(
                self.settings.method, url, timeout=self.timeout, headers=headers, body=body
            )
        except http.NotSent as exc:
            return SendResult.refused(Reason.UNREACHABLE, str(exc))
        except http.OutcomeUnknown as exc:
            return SendResult.unknown(Reason.TIMEOUT, str(exc))
        return classify(reply, self.settings.id_field)
