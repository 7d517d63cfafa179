"""A minimal HTTP client (standard library only) for calls to systems outside Pasokh
(notify's SMS providers, webhooks' endpoints), that tells apart
"the request never left" from "it left and we do not know what happened".

That difference decides whether a retry may send twice, so connecting (TCP and TLS)
is a separate step: a failure there is ``NotSent``; any failure after the first byte
of the request went out is ``OutcomeUnknown``. Under the runner's eventlet monkey
patch these sockets are green, so a slow provider never blocks other work.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from dataclasses import dataclass
from typing import Any


class NotSent(Exception):
    """Could not connect: the provider cannot have seen the request."""


class OutcomeUnknown(Exception):
    """Connected and sent (part of) the request; it may have been processed."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The decoded body, or None if it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def text(self, limit: int = 300) -> str:
        return self.body.decode("utf-8", "replace")[:limit]


def request(
    method: str,
    url: str,
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    context: ssl.SSLContext | None = None,
    max_body: int | None = None,
) -> Reply:
    """One request. ``context`` verifies TLS (default: the system's CAs, hostname
    checked); ``max_body`` bounds how much of the answer is read (a receiver may send
    megabytes nobody will look at)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotSent(f"not an http(s) URL: {parts.scheme}://{parts.hostname}")
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=context
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        try:
            conn.connect()
        except OSError as exc:
            raise NotSent(f"{type(exc).__name__}: {exc}") from None
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(method, target, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read() if max_body is None else response.read(max_body)
        except (OSError, http.client.HTTPException) as exc:
            raise OutcomeUnknown(f"{type(exc).__name__}: {exc}") from None
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        conn.close()


def form(values: dict[str, Any]) -> bytes:
    return urllib.parse.urlencode(
        {k: v for k, v in values.items() if v is not None and v != ""}
    ).encode()


def retry_after_seconds(reply: Reply) -> float | None:
    raw = reply.headers.get("retry-after", "")
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None
