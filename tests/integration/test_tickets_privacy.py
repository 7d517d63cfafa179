"""Crypto-shredding in the tickets service against real PostgreSQL: personal fields are
sealed in the log, open for every reader, and erased by destroying the customer's
key, without a byte of the log changing (docs/privacy.md)."""

from __future__ import annotations

import base64
import json
import uuid

from pasokh_common.errors import NotFound
from pasokh_common.eventlog.relay_main import event_decoder
from pasokh_common.eventlog.store import EventStore
from pasokh_common.personal_data import ERASED

import pytest

from services.tickets import projections
from services.tickets.application import STORE, TicketCommands
from services.tickets.privacy import erase_customer
from services.tickets.queries import TicketQueries
from services.tickets.similarity import similar_open_tickets
from tests.integration.test_tickets_application import dump_read_models

pytestmark = pytest.mark.integration

AGENT = {"id": "agent-1", "role": "agent", "departments": ["technical", "finance"]}


def texts(tag: str) -> dict[str, str]:
    """Distinct texts per test, so a leak is found by a plain substring search."""
    return {
        "subject": f"قبض گاز {tag} اشتباه است",
        "body": f"شمارهٔ اشتراک من {tag}-۴۴۵ است",
        "reply": f"پاسخ کارشناس {tag}",
        "note": f"یادداشت داخلی {tag}",
        "transfer": f"دلیل انتقال {tag}",
        "close": f"دلیل بستن {tag}",
        "comment": f"نظر مشتری {tag}",
        "file": f"رسید-{tag}.pdf",
    }


def whole_life(commands: TicketCommands, customer: dict, t: dict[str, str]) -> dict:
    """A ticket with every kind of personal field: opening, attachment, reply, note,
    transfer and close reasons, a rating comment."""
    upload = commands.upload_attachment(
        customer,
        {
            "name": t["file"],
            "content_type": "application/pdf",
            "data_base64": base64.b64encode(b"%PDF-1.4 receipt").decode(),
        },
    )
    ticket = commands.open_ticket(
        customer,
        {
            "department": "technical",
            "subject": t["subject"],
            "priority": "normal",
            "body": t["body"],
            "attachment_ids": [upload["attachment_id"]],
        },
    )
    tid = ticket["ticket_id"]
    commands.claim(AGENT, {"ticket_id": tid})
    commands.post_reply(AGENT, {"ticket_id": tid, "body": t["reply"]})
    commands.post_internal_note(AGENT, {"ticket_id": tid, "body": t["note"]})
    commands.transfer(
        AGENT, {"ticket_id": tid, "to_department": "finance", "reason": t["transfer"]}
    )
    commands.close(AGENT, {"ticket_id": tid, "reason": t["close"]})
    commands.rate(customer, {"ticket_id": tid, "score": 4, "comment": t["comment"]})
    return {"ticket_id": tid, "number": ticket["number"], "attachment_id": upload["attachment_id"]}


def raw_rows(pool, ticket_id: str) -> list[dict]:
    """The stored rows exactly as they are, with a digest of each whole row."""
    with pool.connection() as conn:
        return conn.execute(
            "SELECT e.position, e.event_type, e.data::text AS data, md5(e::text) AS digest"
            " FROM tickets.events e WHERE stream_id = %s ORDER BY version",
            (ticket_id,),
        ).fetchall()


@pytest.fixture
def commands(tickets_pool) -> TicketCommands:
    return TicketCommands(tickets_pool)


@pytest.fixture
def queries(tickets_pool) -> TicketQueries:
    return TicketQueries(tickets_pool)


def customer() -> dict:
    return {"id": f"cust-{uuid.uuid4().hex[:8]}", "role": "customer"}


def test_personal_fields_are_sealed_in_the_log_and_plain_for_readers(
    commands, queries, tickets_pool
):
    alice, t = customer(), texts(uuid.uuid4().hex[:6])
    made = whole_life(commands, alice, t)
    rows = raw_rows(tickets_pool, made["ticket_id"])
    stored = "\n".join(r["data"] for r in rows)
    for name, text in t.items():
        assert text not in stored, name
        assert json.dumps(text)[1:-1] not in stored, name  # nor \u-escaped
    assert stored.count('"$enc": "v1"') == 8  # subject, body, name, reply, note, 2 reasons, comment
    assert made["number"] in stored  # ids, numbers and times stay plain

    ticket = queries.get_ticket(AGENT, made["ticket_id"])
    assert ticket["subject"] == t["subject"] and ticket["rating_comment"] == t["comment"]
    assert [m["body"] for m in ticket["messages"]] == [t["body"], t["reply"], t["note"]]
    assert ticket["messages"][0]["attachments"][0]["name"] == t["file"]
    trail = {e["type"]: e["data"] for e in queries.history(AGENT, made["ticket_id"])}
    assert trail["TicketTransferred"]["reason"] == t["transfer"]
    assert trail["TicketClosed"]["reason"] == t["close"]

    with tickets_pool.connection() as conn:
        raw = STORE.raw().load(conn, made["ticket_id"])
        relayed = EventStore("tickets", decoder=event_decoder("tickets")).read_all(conn)
    assert raw[0].data["subject"]["$enc"] == "v1" and raw[0].data["number"] == made["number"]
    opened = next(e for e in relayed if e.stream_id == made["ticket_id"])
    assert opened.data["subject"] == t["subject"] and opened.data["body"] == t["body"]


