"""webhooks' Prometheus metrics (served by the runner's ``/metrics``).

Labels are bounded: outcomes and reasons. Never endpoint URLs or ids (an admin can
register any number of them).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTCOMES = ("delivered", "retried", "failed")

DELIVERIES_CREATED = Counter(
    "pasokh_webhooks_deliveries_created_total",
    "Deliveries created: one per (matching enabled endpoint, event), pings included",
)
ATTEMPTS = Counter(
    "pasokh_webhooks_attempts_total",
    "Requests sent to endpoints, by outcome (delivered, retried, failed)",
    ["outcome"],
)
REQUEST_SECONDS = Histogram(
    "pasokh_webhooks_request_seconds",
    "Time of one request to an endpoint, answered or not",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ENDPOINTS_DISABLED = Counter(
    "pasokh_webhooks_endpoints_disabled_total",
    "Endpoints disabled, by who (auto: repeated failure, WebhookEndpointDisabled; admin)",
    ["by"],
)
BACKLOG = Gauge(
    "pasokh_webhooks_backlog",
    "Deliveries pending or in flight (of disabled endpoints too: they wait)",
)

BOUND_KEYS = Gauge(
    "pasokh_webhooks_bound_keys",
    "Routing keys the source's webhooks queue is bound with, after the last reconcile"
    " ('#', every event of the source, counts as one)",
    ["source"],
)
BOUND_EVERYTHING = Gauge(
    "pasokh_webhooks_bound_everything",
    "1 when some enabled endpoint's filter (a glob) binds the source's queue with '#'",
    ["source"],
)
RECONCILES = Counter(
    "pasokh_webhooks_binding_reconciles_total",
    "Reconciles of the event queues' bindings with the endpoints' filters, by outcome",
    ["outcome"],
)


def export_zeros() -> None:
    """Create every series up front: dashboards and rate() see zeros, not gaps."""
    for outcome in OUTCOMES:
        ATTEMPTS.labels(outcome)
    for by in ("auto", "admin"):
        ENDPOINTS_DISABLED.labels(by)
    for outcome in ("ok", "error"):
        RECONCILES.labels(outcome)
