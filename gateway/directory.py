"""The list of departments, cached for a short while.

A ticket must name a real department (tickets does not know identity's list), and
every ticket creation asking identity would add an RPC to the hottest route. The list
changes rarely; a name missing from the cached list triggers one fresh look-up before
the request is refused, so a department created a second ago is usable at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class DepartmentCache:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._fetched_at: float | None = None
        self._departments: list[dict[str, Any]] = []

    def listing(self, fetch: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        now = self.clock()
        if self._fetched_at is None or now - self._fetched_at >= self.ttl:
            self._departments = list(fetch())
            self._fetched_at = now
        return self._departments

    def exists(self, department_id: str, fetch: Callable[[], list[dict[str, Any]]]) -> bool:
        if any(d.get("department_id") == department_id for d in self.listing(fetch)):
            return True
        self._fetched_at = None
        return any(d.get("department_id") == department_id for d in self.listing(fetch))
