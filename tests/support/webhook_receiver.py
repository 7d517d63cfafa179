"""A local HTTPS server that receives webhooks the way a customer's system would: it
records every request (path, headers, body) and answers as a test scripts it (fail
the next N requests to a path with a status, optionally with Retry-After).

Its certificate comes from a throwaway CA made by ``trustme`` in the test; the service
under test trusts that CA only through ``WEBHOOKS_CA_BUNDLE``, so TLS verification
stays on exactly as in production.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class Scripted:
    status: int
    headers: dict[str, str]
    body: bytes
    delay: float = 0.0  # seconds before answering (the request is recorded at once)


class WebhookReceiver:
    def __init__(self, directory: Path) -> None:
        self.ca = trustme.CA()
        self.ca_path = directory / "webhook-test-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._scripts: dict[str, list[Scripted]] = defaultdict(list)
        self._always: dict[str, Scripted] = {}
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                reply = receiver._record(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"https://127.0.0.1:{server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- scripting and reading -------------------------------------------------------

    def fail_next(
        self, path: str, times: int, status: int = 500, headers: dict | None = None
    ) -> None:
        with self._lock:
            self._scripts[path].extend(
                [Scripted(status, headers or {}, b'{"error":"scripted"}')] * times
            )

    def hold_next(self, path: str, seconds: float) -> None:
        """Record the next request to ``path`` but answer only after ``seconds``: the
        sender is caught between sending and recording."""
        with self._lock:
            self._scripts[path].append(Scripted(200, {}, b'{"ok":"late"}', seconds))

    def always(self, path: str, status: int, body: bytes = b"down for maintenance") -> None:
        with self._lock:
            self._always[path] = Scripted(status, {}, body)

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self._received if r.path == path]

    def _record(self, request: Received) -> Scripted:
        with self._lock:
            self._received.append(request)
            script = self._scripts.get(request.path)
            if script:
                return script.pop(0)
            return self._always.get(request.path) or Scripted(200, {}, b'{"ok":true}')
