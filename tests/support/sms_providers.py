"""Local HTTP servers that speak the subset of Kavenegar's and Twilio's real APIs that
notify uses (and a generic gateway), including their error answers, so the real
provider clients are tested over real HTTP.

Shapes follow the providers' public documents:

* Kavenegar REST v1: ``/v1/{API-KEY}/sms/send.json`` (``receptor``, ``message``,
  ``sender``, ``localid``; a repeated ``localid`` answers with the first message and
  sends nothing), ``verify/lookup.json`` (``receptor``, ``token``, ``template``),
  ``sms/statuslocalmessageid.json``, ``sms/status.json``. Every answer is
  ``{"return": {"status", "message"}, "entries"}`` with the HTTP status equal to
  ``return.status`` (411 invalid receptor, 401 bad key, ...).
* Twilio 2010-04-01: ``POST/GET /Accounts/{Sid}/Messages.json`` (Basic auth,
  ``To``/``From``/``Body``; list filtered by ``To``), ``GET .../Messages/{Sid}.json``;
  errors ``{"code", "message", "more_info", "status"}`` (21211, 21610, 20003, 20429).

Each server records every request and every SMS it "sent" (what reached a phone), and
can be scripted: fail the next N sends with a status (optionally after sending, as a
provider that processed the message and then answered 500), refuse numbers as invalid
or blocked, or hold sends to a number (recorded as sent, answer withheld) so a test can
kill the sender between send and acknowledgement.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOLD_SECONDS = 30


def e164(number: str) -> str:
    """Numbers as either provider received them, in one comparable form."""
    digits = number.strip()
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return "+98" + digits[1:]
    return digits


@dataclass
class Sms:
    provider_id: str
    to: str  # E.164
    text: str
    client_id: str | None = None
    template: str | None = None
    token: str | None = None
    sender: str | None = None
    received_at: float = field(default_factory=time.time)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = "sent"


@dataclass
class Failure:
    status: int
    after_sending: bool = False


class FakeSmsProvider:
    """What the Kavenegar and Twilio fakes share: recording, scripting, the server."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sms: list[Sms] = []
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, params)
        self.failures: list[Failure] = []
        self.invalid: set[str] = set()
        self.blocked: set[str] = set()
        self.held: dict[str, threading.Event] = {}
        self._ids = itertools.count(100_000)
        self.server: ThreadingHTTPServer | None = None

    # -- scripting -------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 500, after_sending: bool = False) -> None:
        with self.lock:
            self.failures.extend(Failure(status, after_sending) for _ in range(count))

    def hold(self, number: str) -> threading.Event:
        event = threading.Event()
        with self.lock:
            self.held[e164(number)] = event
        return event

    def release_all(self) -> None:
        with self.lock:
            for event in self.held.values():
                event.set()
            self.held.clear()

    # -- reading ---------------------------------------------------------------------

    def messages_to(self, number: str) -> list[Sms]:
        with self.lock:
            return [m for m in self.sms if m.to == e164(number)]

    def send_requests_to(self, number: str, endpoint: str = "") -> int:
        """Send requests for ``number`` (to paths ending in ``endpoint``, if given)."""
        with self.lock:
            return sum(
                1
                for method, path, params in self.requests
                if self.is_send(method, path)
                and path.endswith(endpoint)
                and e164(self.recipient_of(params)) == e164(number)
            )

    def requests_for(self, endpoint: str) -> list[dict]:
        with self.lock:
            return [params for _, path, params in self.requests if path.endswith(endpoint)]

    def set_status(self, provider_id: str, status: str) -> None:
        with self.lock:
            for message in self.sms:
                if message.provider_id == provider_id:
                    message.status = status

    # -- serving ---------------------------------------------------------------------

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                parts = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(parts.query))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if raw and "json" in (self.headers.get("Content-Type") or ""):
                    params.update(json.loads(raw.decode()))
                elif raw:
                    params.update(urllib.parse.parse_qsl(raw.decode("utf-8")))
                with fake.lock:
                    fake.requests.append((method, parts.path, dict(params)))
                status, payload, headers = fake.handle(method, parts.path, params, self.headers)
                body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the caller is gone (killed while we held its request)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.release_all()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # -- helpers for subclasses ------------------------------------------------------

    def _next_failure(self) -> Failure | None:
        with self.lock:
            return self.failures.pop(0) if self.failures else None

    def _deliver(self, message: Sms) -> None:
        """Record an SMS as sent, then keep the answer while the number is held."""
        with self.lock:
            self.sms.append(message)
            held = self.held.get(message.to)
        if held is not None:
            held.wait(HOLD_SECONDS)

    def new_id(self) -> int:
        return next(self._ids)

    def handle(self, method: str, path: str, params: dict, headers) -> tuple[int, Any, dict]:
        raise NotImplementedError

    def is_send(self, method: str, path: str) -> bool:
        raise NotImplementedError

    def recipient_of(self, params: dict) -> str:
        raise NotImplementedError


