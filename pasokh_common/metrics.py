"""Each process serves Prometheus ``/metrics`` and Kubernetes probes on its own port.

``/healthz`` answers 200 while the process can answer at all (liveness: restart it
when this fails). ``/readyz`` answers 200 only between "started" and "stopping"
(readiness: send work only then), so a pod that is draining on SIGTERM leaves the
Service before its workers finish.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

log = logging.getLogger(__name__)

# Seconds; spans a fast RPC (a few ms) to a slow, contended one.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Readiness:
    """Set by the process when it takes work, cleared when it starts to stop; while set,
    every registered check (its database, its broker) must also pass. Liveness never
    runs the checks: a broker outage must not make Kubernetes restart every pod."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._checks: dict[str, Callable[[], None]] = {}

    def add_check(self, name: str, check: Callable[[], None]) -> None:
        """``check`` raises when the dependency is unusable."""
        self._checks[name] = check

    def set_ready(self) -> None:
        self._ready.set()

    def set_not_ready(self) -> None:
        self._ready.clear()

    def failing_checks(self) -> list[str]:
        failing = []
        for name, check in self._checks.items():
            try:
                check()
            except Exception:
                failing.append(name)
        return failing

    def is_ready(self) -> bool:
        return self._ready.is_set() and not self.failing_checks()


READINESS = Readiness()


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Probes every few seconds would flood the JSON logs."""


def build_app(readiness: Readiness) -> Callable:
    metrics_app = make_wsgi_app()

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == "/readyz":
            if not readiness._ready.is_set():
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"not ready: starting or stopping\n"]
            failing = readiness.failing_checks()
            if not failing:
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"ready\n"]
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [("not ready: " + ", ".join(failing) + "\n").encode()]
        return metrics_app(environ, start_response)

    return app


def start_metrics_server(
    port: int, addr: str = "0.0.0.0", readiness: Readiness = READINESS
) -> WSGIServer:
    """Serve metrics and probes in a daemon thread (a greenthread under eventlet)."""
    server = make_server(
        addr, port, build_app(readiness), _ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    log.info("metrics and probes served", extra={"port": port})
    return server


def database_check(dsn: str, timeout: int = 2) -> Callable[[], None]:
    def check() -> None:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")

    return check


def broker_check(amqp_uri: str, timeout: float = 2) -> Callable[[], None]:
    def check() -> None:
        from kombu import Connection

        with Connection(amqp_uri, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1)

    return check
