"""``pasokh tickets export-audit`` against real PostgreSQL: by id or number, JSON and
HTML, and a row changed after sealing shows up as a mismatch in the export."""

from __future__ import annotations

import json
import subprocess
import sys

from pasokh_common.eventlog.sealer import Sealer

import psycopg
import pytest

from services.tickets.application import TicketCommands
from tests.conftest import REPO_ROOT
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration

CUSTOMER = {"id": "cust-1", "role": "customer"}
AGENT = {"id": "agent-1", "role": "agent", "departments": ["technical"]}


def export(db: dict, ticket: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pasokh_common.cli", "tickets", "export-audit", ticket, *args],
        env={"TICKETS_DATABASE_URL": db["url"], "PATH": "/usr/bin:/bin"},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def ticket(tickets_pool, tickets_db) -> dict:
    commands = TicketCommands(tickets_pool)
    opened = commands.open_ticket(
        CUSTOMER,
        {"department": "technical", "subject": "قطعی", "priority": "normal", "body": "سلام"},
    )
    commands.claim(AGENT, {"ticket_id": opened["ticket_id"]})
    commands.post_internal_note(AGENT, {"ticket_id": opened["ticket_id"], "body": "یادداشت"})
    sealer = Sealer(tickets_db["url"], "tickets")
    with sealer.connect() as conn:
        assert wait_until(lambda: sealer.seal_available(conn) >= 0 and unsealed(tickets_db) == 0)
    return opened


def unsealed(db: dict) -> int:
    with psycopg.connect(db["admin_url"]) as conn:
        return conn.execute(
            "SELECT count(*) FROM tickets.events WHERE chain_seq IS NULL"
        ).fetchone()[0]


def test_export_by_number_as_json_and_by_id_as_html(tickets_db, ticket):
    result = export(tickets_db, f"{ticket['number'][:4]}-{ticket['number'][4:]}")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [e["type"] for e in document["events"]] == [
        "TicketOpened",
        "TicketClaimed",
        "InternalNotePosted",
    ]
    assert document["chain"] == {**document["chain"], "intact": True, "sealed": 3, "unsealed": 0}
    assert document["generated_by"] == {"actor_id": "pasokh-cli", "role": "system"}
    page = export(tickets_db, ticket["ticket_id"], "--format", "html")
    assert page.returncode == 0 and page.stdout.count('<tr class="ok">') == 3
    missing = export(tickets_db, "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_a_row_changed_after_sealing_is_a_mismatch_in_the_export(tickets_db, ticket):
    with psycopg.connect(tickets_db["admin_url"], autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE tickets.events SET metadata = jsonb_set(metadata, '{actor_id}', '\"x\"')"
            " WHERE stream_id = %s AND version = 2",
            (ticket["ticket_id"],),
        )
    document = json.loads(export(tickets_db, ticket["ticket_id"]).stdout)
    assert [e["chain_status"] for e in document["events"]] == ["ok", "mismatch", "ok"]
    assert document["chain"]["intact"] is False
    assert document["chain"]["mismatched_positions"] == [document["events"][1]["position"]]
    page = export(tickets_db, ticket["ticket_id"], "--format", "html").stdout
    assert 'class="mismatch"' in page and "The chain is BROKEN" in page
