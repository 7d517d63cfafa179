"""Prometheus metrics: each process serves ``/metrics`` on its own port."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

log = logging.getLogger(__name__)

# Seconds; spans a fast RPC (a few ms) to a slow, contended one.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> None:
    """Serve the default registry. Under eventlet the server thread is a greenthread."""
    start_http_server(port, addr=addr)
    log.info("metrics served", extra={"port": port})
