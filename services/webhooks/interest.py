"""Which events some enabled endpoint wants, known for a few seconds at a time.

RabbitMQ delivers webhooks only the routing keys the enabled filters need
(``bindings``), but a filter can be finer than its keys (``Ticket*`` is bound as
``#``: every event of the source). Asking the database for each of those events (a
transaction, the processed-event record, the endpoints) is what this avoids: with the
filters held here for ``WEBHOOKS_INTEREST_SECONDS``, an event no endpoint wants is
acknowledged without touching the database. The price: another replica's endpoint
change is seen up to that many seconds late, which is why the admin calls that add
interest wait that long before they return (this replica's own refresh it at once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from services.webhooks.domain.filters import matches

LoadFilters = Callable[[], list[Any]]


class Interest:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._filters: list[Any] | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def wants(self, load_filters: LoadFilters, source: str, event_type: str) -> bool:
        """``load_filters`` (the enabled endpoints' filters) is called only when the
        ones held are older than the time to live."""
        filters = self._current(load_filters)
        return any(matches(f, source, event_type) for f in filters)

    def forget(self) -> None:
        """An endpoint changed here: read the filters again on the next event."""
        with self._lock:
            self._filters = None

    def _current(self, load_filters: LoadFilters) -> list[Any]:
        now = self.clock()
        with self._lock:
            if self._filters is not None and now < self._expires:
                return self._filters
        filters = load_filters()
        with self._lock:
            self._filters = filters
            self._expires = now + self.ttl_seconds
        return filters
