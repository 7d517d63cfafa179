"""An in-process cache of rebuilt tickets, so a command need not load the stream.

Loading a ticket's events is a round trip per command, and it was the largest cost
of an append after the WAL flush itself (docs/benchmarks.md). Each process keeps the
tickets it recently worked on, as ``Ticket`` state at a stream version. Being stale
is safe: a decision carries the version it was made on, and the append's
``(stream_id, version)`` key refuses it if another process (a replica, a tool) has
written since; the command path then evicts the entry and decides again on the
ticket as the database has it (``services/tickets/ticket_repository.py``).

What makes the cache safe to share between the greenthreads of one process:
entries are put only after the transaction that wrote them committed, a version
never replaces a newer one, and a ``Ticket`` is copied in and out (decisions never
change a ticket, but a copy makes that a fact here instead of a promise).
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict

from pasokh_common.settings import env_int

from nameko.extensions import DependencyProvider
from prometheus_client import Counter

from services.tickets.domain import Ticket

DEFAULT_SIZE = 10_000
SIZE_VARIABLE = "TICKETS_AGGREGATE_CACHE_SIZE"

CACHE_LOOKUPS = Counter(
    "pasokh_tickets_aggregate_cache_lookups_total",
    "Commands that looked for their ticket in the in-process cache",
    ["result"],  # hit | miss
)
CACHE_EVICTIONS = Counter(
    "pasokh_tickets_aggregate_cache_evictions_total",
    "Tickets dropped from the in-process cache",
    ["reason"],  # capacity | stale | written_elsewhere | erased
)
CACHE_RETRIES = Counter(
    "pasokh_tickets_aggregate_cache_retries_total",
    "Commands decided on a cached ticket that ran again on the stored one",
    ["reason"],  # conflict (someone else appended) | refused (the decision raised)
)


def cache_size_from_env() -> int:
    """``TICKETS_AGGREGATE_CACHE_SIZE``: tickets kept per process; 0 turns it off."""
    size = env_int(SIZE_VARIABLE, DEFAULT_SIZE)
    if size < 0:
        raise ValueError(f"{SIZE_VARIABLE} must be 0 (off) or more, got {size}")
    return size


class TicketCache:
    """A bounded least-recently-used map of ticket id to ``Ticket`` (whose ``version``
    is the stream version it was rebuilt at)."""

    def __init__(self, max_size: int) -> None:
        if max_size < 0:
            raise ValueError("max_size must be 0 (off) or more")
        self.max_size = max_size
        self._entries: OrderedDict[str, Ticket] = OrderedDict()
        # Real threads (the benchmark, tests) as well as greenthreads use it; nothing
        # inside the lock yields, so under eventlet it never blocks a hub switch.
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_size > 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, ticket_id: str) -> bool:
        return ticket_id in self._entries

    def get(self, ticket_id: str) -> Ticket | None:
        """A private copy of the cached ticket (the most recently used now), or None."""
        with self._lock:
            ticket = self._entries.get(ticket_id)
            if ticket is not None:
                self._entries.move_to_end(ticket_id)
        CACHE_LOOKUPS.labels("hit" if ticket is not None else "miss").inc()
        return copy.copy(ticket) if ticket is not None else None

    def put(self, ticket: Ticket) -> None:
        """Keep a copy of ``ticket`` (committed state only), unless a newer version
        is already here; the least recently used ticket goes when full."""
        if not self.enabled or ticket.id is None:
            return
        kept = copy.copy(ticket)
        dropped = 0
        with self._lock:
            current = self._entries.get(ticket.id)
            if current is not None and current.version >= kept.version:
                self._entries.move_to_end(ticket.id)
                return
            self._entries[ticket.id] = kept
            self._entries.move_to_end(ticket.id)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)
                dropped += 1
        if dropped:
            CACHE_EVICTIONS.labels("capacity").inc(dropped)

    def evict(self, ticket_id: str, reason: str, up_to_version: int | None = None) -> None:
        """Forget a ticket; with ``up_to_version``, only if the cached one is not newer
        (another greenthread may have put the fresh state meanwhile)."""
        with self._lock:
            current = self._entries.get(ticket_id)
            if current is None:
                return
            if up_to_version is not None and current.version > up_to_version:
                return
            del self._entries[ticket_id]
        CACHE_EVICTIONS.labels(reason).inc()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class TicketCacheProvider(DependencyProvider):
    """One cache per service process (container), sized from the environment; every
    worker of the process gets the same one."""

    def setup(self) -> None:
        self.cache = TicketCache(cache_size_from_env())

    def get_dependency(self, worker_ctx) -> TicketCache:
        return self.cache
