"""The aggregate cache against real PostgreSQL: two TicketCommands with a cache each
play two replicas of the tickets service writing the same tickets."""

from __future__ import annotations

import threading
import uuid

from pasokh_common.errors import Conflict

import pytest
from prometheus_client import REGISTRY

from services.tickets import projections
from services.tickets.aggregate_cache import TicketCache
from services.tickets.application import STORE, TicketCommands, to_domain
from services.tickets.domain import Ticket
from services.tickets.domain import errors as domain_errors

pytestmark = pytest.mark.integration

CUSTOMER = {"id": "cust-1", "role": "customer"}
AGENT = {"id": "agent-1", "role": "agent", "departments": ["technical"]}
AGENT_2 = {"id": "agent-2", "role": "agent", "departments": ["technical"]}


def replica(pool, size: int = 100) -> tuple[TicketCommands, TicketCache]:
    cache = TicketCache(size)
    return TicketCommands(pool, cache=cache), cache


def open_ticket(commands: TicketCommands, subject: str = "اینترنت قطع است") -> str:
    payload = {"department": "technical", "subject": subject, "body": "از دیروز قطع است."}
    return commands.open_ticket(CUSTOMER, payload)["ticket_id"]


def reply(commands: TicketCommands, ticket_id: str, body: str, actor=CUSTOMER) -> dict:
    return commands.post_reply(actor, {"ticket_id": ticket_id, "body": body})


def stored(pool, ticket_id: str) -> Ticket:
    with pool.connection() as conn:
        return Ticket.from_events(to_domain(STORE.load(conn, ticket_id)))


def stored_bodies(pool, ticket_id: str) -> list[str]:
    """The replies' bodies as the log holds them (opened: they are stored sealed)."""
    with pool.connection() as conn:
        events = STORE.load(conn, ticket_id)
    return [e.data["body"] for e in events if e.type == "ReplyPosted"]


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def retries(reason: str) -> float:
    return metric("pasokh_tickets_aggregate_cache_retries_total", reason=reason)


def lookups(result: str) -> float:
    return metric("pasokh_tickets_aggregate_cache_lookups_total", result=result)


def test_a_replica_with_a_stale_ticket_retries_on_the_stored_one_and_loses_nothing(
    tickets_pool,
):
    a, cache_a = replica(tickets_pool)
    b, cache_b = replica(tickets_pool)
    tid = open_ticket(a)
    assert cache_a.get(tid).version == 1  # a new ticket is cached from what it decided

    hits = lookups("hit")
    reply(a, tid, "یک")  # from a's cache
    assert lookups("hit") == hits + 1
    reply(b, tid, "دو")  # b has not seen the ticket: loads it
    assert cache_b.get(tid).version == 3
    conflicts = retries("conflict")
    view = reply(a, tid, "سه")  # a's cache says version 2: stale
    assert retries("conflict") == conflicts + 1
    assert view["version"] == 4
    reply(b, tid, "چهار")  # now b's cache is the stale one
    assert retries("conflict") == conflicts + 2

    assert stored_bodies(tickets_pool, tid) == ["یک", "دو", "سه", "چهار"]
    truth = vars(stored(tickets_pool, tid))
    assert truth["version"] == 5
    assert vars(cache_b.get(tid)) == truth


def test_a_refusal_by_a_stale_ticket_is_retried_and_a_real_one_surfaces(tickets_pool):
    a, cache_a = replica(tickets_pool)
    b, _ = replica(tickets_pool)
    tid = open_ticket(a)
    a.close(CUSTOMER, {"ticket_id": tid})
    assert cache_a.get(tid).is_closed
    b.reopen(CUSTOMER, {"ticket_id": tid})

    # a's cache says closed, so an agent could not claim; the stored ticket allows it.
    refused = retries("refused")
    assert a.claim(AGENT, {"ticket_id": tid})["status"] == "under_review"
    assert retries("refused") == refused + 1

    # b's cache says unclaimed; the stored ticket is claimed by agent-1: the
    # refusal made on the stored ticket is the answer, not a spurious conflict.
    conflicts = retries("conflict")
    with pytest.raises(domain_errors.ClaimedByAnotherAgent):
        b.claim(AGENT_2, {"ticket_id": tid})
    assert retries("conflict") == conflicts + 1
    assert stored(tickets_pool, tid).assignee_id == "agent-1"


def test_expected_version_is_checked_against_the_stored_ticket(tickets_pool):
    a, _ = replica(tickets_pool)
    b, _ = replica(tickets_pool)
    tid = open_ticket(a)  # a caches version 1
    reply(b, tid, "دوم")  # the ticket is at version 2
    # a's cached version (1) differs from the expected 2, but the stored one agrees.
    assert a.claim(AGENT, {"ticket_id": tid, "expected_version": 2})["version"] == 3
    # A really stale expectation is still a conflict, and appends nothing.
    with pytest.raises(Conflict):
        b.release(AGENT, {"ticket_id": tid, "expected_version": 2})
    assert stored(tickets_pool, tid).version == 3


