"""A batch of ticket events (the consumer's batch handler form) ends in exactly the
state one-at-a-time application gives: tickets, clocks, SLA events and held events."""

from __future__ import annotations

import uuid

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common.db import ConnectionPool

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services.sla.application import SlaApplication
from services.sla.config import SlaConfig
from services.sla.domain.targets import Clock, ClockStatus, Target
from services.sla.domain.ticket import Phase, TicketSla
from tests.integration.sla.conftest import fresh_sla_db
from tests.integration.sla.support import MovableClock, TicketStream, delivered, tehran

pytestmark = pytest.mark.integration

OPENED = tehran(2026, 3, 18, 16)


def _snapshot(admin_url: str) -> dict:
    with psycopg.connect(admin_url, row_factory=dict_row) as conn:
        return {
            "tickets": conn.execute(
                "SELECT ticket_id, department, priority, needs_follow_up, calendar_id,"
                " assignee_id, phase, responded, applied_version, sla_version, opened_at,"
                " number, next_due_at FROM sla.tickets ORDER BY ticket_id"
            ).fetchall(),
            "clocks": conn.execute(
                "SELECT * FROM sla.clocks ORDER BY ticket_id, target, cycle"
            ).fetchall(),
            "events": conn.execute(
                "SELECT stream_id, version, event_type, schema_version, data,"
                " metadata->>'causation_id' AS causation, metadata->>'correlation_id' AS corr"
                " FROM sla.events WHERE stream_id LIKE 'ticket-%' ORDER BY stream_id, version"
            ).fetchall(),
            "inbox": conn.execute(
                "SELECT ticket_id, version, event_id, event_type, data FROM sla.inbox"
                " ORDER BY ticket_id, version"
            ).fetchall(),
        }


def test_a_batch_of_several_tickets_ends_as_one_at_a_time_application(
    sla_app, pg_admin_url: str, sla_template: str, app_role: str, tmp_path
):
    a, b, c, d = (TicketStream(department=dept) for dept in ("technical",) * 3 + ("billing",))
    a_opened, a_reply = a.opened(OPENED), a.reply(OPENED + 1800)
    b_opened, b_note, b_reply = b.opened(OPENED + 60), b.note(OPENED + 120), b.reply(OPENED + 600)
    c_opened, c_note, c_reply = c.opened(OPENED), c.note(OPENED + 30), c.reply(OPENED + 90)
    d.opened(OPENED), d.note(OPENED + 1)  # versions 1 and 2 never arrive here
    d_reply = d.reply(OPENED + 2)
    before = [(a_opened, "a1"), (c_reply, "c3")]  # a applied, c's version 3 held
    batch = [
        (b_note, "b2"),  # out of order: held until b's opening, later in the batch
        (a_opened, "a1"),  # already applied: stale
        (c_opened, "c1"),
        (b_opened, "b1"),  # applies 1, then the held 2
        (d_reply, "d3"),  # a gap that stays: held at the end
        (a_reply, "a2"),
        (c_note, "c2"),  # applies 2, then the stored held 3
        (b_reply, "b3"),
        (b_note, "b2-again"),  # a second copy of an applied version: stale
    ]

    for event, event_id in before + batch:  # one at a time, in sla_app's database
        sla_app.receive(event, event_id)

    overrides = tmp_path / "holiday-overrides-2.json"
    overrides.write_text('{"version": 1, "years": {}}', encoding="utf-8")
    with fresh_sla_db(pg_admin_url, sla_template, app_role) as other:
        pool = ConnectionPool(other["url"], max_size=2)
        try:
            app = SlaApplication(
                pool,
                SlaConfig(holiday_overrides_path=overrides, scan_batch_size=50),
                MovableClock(tehran(2026, 3, 18, 18)),
            )
            for event, event_id in before:
                with pool.transaction() as tx:
                    app.intake.receive(tx, delivered(event, event_id))
            with pool.transaction() as tx:
                results = app.intake.receive_batch(
                    tx, [delivered(event, event_id) for event, event_id in batch], locked=False
                )
            batched = _snapshot(other["admin_url"])
        finally:
            pool.close()

    assert results == [
        "held",
        "stale",
        "applied",
        "applied",
        "held",
        "applied",
        "applied",
        "applied",
        "stale",
    ]
    alone = _snapshot(sla_app.db["admin_url"])
    assert batched == alone
    assert [(r["ticket_id"], r["version"]) for r in batched["inbox"]] == [(d.ticket_id, 3)]
    applied = {r["ticket_id"]: r["applied_version"] for r in batched["tickets"]}
    assert applied == {a.ticket_id: 2, b.ticket_id: 3, c.ticket_id: 3}
    assert len(batched["events"]) >= 6


def _written_ticket(n: int, version: int, clocks: tuple[Clock, ...]) -> TicketSla:
    return TicketSla(
        ticket_id=f"t-{n:03d}",
        department="technical" if n % 2 else "billing",
        priority="high",
        needs_follow_up=bool(n % 3),
        calendar_id="default",
        phase=Phase.AWAITING_US if n % 2 else Phase.AWAITING_CUSTOMER,
        responded=bool(n % 2),
        version=version,
        opened_at=1_774_000_000 + n,
        assignee_id=None if n % 2 else f"agent-{n}",
        number=f"P-{n}" if n % 4 else None,
        clocks=clocks,
    )


