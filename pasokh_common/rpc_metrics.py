"""RED metrics for every nameko entrypoint of a service: rate, errors, duration.

One dependency provider that each service declares (``metrics = EntrypointMetrics()``):
nameko calls its worker hooks around every RPC, event handler and timer, so no
entrypoint can be forgotten. Labels stay bounded: service and method names come from
the code, the outcome from a fixed set.
"""

from __future__ import annotations

import time

from pasokh_common.errors import ServiceError
from pasokh_common.metrics import LATENCY_BUCKETS

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Histogram

RPC_REQUESTS = Counter(
    "pasokh_rpc_requests_total",
    "Entrypoint calls by outcome: ok, domain_error (the caller's mistake), error (ours)",
    ["service", "method", "outcome"],
)
RPC_DURATION = Histogram(
    "pasokh_rpc_duration_seconds",
    "Time spent in an entrypoint, start to result",
    ["service", "method"],
    buckets=LATENCY_BUCKETS,
)


def outcome_of(exc_info: tuple | None) -> str:
    if not exc_info:
        return "ok"
    return "domain_error" if isinstance(exc_info[1], ServiceError) else "error"


class EntrypointMetrics(DependencyProvider):
    def __init__(self) -> None:
        self._started: dict[int, float] = {}

    def get_dependency(self, worker_ctx) -> None:
        return None

    def worker_setup(self, worker_ctx) -> None:
        self._started[id(worker_ctx)] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        started = self._started.pop(id(worker_ctx), None)
        service = self.container.service_name
        method = worker_ctx.entrypoint.method_name
        RPC_REQUESTS.labels(service, method, outcome_of(exc_info)).inc()
        if started is not None:
            RPC_DURATION.labels(service, method).observe(time.perf_counter() - started)

    def worker_teardown(self, worker_ctx) -> None:
        self._started.pop(id(worker_ctx), None)