def test_a_rolled_back_transaction_leaves_the_cache_as_committed(tickets_pool, monkeypatch):
    a, cache_a = replica(tickets_pool)
    tid = open_ticket(a)
    reply(a, tid, "اول")
    before = vars(cache_a.get(tid))
    assert before["version"] == 2

    real_write = projections.Projection.write

    def failing_write(self, conn, *args, **kwargs):
        real_write(self, conn, *args, **kwargs)  # the event rows and projections are written ...
        raise RuntimeError("read model refused the row")  # ... then rolled back

    monkeypatch.setattr(projections.Projection, "write", failing_write)
    with pytest.raises(RuntimeError):
        a.claim(AGENT, {"ticket_id": tid})  # staff: a transaction
    monkeypatch.setattr(projections.Projection, "write", real_write)

    assert vars(cache_a.get(tid)) == before  # not the uncommitted claim
    assert stored(tickets_pool, tid).version == 2
    conflicts = retries("conflict")
    claimed = a.claim(AGENT, {"ticket_id": tid})
    assert claimed["version"] == 3 and claimed["assignee_id"] == "agent-1"
    assert retries("conflict") == conflicts  # the cache was right: no retry needed
    assert vars(cache_a.get(tid)) == vars(stored(tickets_pool, tid))


def test_the_cache_keeps_at_most_its_size_and_evicted_tickets_still_work(tickets_pool):
    a, cache_a = replica(tickets_pool, size=2)
    first, second, third = (open_ticket(a, f"موضوع {n}") for n in range(3))
    assert len(cache_a) == 2
    assert first not in cache_a and second in cache_a and third in cache_a
    misses = lookups("miss")
    assert reply(a, first, "هنوز هست؟")["version"] == 2  # loaded from the log
    assert lookups("miss") == misses + 1
    assert len(cache_a) == 2 and first in cache_a and second not in cache_a


def test_size_zero_loads_every_ticket_and_caches_nothing(tickets_pool):
    a, cache_a = replica(tickets_pool, size=0)
    b, _ = replica(tickets_pool, size=0)
    seen = lookups("hit") + lookups("miss")
    tid = open_ticket(a)
    reply(a, tid, "یک")
    reply(b, tid, "دو")
    reply(a, tid, "سه")
    assert len(cache_a) == 0
    assert lookups("hit") + lookups("miss") == seen
    assert stored_bodies(tickets_pool, tid) == ["یک", "دو", "سه"]


def test_replicas_and_workers_replying_at_once_lose_no_update(tickets_pool):
    """Two threads share replica a's cache (as greenthreads of one process do), a
    third writes through replica b."""
    a, cache_a = replica(tickets_pool)
    b, cache_b = replica(tickets_pool)
    tid = open_ticket(a)
    succeeded: list[str] = []
    unexpected: list[BaseException] = []
    barrier = threading.Barrier(3)

    def replies(commands: TicketCommands, name: str) -> None:
        barrier.wait()
        for n in range(6):
            body = f"{name}-{n}"
            try:
                reply(commands, tid, body)
            except Conflict:
                continue  # lost the race three times: refused, and nothing written
            except Exception as exc:  # a thread must not die unseen
                unexpected.append(exc)
                continue
            succeeded.append(body)

    writers = ((a, "a1"), (a, "a2"), (b, "b"))
    threads = [threading.Thread(target=replies, args=writer) for writer in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    assert succeeded
    assert sorted(stored_bodies(tickets_pool, tid)) == sorted(succeeded)
    truth = stored(tickets_pool, tid)
    assert truth.version == 1 + len(succeeded)
    for cache in (cache_a, cache_b):
        cached = cache.get(tid)  # None when its last try lost the race and evicted it
        assert cached is None or cached.version <= truth.version
    # Whatever each replica cached, its next command lands on the stored head.
    assert reply(a, tid, "آخر a")["version"] == truth.version + 1
    assert reply(b, tid, "آخر b")["version"] == truth.version + 2


def test_a_cached_ticket_of_an_erased_customer_is_dropped_not_reused(tickets_pool):
    """The cache holds plaintext; once the customer's key is destroyed (in this or
    another replica) the next command reloads the ticket, whose texts read as erased."""
    from services.tickets.privacy import ERASED, KEYS, erase_customer

    commands, cache = replica(tickets_pool)
    customer = {"id": f"cust-erased-{uuid.uuid4()}", "role": "customer"}
    payload = {"department": "technical", "subject": "موضوع شخصی", "body": "متن"}
    ticket_id = commands.open_ticket(customer, payload)["ticket_id"]
    commands.claim(AGENT, {"ticket_id": ticket_id})
    assert cache.get(ticket_id).subject == "موضوع شخصی"
    before = metric("pasokh_tickets_aggregate_cache_evictions_total", reason="erased")

    with tickets_pool.transaction() as conn:
        erase_customer(conn, customer["id"])
    KEYS.forget_cache()  # as another replica would see it once its key cache expires
    reply(commands, ticket_id, "پاسخ کارشناس", actor=AGENT)

    assert metric("pasokh_tickets_aggregate_cache_evictions_total", reason="erased") == before + 1
    assert cache.get(ticket_id).subject == ERASED
