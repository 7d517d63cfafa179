"""What every part of the SLA application shares: the pool, settings, clock and the
cached rules. Built once per process by the service (or directly by tests, with a
clock they move)."""

from __future__ import annotations

from dataclasses import dataclass

from pasokh_common.db import ConnectionPool

from services.sla.clock import Clock
from services.sla.config import SlaConfig
from services.sla.rules import RulesCache


@dataclass
class Dependencies:
    pool: ConnectionPool
    config: SlaConfig
    clock: Clock
    rules: RulesCache
