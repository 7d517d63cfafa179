"""Where a command gets its ticket: the in-process cache, else the event log.

The command path (``TicketCommands._run``) runs each attempt through
``TicketRepository.run``, which hands the attempt a ``CommandSession``:

* ``session.load`` answers from the cache when it holds the ticket (no round trip),
  else loads and rebuilds the stream; a new ticket loads nothing;
* ``session.appended`` notes what the transaction appended;
* once the attempt returned (its transaction committed), the session puts the new
  state in the cache. A transaction that rolled back (a read model refused a row,
  a twin won the idempotency key) never reaches that point, so the cache holds
  committed state only.

A decision made on a stale cached ticket cannot commit: the append's
``(stream_id, version)`` key refuses it with ``ConcurrencyConflict``. And a stale
ticket could refuse a command that the stored one allows (it was reopened
elsewhere). So when an attempt that used the cache fails either way, the ticket is
evicted and the attempt runs once more on the stored ticket; what that attempt
raises (a real conflict, a real refusal) is the command's answer, as without a
cache.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import TypeVar

from pasokh_common.errors import PasokhError
from pasokh_common.eventlog import ConcurrencyConflict, EventStore, RecordedEvent

import psycopg

from services.tickets.aggregate_cache import CACHE_RETRIES, TicketCache
from services.tickets.domain import DomainEvent, Ticket

T = TypeVar("T")
Decode = Callable[[Sequence[RecordedEvent]], list]


class CommandSession:
    """One attempt of one command on one ticket."""

    def __init__(self, repository: TicketRepository, ticket_id: str, use_cache: bool) -> None:
        self.repository = repository
        self.ticket_id = ticket_id
        self.use_cache = use_cache
        self.used_cache = False
        self.loaded: Ticket | None = None
        self.new_stream = False
        self.appended_here: list[DomainEvent] = []
        self.last_version: int | None = None
        self.written_elsewhere: set[str] = set()

    def load(self, conn: psycopg.Connection, new_stream: bool) -> tuple[Ticket | None, int]:
        """The ticket and the stream version to append after; ``(None, 0)`` for a new
        ticket (the application made its id, so there is nothing to read) or for a
        stream with no events."""
        self.new_stream = new_stream
        if new_stream:
            return None, 0
        cache = self.repository.cache
        if self.use_cache and cache is not None:
            cached = cache.get(self.ticket_id)
            if cached is not None and not self.repository.still_usable(conn, cached):
                # Its customer was erased: the cached texts must not outlive the key
                # (docs/privacy.md); the stored events read as erased.
                cache.evict(self.ticket_id, "erased")
                cached = None
            if cached is not None:
                self.used_cache = True
                self.loaded = cached
                return cached, cached.version
        history = self.repository.store.load(conn, self.ticket_id, with_metadata=False)
        if not history:
            return None, 0
        self.loaded = Ticket.from_events(self.repository.decode(history))
        return self.loaded, self.loaded.version

    def appended(
        self, stream_id: str, events: Sequence[DomainEvent], recorded: Sequence[RecordedEvent]
    ) -> None:
        """What one append of this transaction wrote: the decided events (applied to
        the cached ticket after commit) and the versions they got."""
        if stream_id != self.ticket_id:
            self.written_elsewhere.add(stream_id)
            return
        self.appended_here.extend(events)
        if recorded:
            self.last_version = recorded[-1].version

    def committed(self) -> None:
        """The attempt's transaction committed: keep the ticket as it now is."""
        cache = self.repository.cache
        if cache is None or not cache.enabled:
            return
        for stream_id in self.written_elsewhere:
            cache.evict(stream_id, "written_elsewhere")
        if self.loaded is None and not (self.new_stream and self.appended_here):
            return
        ticket = copy.copy(self.loaded) if self.loaded is not None else Ticket()
        for event in self.appended_here:
            ticket.apply(event)
        if self.last_version is not None and ticket.version != self.last_version:
            # Cannot happen while every stream event is applied to the ticket; if it
            # ever does, a reload is the truth.
            cache.evict(self.ticket_id, "stale")
            return
        cache.put(ticket)


class TicketRepository:
    def __init__(
        self,
        store: EventStore,
        cache: TicketCache | None,
        decode: Decode,
        still_usable: Callable[[psycopg.Connection, Ticket], bool] = lambda conn, ticket: True,
    ) -> None:
        self.store = store
        self.cache = cache if cache is not None and cache.enabled else None
        self.decode = decode
        self.still_usable = still_usable

    def run(self, ticket_id: str, attempt: Callable[[CommandSession], T]) -> T:
        """Run ``attempt`` (one transaction); again on the stored ticket if it decided
        on a cached one and then conflicted or was refused."""
        session = CommandSession(self, ticket_id, use_cache=self.cache is not None)
        try:
            result = attempt(session)
        except (ConcurrencyConflict, PasokhError) as exc:
            if not session.used_cache or self.cache is None:
                raise
            assert session.loaded is not None
            reason = "conflict" if isinstance(exc, ConcurrencyConflict) else "refused"
            CACHE_RETRIES.labels(reason).inc()
            self.cache.evict(ticket_id, "stale", up_to_version=session.loaded.version)
            session = CommandSession(self, ticket_id, use_cache=False)
            result = attempt(session)
        session.committed()
        return result
