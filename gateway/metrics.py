"""RED metrics of the HTTP API: rate and errors (a counter by status) and duration
(a histogram), per route. ``route`` is the URL rule (``/api/v1/tickets/<ticket_id>``),
never the raw path, so ids never become label values and the series stay bounded;
paths that match no rule count as ``unmatched``."""

from __future__ import annotations

from pasokh_common.metrics import LATENCY_BUCKETS

from prometheus_client import Counter, Histogram

UNMATCHED = "unmatched"

REQUESTS = Counter(
    "pasokh_gateway_requests_total",
    "HTTP requests answered by the gateway",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "pasokh_gateway_request_seconds",
    "Time from routing an HTTP request to having its response",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMITED = Counter(
    "pasokh_gateway_rate_limited_total",
    "Requests refused with 429 by the gateway's own limits",
    ["limit"],
)
DUPLICATES_REFUSED = Counter(
    "pasokh_gateway_duplicate_tickets_refused_total",
    "Ticket openings answered 409 because an open ticket has a similar subject",
)


def observe(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route).observe(seconds)
