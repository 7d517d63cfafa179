"""nameko's HTTP plumbing, adapted: a ``Route`` entrypoint and the web server under it.

What differs from nameko's ``@http`` and why:

* The request id (``X-Request-ID``, echoed or made) is handed to the worker as nameko
  context data ``correlation_id``: every RPC the worker makes carries it, and the
  tickets service records it in each event's metadata.
* Every answer, including routing failures (404/405) and a container that is
  stopping (503), is the JSON error shape; RED metrics and one access-log line are
  recorded per request with the URL *rule* as the route.
* The body of a refused upload is not read to its end: the connection is closed after
  the answer, with a short bounded drain ("lingering close", as nginx and Apache do)
  so the client sees the 413 rather than a connection reset. eventlet would otherwise
  read and discard the whole body to keep the connection alive.
* ``wsgi.input_terminated`` is set because eventlet's input stream stops at
  Content-Length and at the last chunk; werkzeug then enforces its size caps on
  chunked bodies too instead of treating them as empty.
* ``/healthz`` and ``/metrics`` are answered here, without a nameko worker, so they
  answer even when every worker is busy (liveness must not fail under load).
"""

from __future__ import annotations

import json
import logging
import socket
import time
from functools import partial
from typing import Any

from pasokh_common.settings import env_float

from eventlet import wsgi
from eventlet.event import Event
from eventlet.support import get_errno
from eventlet.wsgi import BROKEN_SOCK, BaseHTTPServer
from nameko.exceptions import ContainerBeingKilled
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from gateway import metrics
from gateway.error_mapping import choose_language, error_reply
from gateway.errors import ServiceUnavailable
from gateway.request_meta import REQUEST_ID_HEADER, request_id_from

log = logging.getLogger("pasokh.gateway.http")

REQUEST_ID_KEY = "pasokh.request_id"
CONNECTION_KEY = "pasokh.connection"
LINGER_SECONDS = 2.0
LINGER_BYTES = 1024 * 1024
UNREAD_BODY_TO_CLOSE = 64 * 1024


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    response = Response(body, status=status, content_type="application/json; charset=utf-8")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def error_response(exc: BaseException, request: Request, request_id: str) -> Response:
    language = choose_language(request.headers.get("Accept-Language"))
    reply = error_reply(exc, language, request_id)
    response = json_response(reply.body, reply.status, reply.headers)
    response.headers["Content-Language"] = language
    return response


def finish_response(response: Response, request_id: str) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


class GatewayProtocol(HttpOnlyProtocol):
    linger = False

    def get_environ(self) -> dict:
        environ = super().get_environ()
        environ["wsgi.input_terminated"] = True
        environ[CONNECTION_KEY] = self
        return environ

    def finish(self) -> None:
        try:
            BaseHTTPServer.BaseHTTPRequestHandler.finish(self)
        except OSError as exc:
            if get_errno(exc) not in BROKEN_SOCK:
                raise
        if self.linger:
            _drain(self.connection)
        self.connection.close()


def _drain(sock: socket.socket) -> None:
    """Tell the client we are done (FIN), then swallow what it is still sending for a
    moment, so closing does not reset the connection before it read our answer."""
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + LINGER_SECONDS
        received = 0
        while received < LINGER_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            chunk = sock.recv(64 * 1024)
            if not chunk:
                break
            received += len(chunk)
    except OSError:
        pass


def close_if_body_unread(environ: dict, status: int) -> None:
    """Close (with a drain) instead of reading what is left of a body we refused."""
    protocol = environ.get(CONNECTION_KEY)
    body = environ.get("eventlet.input")
    if protocol is None or body is None:
        return
    if body.chunked_input:
        unread = body.chunk_length != 0 and status >= 400
    else:
        left = (body.content_length or 0) - body.position
        unread = left > UNREAD_BODY_TO_CLOSE or (left > 0 and status == 413)
    if unread:
        protocol.close_connection = 1
        protocol.linger = True


class GatewayWsgiApp(WsgiApp):
    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        if path in ("/healthz", "/metrics"):
            response = self._operations(path, environ)
        else:
            response = self._route(environ)
        close_if_body_unread(environ, response.status_code)
        return response(environ, start_response)

    def _operations(self, path: str, environ: dict) -> Response:
        started = time.perf_counter()
        request_id = request_id_from(Request(environ, shallow=True).headers)
        if path == "/healthz":
            response = json_response({"status": "ok"})
        else:
            response = Response(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
        metrics.observe(
            path, environ.get("REQUEST_METHOD", "GET"), 200, time.perf_counter() - started
        )
        return finish_response(response, request_id)

    def _route(self, environ: dict) -> Response:
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except RequestRedirect as redirect:
            return redirect.get_response(environ)
        except HTTPException as exc:
            started = time.perf_counter()
            request_id = request_id_from(request.headers)
            response = finish_response(error_response(exc, request, request_id), request_id)
            metrics.observe(
                metrics.UNMATCHED,
                request.method,
                response.status_code,
                time.perf_counter() - started,
            )
            return response
        request.path_values = values
        return provider.handle_request(request)


class GatewayWebServer(WebServer):
    def get_wsgi_app(self) -> GatewayWsgiApp:
        return GatewayWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, protocol=GatewayProtocol, debug=False):
        # A socket timeout keeps slow or stalled clients from holding connections
        # forever (nameko applies it to every accepted socket); our own access log
        # line replaces eventlet's, which has no request id.
        return wsgi.Server(
            sock,
            sock.getsockname(),
            wsgi_app,
            protocol=protocol,
            debug=debug,
            log=logging.getLogger("pasokh.gateway.wsgi"),
            log_output=False,
            socket_timeout=env_float("GATEWAY_SOCKET_TIMEOUT_SECONDS", 60.0),
        )


# Marks an entrypoint function whose signature is ``(self, request, **path_values)``
# (``gateway.api.api`` makes them all so, and refuses path variables named ``self`` or
# ``request``): nameko's per-request signature check can never fail for it.
OPEN_SIGNATURE = "_pasokh_open_signature"


class Route(HttpRequestHandler):
    """One HTTP route. ``self.url`` (the rule) is the ``route`` metric label."""

    server = GatewayWebServer()

    def setup(self) -> None:
        super().setup()
        method = getattr(self.container.service_cls, self.method_name)
        self.checks_signature = not getattr(method, OPEN_SIGNATURE, False)

    def check_signature(self, args: tuple, kwargs: dict) -> None:
        """nameko's check (``inspect.getcallargs``, 2.9 % of the gateway's CPU at 150
        tickets/s), skipped for the endpoints that accept whatever it would check:
        the request and any path values."""
        if self.checks_signature:
            super().check_signature(args, kwargs)

    def handle_request(self, request: Request) -> Response:
        request.shallow = False
        started = time.perf_counter()
        request_id = request_id_from(request.headers)
        request.environ[REQUEST_ID_KEY] = request_id
        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            event = Event()
            self.container.spawn_worker(
                self,
                args,
                kwargs,
                context_data={"correlation_id": request_id},
                handle_result=partial(self.handle_result, event),
            )
            response = self.response_from_result(event.wait())
        except ContainerBeingKilled:
            response = error_response(ServiceUnavailable("stopping"), request, request_id)
        except Exception as exc:
            response = error_response(exc, request, request_id)
        finish_response(response, request_id)
        seconds = time.perf_counter() - started
        metrics.observe(self.url, request.method, response.status_code, seconds)
        log.info(
            "request",
            extra={
                "correlation_id": request_id,
                "method": request.method,
                "route": self.url,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
            },
        )
        return response