# -- Kavenegar ---------------------------------------------------------------------------

_KAVE_MESSAGES = {
    200: "تایید شد",
    401: "حساب کاربری غیرفعال شده است",
    403: "کد شناسائی API-Key معتبر نمی‌باشد",
    409: "سرور قادر به پاسخگوئی نیست بعدا تلاش کنید",
    411: "دریافت کننده نامعتبر است",
    418: "اعتبار حساب شما کافی نیست",
    424: "الگوی مورد نظر پیدا نشد",
    500: "خطای داخلی سرور",
}
_KAVE_STATUS_TEXT = {1: "در صف ارسال", 10: "رسیده به گیرنده", 11: "نرسیده به گیرنده"}
_KAVE_CODES = {"sent": 1, "delivered": 10, "undelivered": 11}


class FakeKavenegar(FakeSmsProvider):
    def __init__(self, api_key: str = "test-kavenegar-key", templates: tuple = ()) -> None:
        super().__init__()
        self.api_key = api_key
        self.templates = set(templates)
        self.by_localid: dict[str, Sms] = {}

    def is_send(self, method: str, path: str) -> bool:
        return path.endswith(("/sms/send.json", "/verify/lookup.json"))

    def recipient_of(self, params: dict) -> str:
        return params.get("receptor", "")

    @staticmethod
    def answer(status: int, entries: Any = None) -> tuple[int, Any, dict]:
        message = _KAVE_MESSAGES.get(status, "خطا")
        return status, {"return": {"status": status, "message": message}, "entries": entries}, {}

    @staticmethod
    def entry(message: Sms) -> dict[str, Any]:
        code = _KAVE_CODES.get(message.status, 1)
        return {
            "messageid": int(message.provider_id),
            "message": message.text,
            "status": code,
            "statustext": _KAVE_STATUS_TEXT.get(code, ""),
            "sender": message.sender or "10004346",
            "receptor": "0" + message.to[3:] if message.to.startswith("+98") else message.to,
            "date": int(message.received_at),
            "cost": 120,
        }

    def handle(self, method: str, path: str, params: dict, headers) -> tuple[int, Any, dict]:
        prefix = f"/v1/{self.api_key}/"
        if not path.startswith(prefix):
            return self.answer(403)
        action = path[len(prefix) :]
        if action in ("sms/send.json", "verify/lookup.json"):
            return self._send(action, params)
        if action == "sms/statuslocalmessageid.json":
            return self._by_localid(params)
        if action == "sms/status.json":
            return self._status(params)
        return self.answer(404)

    def _send(self, action: str, params: dict) -> tuple[int, Any, dict]:
        receptor = params.get("receptor", "")
        if not receptor:
            return self.answer(400)
        to = e164(receptor)
        localid = params.get("localid")
        with self.lock:
            earlier = self.by_localid.get(localid) if localid else None
        if earlier is not None:
            return self.answer(200, [self.entry(earlier)])  # de-duplicated: nothing sent
        failure = self._next_failure()
        if failure is not None and not failure.after_sending:
            return self.answer(failure.status)
        if to in self.invalid:
            return self.answer(411)
        if action == "verify/lookup.json":
            template = params.get("template", "")
            if self.templates and template not in self.templates:
                return self.answer(424)
            message = Sms(
                str(self.new_id()),
                to,
                f"[{template}] {params.get('token', '')}",
                template=template,
                token=params.get("token"),
            )
        else:
            if not params.get("message"):
                return self.answer(400)
            message = Sms(
                str(self.new_id()),
                to,
                params["message"],
                client_id=localid,
                sender=params.get("sender"),
            )
        if to in self.blocked:
            message.status = "blocked"
        if localid:
            with self.lock:
                self.by_localid[localid] = message
        self._deliver(message)
        if failure is not None:
            return self.answer(failure.status)
        entry = self.entry(message)
        if to in self.blocked:
            entry["status"] = 14
        return self.answer(200, [entry])

    def _by_localid(self, params: dict) -> tuple[int, Any, dict]:
        entries = []
        for localid in params.get("localid", "").split(","):
            with self.lock:
                found = self.by_localid.get(localid)
            if found is None:
                entries.append(
                    {"messageid": 0, "localid": localid, "status": 100, "statustext": "نامعتبر"}
                )
            else:
                entry = self.entry(found)
                entries.append(
                    {k: entry[k] for k in ("messageid", "status", "statustext")}
                    | {"localid": localid}
                )
        return self.answer(200, entries)

    def _status(self, params: dict) -> tuple[int, Any, dict]:
        wanted = set(params.get("messageid", "").split(","))
        with self.lock:
            found = [m for m in self.sms if m.provider_id in wanted]
        entries = [
            {k: self.entry(m)[k] for k in ("messageid", "status", "statustext")} for m in found
        ]
        return self.answer(200, entries)


