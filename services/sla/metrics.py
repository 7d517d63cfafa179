"""The SLA service's Prometheus metrics (served by the runner's ``/metrics``).

The histograms and the breach counter are incremented by the replica that recorded
the fact, so a sum over replicas counts each once. The at-risk gauge is read from the
database by every replica's timer: every replica reports the same number, so
aggregate it with ``max``, not ``sum``. Labels are bounded (departments, priorities,
targets), never ticket ids.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HOUR = 3600
# Business seconds: from minutes to weeks of working time.
BUSINESS_BUCKETS = tuple(h * HOUR for h in (0.25, 0.5, 1, 2, 4, 8, 16, 24, 40, 72, 120, 240))

FIRST_RESPONSE = Histogram(
    "pasokh_sla_first_response_business_seconds",
    "Business time from opening to the first public staff reply",
    ["department", "priority"],
    buckets=BUSINESS_BUCKETS,
)
RESOLUTION = Histogram(
    "pasokh_sla_resolution_business_seconds",
    "Business time from opening (or reopening) to close, without waits on the customer",
    ["department", "priority"],
    buckets=BUSINESS_BUCKETS,
)
BREACHES = Counter("pasokh_sla_breaches_total", "Targets breached", ["department", "target"])
WARNINGS = Counter("pasokh_sla_warnings_total", "Warnings emitted", ["department", "target"])
AT_RISK = Gauge(
    "pasokh_sla_tickets_at_risk",
    "Open tickets with a target whose warning was sent and that is not met yet",
    ["department"],
)
EVENTS_APPENDED = Counter(
    "pasokh_sla_events_appended_total", "Events appended to sla's log", ["event_type"]
)
HELD_EVENTS = Gauge(
    "pasokh_sla_held_ticket_events",
    "Ticket events waiting for an earlier version of their stream (sla.inbox)",
)
CLOCK_OFFSET = Gauge(
    "pasokh_sla_clock_offset_seconds",
    "Test-only shift of the service's clock; anything but 0 in production is a mistake",
)

for _event_type in ("SlaTargetsSet", "SlaWarning", "SlaBreached", "SlaMet"):
    EVENTS_APPENDED.labels(_event_type)


class AtRiskReport:
    """Sets the gauge per department, and back to 0 for departments no longer at risk
    (a label that simply stops being set would keep its last value forever)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def publish(self, counts: dict[str, int]) -> None:
        for department in self._seen - set(counts):
            AT_RISK.labels(department).set(0)
        for department, count in counts.items():
            AT_RISK.labels(department).set(count)
        self._seen |= set(counts)
