"""A batch of ticket events (the consumer's batch handler form) ends in exactly the
state one-at-a-time application gives: tickets, clocks, SLA events and held events."""

from __future__ import annotations

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common.db import ConnectionPool

import psycopg
import pytest
from psycopg.rows import dict_row

from services.sla.application import SlaApplication
from services.sla.config import SlaConfig
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
