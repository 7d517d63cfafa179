"""Delivery reports: ``sent`` becomes ``delivered``, or ``failed`` (``undelivered``),
when the provider says so.

Polled (``NOTIFY_DELIVERY_POLL_SECONDS``) rather than pushed: a webhook needs a public
endpoint per provider and its own authentication, while polling needs nothing but the
API we already use. Messages are asked about for a day after sending, least recently
asked first; an undelivered report emits SmsFailed (version 2 of the message's stream).
"""

from __future__ import annotations

from datetime import timedelta

import pasokh_common  # noqa: F401

from services.notify import repository as repo
from services.notify.context import Dependencies
from services.notify.domain.outcomes import Delivery, Reason
from services.notify.metrics import MESSAGES, QUEUED
from services.notify.sending import Sender

REPORT_WINDOW = timedelta(days=1)
BATCH = 200


def poll_deliveries(deps: Dependencies) -> int:
    """One round; returns how many messages changed state."""
    provider, pool = deps.provider, deps.pool
    with pool.connection() as conn:
        QUEUED.set(repo.count_queued(conn))
    if not provider.reports_delivery:
        return 0
    now = deps.clock()
    with pool.transaction() as tx:
        rows = repo.awaiting_report(tx, provider.name, now - REPORT_WINDOW, BATCH)
        if rows:
            repo.mark_checked(tx, [r["message_id"] for r in rows], now)
    if not rows:
        return 0
    reports = provider.delivery_status([r["provider_message_id"] for r in rows])
    sender, changed = Sender(deps), 0
    for row in rows:
        report = reports.get(row["provider_message_id"])
        if report is None or report is Delivery.PENDING:
            continue
        delivered = report is Delivery.DELIVERED
        with pool.transaction() as tx:
            if not repo.mark_delivery(tx, row["message_id"], delivered, now):
                continue
            changed += 1
            if delivered:
                MESSAGES.labels(row["template"], provider.name, "delivered").inc()
            else:
                sender.announce_failure(tx, row, Reason.UNDELIVERED, row["attempts"], now)
    return changed