def _clocks_of(n: int, extra_cycle: bool) -> tuple[Clock, ...]:
    """Every kind of value a clock column takes: NULLs, and bigints past int4."""
    started = 1_774_000_000 + n
    clocks = [
        Clock(
            target=Target.FIRST_RESPONSE,
            cycle=1,
            target_seconds=3600,
            started_at=started,
            used=60 * n,
            running_since=started if n % 2 else None,
            deadline=started + 3600 if n % 2 else None,
            warn_at=started + 2880 if n % 2 else None,
            warned_at=None,
            breached_at=3_000_000_000 + n if n % 5 == 0 else None,
            ended_at=None if n % 2 else started + 10,
            status=ClockStatus.RUNNING if n % 2 else ClockStatus.MET,
        )
    ]
    if extra_cycle:
        clocks.append(Clock(Target.NEXT_REPLY, 2, 7200, started + 5, status=ClockStatus.PAUSED))
    return tuple(clocks)


@pytest.mark.parametrize("size", [1, 2, 50])
def test_the_batch_write_stores_exactly_the_rows_it_is_given(
    size: int, pg_admin_url: str, sla_template: str, app_role: str
):
    """``save_ticket_with_events`` (one statement text for every batch size): new
    tickets with their clocks, events (stored in the batch's order), holds and taken
    holds; then the same tickets again, only their changed clocks written."""
    from services.sla import repository as repo

    meta = Jsonb({"actor_id": "sla", "correlation_id": "c-1"})
    first = [_written_ticket(n, 1, _clocks_of(n, extra_cycle=False)) for n in range(size)]
    events = [
        (
            f"ticket-t-{n:03d}",
            v,
            str(uuid.uuid4()),
            "SlaTargetsSet",
            1,
            Jsonb({"n": n, "v": v}),
            meta,
        )
        for n in range(size)
        for v in (1, 2)
    ]
    holds = [
        (f"t-{n:03d}", 9, f"e-{n}", "ReplyPosted", {"body": f'"quoted" {n}'}) for n in range(size)
    ]
    with fresh_sla_db(pg_admin_url, sla_template, app_role) as db:
        with psycopg.connect(db["url"], autocommit=True, row_factory=dict_row) as conn:
            with conn.transaction():
                repo.save_ticket_with_events(
                    conn, [repo.TicketWrite(t, 2, None) for t in first], events, holds=holds
                )
            stored = repo.load_for_events(conn, [t.ticket_id for t in first])
            assert {k: v.state for k, v in stored.stored.items()} == {t.ticket_id: t for t in first}
            assert {k: v.sla_version for k, v in stored.stored.items()} == {
                t.ticket_id: 2 for t in first
            }
            assert {(k, v) for k, held in stored.held.items() for v in held} == {
                (h[0], 9) for h in holds
            }
            assert [row["data"] for held in stored.held.values() for row in held.values()] == [
                h[4] for h in holds
            ]
            rows = conn.execute(
                "SELECT stream_id, version, event_id::text, event_type, schema_version, data,"
                " metadata FROM sla.events WHERE stream_id LIKE 'ticket-%' ORDER BY position"
            ).fetchall()
            assert [tuple(r.values()) for r in rows] == [
                (*e[:5], e[5].obj, e[6].obj) for e in events
            ]

            second = [
                _written_ticket(n, 2, _clocks_of(n, extra_cycle=n % 2 == 0)) for n in range(size)
            ]
            with conn.transaction():
                repo.save_ticket_with_events(
                    conn,
                    [
                        repo.TicketWrite(t, 3, before)
                        for t, before in zip(second, first, strict=True)
                    ],
                    [],
                    taken=[(h[0], 9) for h in holds],
                )
            again = repo.load_for_events(conn, [t.ticket_id for t in second])
            assert {k: v.state for k, v in again.stored.items()} == {t.ticket_id: t for t in second}
            assert again.held == {}
            assert repo.held_count(conn) == 0


def test_batches_of_every_size_share_one_prepared_write_and_a_generic_read(
    pg_admin_url: str, sla_template: str, app_role: str
):
    """The read and the write of a batch have one text whatever its size, so on one
    connection psycopg prepares each once (after its 5th run) and every later batch
    of any size uses it; the read, after the locks, always on its generic plan
    (``lock_rules_and_tickets``), never planned again."""
    from services.sla import repository as repo

    runs = 0
    with fresh_sla_db(pg_admin_url, sla_template, app_role) as db:
        with psycopg.connect(db["url"], autocommit=True, row_factory=dict_row) as conn:
            for _ in range(4):
                for size in (1, 2, 50):
                    tickets = [
                        _written_ticket(100 * runs + n, 1, _clocks_of(n, extra_cycle=False))
                        for n in range(size)
                    ]
                    ids = [t.ticket_id for t in tickets]
                    events = [
                        (f"ticket-{t.ticket_id}", 1, str(uuid.uuid4()), "SlaTargetsSet", 1,
                         Jsonb({}), Jsonb({}))
                        for t in tickets
                    ]  # fmt: skip
                    with conn.transaction():
                        repo.lock_rules_and_tickets(conn, ids)
                        assert repo.load_for_events(conn, ids).stored == {}
                        repo.save_ticket_with_events(
                            conn, [repo.TicketWrite(t, 1, None) for t in tickets], events
                        )
                    runs += 1
            prepared = conn.execute(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            ).fetchall()
    writes = [p for p in prepared if "INSERT INTO sla.events" in p["statement"]]
    reads = [p for p in prepared if "AS rules_version" in p["statement"]]
    assert len(writes) == len(reads) == 1
    assert writes[0]["generic_plans"] + writes[0]["custom_plans"] == runs - 5
    assert (reads[0]["generic_plans"], reads[0]["custom_plans"]) == (runs - 5, 0)