# -- Twilio ------------------------------------------------------------------------------


class FakeTwilio(FakeSmsProvider):
    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token"):
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token

    def is_send(self, method: str, path: str) -> bool:
        return method == "POST" and path.endswith("/Messages.json")

    def recipient_of(self, params: dict) -> str:
        return params.get("To", "")

    def error(self, status: int, code: int, message: str) -> tuple[int, Any, dict]:
        payload = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return status, payload, {}

    def resource(self, message: Sms) -> dict[str, Any]:
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.provider_id}"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": message.text,
            "date_created": format_datetime(message.created),
            "date_sent": None,
            "date_updated": format_datetime(message.created),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": message.sender,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": message.provider_id,
            "status": "queued" if message.status == "sent" else message.status,
            "subresource_uris": {"media": base + "/Media.json"},
            "to": message.to,
            "uri": base + ".json",
        }

    def _authorised(self, headers) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return headers.get("Authorization") == f"Basic {expected}"

    def handle(self, method: str, path: str, params: dict, headers) -> tuple[int, Any, dict]:
        if not self._authorised(headers):
            return self.error(401, 20003, "Authenticate")
        prefix = f"/2010-04-01/Accounts/{self.account_sid}/Messages"
        if path == prefix + ".json" and method == "POST":
            return self._create(params)
        if path == prefix + ".json" and method == "GET":
            with self.lock:
                found = [m for m in self.sms if not params.get("To") or m.to == params["To"]]
            page = [self.resource(m) for m in reversed(found)][: int(params.get("PageSize", 50))]
            return (
                200,
                {
                    "messages": page,
                    "page": 0,
                    "page_size": len(page),
                    "next_page_uri": None,
                    "uri": path,
                },
                {},
            )
        if path.startswith(prefix + "/") and method == "GET":
            sid = path[len(prefix) + 1 :].removesuffix(".json")
            with self.lock:
                found = [m for m in self.sms if m.provider_id == sid]
            if not found:
                return self.error(404, 20404, "The requested resource was not found")
            return 200, self.resource(found[0]), {}
        return self.error(404, 20404, "The requested resource was not found")

    def _create(self, params: dict) -> tuple[int, Any, dict]:
        to = params.get("To", "")
        if not to:
            return self.error(400, 21604, "A 'To' phone number is required.")
        if not (params.get("From") or params.get("MessagingServiceSid")):
            return self.error(400, 21603, "A 'From' phone number is required.")
        failure = self._next_failure()
        if failure is not None and not failure.after_sending:
            if failure.status == 429:
                return (
                    429,
                    {"code": 20429, "message": "Too Many Requests", "status": 429},
                    {"Retry-After": "1"},
                )
            return self.error(failure.status, 20500, "Internal Server Error")
        if to in self.invalid:
            return self.error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self.blocked:
            return self.error(400, 21610, "Attempt to send to unsubscribed recipient")
        message = Sms(
            "SM" + uuid.uuid4().hex, to, params.get("Body", ""), sender=params.get("From")
        )
        self._deliver(message)
        if failure is not None:
            return self.error(failure.status, 20500, "Internal Server Error")
        return 201, self.resource(message), {}


# -- a generic HTTP gateway --------------------------------------------------------------


class FakeGenericGateway(FakeSmsProvider):
    """``POST /send`` with form or JSON fields ``to``, ``text``, ``id``; answers
    ``{"result": {"id": ...}}``. De-duplicates ``id`` when ``dedupes`` is set."""

    def __init__(self, dedupes: bool = True, token: str = "Bearer gateway-token") -> None:
        super().__init__()
        self.dedupes = dedupes
        self.token = token
        self.by_id: dict[str, Sms] = {}

    def is_send(self, method: str, path: str) -> bool:
        return path == "/send"

    def recipient_of(self, params: dict) -> str:
        return params.get("to", "")

    def handle(self, method: str, path: str, params: dict, headers) -> tuple[int, Any, dict]:
        if headers.get("Authorization") != self.token:
            return 401, {"error": "unauthorised"}, {}
        if path != "/send":
            return 404, {"error": "not found"}, {}
        client_id = params.get("id")
        with self.lock:
            earlier = self.by_id.get(client_id) if self.dedupes and client_id else None
        if earlier is not None:
            return 200, {"result": {"id": earlier.provider_id}}, {}
        failure = self._next_failure()
        if failure is not None and not failure.after_sending:
            return failure.status, {"error": "failure"}, {}
        to = e164(params.get("to", ""))
        if to in self.invalid:
            return 400, {"error": "invalid number"}, {}
        message = Sms(f"g-{self.new_id()}", to, params.get("text", ""), client_id=client_id)
        with self.lock:
            if client_id:
                self.by_id[client_id] = message
        self._deliver(message)
        if failure is not None:
            return failure.status, {"error": "failure"}, {}
        return 200, {"result": {"id": message.provider_id}}, {}
