"""Finished deliveries (and their attempts) are kept ``WEBHOOKS_RETENTION_DAYS`` for
admins to read, then deleted, so the log does not grow without end. Pending and
in-flight deliveries are never touched, whatever their age; the endpoint log stays.

Deleted in small batches, each its own transaction: a large first sweep never holds
locks for long, and any number of replicas may run it (a row is deleted once).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from services.webhooks import repository as repo
from services.webhooks.context import Dependencies

log = logging.getLogger("pasokh.webhooks")
BATCH = 1000


def prune(deps: Dependencies, batch: int = BATCH) -> int:
    """Delete what has passed its retention; returns how many deliveries. 0 days: off."""
    days = deps.config.retention_days
    if days <= 0:
        return 0
    before = deps.clock() - timedelta(days=days)
    total = 0
    while True:
        with deps.pool.transaction() as tx:
            deleted = repo.prune_finished(tx, before, batch)
        total += deleted
        if deleted < batch:
            break
    if total:
        log.info("old webhook deliveries deleted", extra={"count": total, "days": days})
    return total
