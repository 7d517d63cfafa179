"""notify's Prometheus metrics (served by the runner's ``/metrics``).

Labels are bounded: template names, the one configured provider, outcomes, reasons and
encodings. Never user ids, ticket ids or phone numbers.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from services.notify.domain.templates import TEMPLATE_NAMES

OUTCOMES = ("sent", "failed", "delivered", "undelivered")

MESSAGES = Counter(
    "pasokh_notify_messages_total",
    "SMS by template, provider and outcome (sent, failed, delivered, undelivered)",
    ["template", "provider", "outcome"],
)
SEND_SECONDS = Histogram(
    "pasokh_notify_send_seconds",
    "Time of one provider call (send or lookup)",
    ["provider", "action"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
RETRIES = Counter(
    "pasokh_notify_retries_total",
    "Attempts that failed transiently and were scheduled again",
    ["template", "provider", "reason"],
)
DEAD_LETTERS = Counter(
    "pasokh_notify_dead_letters_total",
    "Messages given up without a permanent answer (gave_up, expired, outcome_unknown, "
    "interrupted): each needs a human look",
    ["template", "provider", "reason"],
)
PARTS_SENT = Counter(
    "pasokh_notify_parts_sent_total",
    "SMS parts handed to the provider (what is billed)",
    ["template", "provider", "encoding"],
)
RECONCILED = Counter(
    "pasokh_notify_reconciled_total",
    "Lookups after an unknown outcome, by answer (found: not resent)",
    ["provider", "answer"],
)
QUEUED = Gauge("pasokh_notify_queued_messages", "Messages waiting to be sent")


def export_zeros(provider: str) -> None:
    """Create every series up front: dashboards and rate() see zeros, not gaps."""
    for template in TEMPLATE_NAMES:
        for outcome in OUTCOMES:
            MESSAGES.labels(template, provider, outcome)
        for encoding in ("gsm7", "ucs2"):
            PARTS_SENT.labels(template, provider, encoding)
    for action in ("send", "lookup"):
        SEND_SECONDS.labels(provider, action)
