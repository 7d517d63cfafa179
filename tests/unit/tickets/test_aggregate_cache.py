"""The in-process ticket cache: bounded LRU, copies in and out, versions never go back."""

from __future__ import annotations

import pytest

from services.tickets.aggregate_cache import (
    CACHE_EVICTIONS,
    TicketCache,
    cache_size_from_env,
)
from services.tickets.domain import Ticket
from services.tickets.ticket_repository import CommandSession, TicketRepository
from tests.unit.tickets.support import AGENT, NOW, claimed, open_events, opened


def ticket(ticket_id: str = "t-1", claims: int = 0) -> Ticket:
    """A real ticket at version 1 (opened) or 2 (claimed by AGENT)."""
    return claimed(ticket_id=ticket_id) if claims else opened(ticket_id=ticket_id)


def test_a_ticket_not_cached_is_none():
    assert TicketCache(10).get("nope") is None


def test_get_returns_a_copy_that_cannot_change_the_cache():
    cache = TicketCache(10)
    original = ticket()
    cache.put(original)
    first = cache.get("t-1")
    assert first is not None and first is not original
    assert vars(first) == vars(original)
    first.status = None  # a careless caller
    first.version = 99
    again = cache.get("t-1")
    assert again is not None and vars(again) == vars(original)


def test_put_keeps_a_copy_so_the_callers_object_may_change_later():
    cache = TicketCache(10)
    mine = ticket()
    cache.put(mine)
    mine.version = 42
    cached = cache.get("t-1")
    assert cached is not None and cached.version == 1


def test_the_least_recently_used_ticket_goes_when_full():
    cache = TicketCache(2)
    before = CACHE_EVICTIONS.labels("capacity")._value.get()
    cache.put(ticket("a"))
    cache.put(ticket("b"))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put(ticket("c"))
    assert len(cache) == 2
    assert "b" not in cache and "a" in cache and "c" in cache
    assert CACHE_EVICTIONS.labels("capacity")._value.get() == before + 1


def test_an_older_version_never_replaces_a_newer_one():
    cache = TicketCache(10)
    cache.put(ticket(claims=1))
    cache.put(ticket())
    cached = cache.get("t-1")
    assert cached is not None and cached.version == 2 and cached.assignee_id == AGENT.id


def test_a_newer_version_replaces_an_older_one():
    cache = TicketCache(10)
    cache.put(ticket())
    cache.put(ticket(claims=1))
    cached = cache.get("t-1")
    assert cached is not None and cached.version == 2


def test_evict_up_to_a_version_spares_a_newer_entry():
    cache = TicketCache(10)
    cache.put(ticket(claims=1))
    cache.evict("t-1", "stale", up_to_version=1)
    assert "t-1" in cache
    cache.evict("t-1", "stale", up_to_version=2)
    assert "t-1" not in cache
    cache.evict("t-1", "stale")  # absent: nothing to do


def test_size_zero_keeps_nothing():
    cache = TicketCache(0)
    cache.put(ticket())
    assert not cache.enabled and len(cache) == 0 and cache.get("t-1") is None


def test_a_ticket_that_does_not_exist_is_not_cached():
    cache = TicketCache(10)
    cache.put(Ticket())
    assert len(cache) == 0


def test_negative_size_is_refused():
    with pytest.raises(ValueError):
        TicketCache(-1)


def test_size_from_the_environment(monkeypatch):
    monkeypatch.delenv("TICKETS_AGGREGATE_CACHE_SIZE", raising=False)
    assert cache_size_from_env() == 10_000
    monkeypatch.setenv("TICKETS_AGGREGATE_CACHE_SIZE", "0")
    assert cache_size_from_env() == 0
    monkeypatch.setenv("TICKETS_AGGREGATE_CACHE_SIZE", "-5")
    with pytest.raises(ValueError):
        cache_size_from_env()
    monkeypatch.setenv("TICKETS_AGGREGATE_CACHE_SIZE", "many")
    with pytest.raises(ValueError):
        cache_size_from_env()


# -- what a command's session leaves in the cache once its transaction committed ------


def session(cache: TicketCache, ticket_id: str = "t-1") -> CommandSession:
    # No store and no decoder: these sessions never load (new tickets, or cached ones).
    return CommandSession(TicketRepository(None, cache, decode=list), ticket_id, use_cache=True)


def test_a_new_ticket_is_cached_as_its_decided_events_make_it():
    cache = TicketCache(10)
    opening = session(cache)
    assert opening.load(None, new_stream=True) == (None, 0)
    events = open_events()
    opening.appended("t-1", events, [])
    opening.committed()
    cached = cache.get("t-1")
    assert cached is not None and vars(cached) == vars(Ticket.from_events(events))


def test_a_cached_ticket_moves_on_by_what_was_appended_and_the_loaded_copy_is_kept_intact():
    cache = TicketCache(10)
    cache.put(opened())
    claiming = session(cache)
    ticket, version = claiming.load(None, new_stream=False)
    assert claiming.used_cache and version == 1
    before = vars(ticket).copy()
    claiming.appended("t-1", ticket.claim(AGENT, NOW), [])
    claiming.committed()
    assert vars(ticket) == before
    cached = cache.get("t-1")
    assert cached is not None and cached.version == 2 and cached.assignee_id == AGENT.id


def test_a_stream_written_in_passing_is_evicted():
    cache = TicketCache(10)
    cache.put(opened(ticket_id="other"))
    cache.put(opened())
    writing = session(cache)
    writing.load(None, new_stream=False)
    writing.appended("other", [], [])
    writing.committed()
    assert "other" not in cache and "t-1" in cache
