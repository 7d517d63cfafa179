"""Events in: one delivery per enabled endpoint whose filter matches.

Runs inside the consumer's transaction (``pasokh_common.consumer``), which records
the event as processed: the deliveries and that record commit together, so an event
redelivered by RabbitMQ creates nothing twice (and the unique (endpoint, event) key
says the same once more). The request itself is made later by the sender, never
here: a slow receiver must not hold up the queue.
"""

from __future__ import annotations

import functools
import logging
import uuid
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.consumer import DeliveredEvent, after_commit

import psycopg

from services.webhooks import repository as repo
from services.webhooks.context import Dependencies
from services.webhooks.domain.filters import matches
from services.webhooks.domain.payload import cloud_event
from services.webhooks.metrics import DELIVERIES_CREATED

log = logging.getLogger("pasokh.webhooks")


def create_deliveries(
    tx: psycopg.Connection,
    deps: Dependencies,
    source: str,
    event_id: str,
    event_type: str,
    data: Any,
    headers: dict[str, Any] | None = None,
    endpoints: list[dict[str, Any]] | None = None,
) -> list[str]:
    """The ids of the deliveries created (none for a repeat)."""
    now = deps.clock()
    targets = repo.enabled_endpoints(tx) if endpoints is None else endpoints
    wanted = [e for e in targets if matches(e["event_filter"], source, event_type)]
    if not wanted:
        return []
    body = cloud_event(event_id, source, event_type, data, now, headers)
    created = []
    for endpoint in wanted:
        delivery_id = str(uuid.uuid4())
        values = {
            "delivery_id": delivery_id,
            "endpoint_id": endpoint["endpoint_id"],
            "event_id": event_id,
            "event_type": event_type,
            "source": source,
            "body": body,
            "now": now,
        }
        if repo.insert_delivery(tx, values):
            created.append(delivery_id)
    # Counted once committed: a consumer's batch that fails is rolled back and redone.
    after_commit(tx, functools.partial(DELIVERIES_CREATED.inc, len(created)))
    return created


def receive(tx: psycopg.Connection, deps: Dependencies, source: str, event: DeliveredEvent) -> None:
    created = create_deliveries(
        tx, deps, source, event.event_id, event.type, event.data, dict(event.headers)
    )
    if created:
        log.info(
            "webhook deliveries queued",
            extra={"event_id": event.event_id, "event_type": event.type, "count": len(created)},
        )