def test_erasure_destroys_the_key_and_scrubs_copies_without_rewriting_the_log(
    commands, queries, tickets_pool
):
    alice, bob = customer(), customer()
    t, other = texts(uuid.uuid4().hex[:6]), texts(uuid.uuid4().hex[:6])
    made = whole_life(commands, alice, t)
    kept = whole_life(commands, bob, other)
    before = raw_rows(tickets_pool, made["ticket_id"])
    summary_before = queries.get_ticket(AGENT, made["ticket_id"])

    with tickets_pool.transaction() as conn:
        erased = erase_customer(conn, alice["id"])
    assert erased == {"tickets": 1, "messages": 3, "attachments": 1}

    assert raw_rows(tickets_pool, made["ticket_id"]) == before  # not a byte rewritten
    ticket = queries.get_ticket(AGENT, made["ticket_id"])
    assert ticket["subject"] == ERASED and ticket["rating_comment"] == ERASED
    assert [m["body"] for m in ticket["messages"]] == [ERASED] * 3
    assert ticket["messages"][0]["attachments"][0]["name"] == ERASED
    for field in ("number", "status", "department", "rating", "opened_at", "closed_at"):
        assert ticket[field] == summary_before[field], field
    assert [(m["author_id"], m["kind"]) for m in ticket["messages"]] == [
        (m["author_id"], m["kind"]) for m in summary_before["messages"]
    ]
    trail = queries.history(AGENT, made["ticket_id"])
    assert [e["actor_id"] for e in trail][:3] == [alice["id"], alice["id"], AGENT["id"]]
    by_type = {e["type"]: e["data"] for e in trail}
    assert by_type["TicketClosed"]["reason"] == ERASED
    assert by_type["TicketOpened"]["number"] == made["number"]
    with pytest.raises(NotFound):
        queries.download_attachment(AGENT, made["attachment_id"])
    with tickets_pool.connection() as conn:
        # the relay's store (read_all: read_committed waits for every open transaction
        # of the shared server, which other test runs may hold)
        relayed = EventStore("tickets", decoder=event_decoder("tickets")).read_all(conn)
        key = conn.execute(
            "SELECT data_key, destroyed_at FROM tickets.personal_data_keys WHERE subject_id = %s",
            (alice["id"],),
        ).fetchone()
    assert key["data_key"] is None and key["destroyed_at"] is not None
    assert {
        e.data["body"] for e in relayed if e.stream_id == made["ticket_id"] and "body" in e.data
    } == {ERASED}
    similar = similar_open_tickets(
        tickets_pool,
        AGENT,
        {"department": "finance", "subject": t["subject"], "customer_id": alice["id"]},
    )
    assert similar["items"] == []

    # the other customer keeps everything
    theirs = queries.get_ticket(AGENT, kept["ticket_id"])
    assert theirs["subject"] == other["subject"]
    assert queries.download_attachment(AGENT, kept["attachment_id"])["name"] == other["file"]

    # the scrubbed read models are what a rebuild from the log gives now
    scrubbed = dump_read_models(tickets_pool)
    with tickets_pool.connection() as conn:
        projections.rebuild(conn, STORE)
    assert dump_read_models(tickets_pool) == scrubbed

    # erasing again is harmless; later text about the erased customer is not kept
    with tickets_pool.transaction() as conn:
        erase_customer(conn, alice["id"])
    assert raw_rows(tickets_pool, made["ticket_id"]) == before
    commands.reopen(AGENT | {"role": "supervisor"}, {"ticket_id": made["ticket_id"]})
    commands.post_reply(AGENT, {"ticket_id": made["ticket_id"], "body": "پیام تازه"})
    latest = raw_rows(tickets_pool, made["ticket_id"])[-1]
    assert "پیام تازه" not in latest["data"] and ERASED in latest["data"]
    assert queries.get_ticket(AGENT, made["ticket_id"])["messages"][-1]["body"] == ERASED


def test_a_tampered_envelope_is_an_error_not_a_placeholder(commands, tickets_pool, pg_admin_url):
    alice, t = customer(), texts(uuid.uuid4().hex[:6])
    tid = commands.open_ticket(
        alice,
        {"department": "technical", "subject": t["subject"], "priority": "normal", "body": "x" * 5},
    )["ticket_id"]
    with tickets_pool.connection() as conn:
        events = STORE.raw().load(conn, tid)
    opened = events[0]
    subject, body = opened.data["subject"], opened.data["body"]
    swapped = {**opened.data, "subject": body, "body": subject}  # ciphertexts swapped
    from pasokh_common.personal_data import EnvelopeError

    with tickets_pool.connection() as conn, pytest.raises(EnvelopeError):
        STORE.decoder(conn, [opened.__class__(**{**opened.__dict__, "data": swapped})])
