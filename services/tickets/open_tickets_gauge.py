"""``pasokh_tickets_open``: open tickets by department, status and priority, counted from
the read model when Prometheus scrapes (so it is right after restarts and rebuilds,
which a counter kept in memory would not be)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from pasokh_common.db import ConnectionPool

from nameko.extensions import DependencyProvider
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)


class OpenTicketsCollector:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "pasokh_tickets_open",
            "Tickets not closed, by department, status and priority",
            labels=["department", "status", "priority"],
        )
        try:
            with self.pool.connection() as conn:
                rows = conn.execute(
                    "SELECT department, status, priority, count(*) AS n"
                    " FROM tickets.ticket_summary WHERE status <> 'closed'"
                    " GROUP BY department, status, priority"
                ).fetchall()
        except Exception:  # a scrape must not fail because the database is away
            log.warning("could not count open tickets", exc_info=True)
            return
        for row in rows:
            family.add_metric([row["department"], row["status"], row["priority"]], row["n"])
        yield family


class OpenTicketsGauge(DependencyProvider):
    """Registers the collector for the service's lifetime, on its own small pool so a
    scrape never waits behind the service's workers."""

    def setup(self) -> None:
        self.pool = ConnectionPool(self.container.config["DATABASE_URL"], max_size=1)
        self.collector = OpenTicketsCollector(self.pool)
        REGISTRY.register(self.collector)

    def stop(self) -> None:
        REGISTRY.unregister(self.collector)
        self.pool.close()

    def get_dependency(self, worker_ctx) -> None:
        return None
