"""The SLA application: every flow wired to one set of dependencies.

The nameko service builds one per process; tests build one directly on their own
database with a clock they move, so the rules can be exercised without waiting.
"""

from __future__ import annotations

from pasokh_common.db import ConnectionPool

from services.sla.admin import RulesAdmin
from services.sla.clock import Clock, SystemClock
from services.sla.config import SlaConfig
from services.sla.deps import Dependencies
from services.sla.holiday_file import sync_holiday_file
from services.sla.intake import TicketIntake
from services.sla.metrics import AtRiskReport
from services.sla.queries import SlaQueries
from services.sla.rules import RulesCache
from services.sla.scanner import DueScanner


class SlaApplication:
    def __init__(
        self,
        pool: ConnectionPool,
        config: SlaConfig,
        clock: Clock | None = None,
        rules: RulesCache | None = None,
        report: AtRiskReport | None = None,
    ) -> None:
        """``rules`` and ``report`` outlive one call in the service (a process-wide
        cache and gauge state); tests may leave them out."""
        self.deps = Dependencies(
            pool=pool,
            config=config,
            clock=clock or SystemClock(config.clock_offset_seconds),
            rules=rules or RulesCache(config.warning_share),
        )
        self.intake = TicketIntake(self.deps)
        self.scanner = DueScanner(self.deps, report)
        self.admin = RulesAdmin(self.deps)
        self.queries = SlaQueries(self.deps)

    def sync_holiday_file(self) -> bool:
        return sync_holiday_file(self.deps)
