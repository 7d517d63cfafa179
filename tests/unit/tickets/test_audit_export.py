"""The audit export document and page (pure): times, descriptions, escaping."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from pasokh_common.eventlog import RecordedEvent

from services.tickets.audit_export import build_document, describe, moment, render_html
from services.tickets.domain.events import ALL_EVENT_CLASSES

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def event(position: int, type_: str, data: dict, role: str = "agent") -> RecordedEvent:
    return RecordedEvent(
        position=position,
        xid=100 + position,
        stream_id="t-1",
        version=position,
        event_id=uuid.uuid4(),
        type=type_,
        schema_version=1,
        data=data,
        metadata={"actor_id": f"{role}-1", "actor_role": role, "correlation_id": "r-1"},
        recorded_at=datetime(2026, 3, 20, 20, 30, position, tzinfo=UTC),
    )


EVENTS = [
    event(1, "TicketOpened", {"subject": "<script>x</script>", "department": "d"}, "customer"),
    event(2, "InternalNotePosted", {"body": "یادداشت & داخلی"}),
    event(3, "PriorityChanged", {"from_priority": "normal", "to_priority": "urgent"}),
]
CHAIN = [
    {"position": 1, "chain_seq": 7, "chain_hash": "ab" * 32, "status": "ok"},
    {"position": 2, "chain_seq": 8, "chain_hash": "cd" * 32, "status": "mismatch"},
]


def document() -> dict:
    ticket = {"ticket_id": "t-1", "number": "12345678", "number_display": "1234-5678"}
    return build_document(ticket, EVENTS, CHAIN, {"id": "agent-1", "role": "agent"}, NOW)


def test_an_instant_in_utc_tehran_and_jalali():
    # Nowruz 1405 begins at Tehran midnight, 20:30 UTC the evening before.
    assert moment(datetime(2026, 3, 20, 20, 30, tzinfo=UTC)) == {
        "utc": "2026-03-20T20:30:00Z",
        "tehran": "2026-03-21 00:00:00",
        "jalali_date": "1405/01/01",
        "jalali": "1405/01/01 00:00:00",
    }


def test_every_ticket_event_type_has_both_descriptions():
    for cls in ALL_EVENT_CLASSES:
        fa, en = describe(cls.TYPE, {})
        assert fa and en and not fa.startswith("رویداد ") and not en.startswith("Event "), cls
    assert describe("Unknown", {"a": 1}) == ('رویداد Unknown: {"a": 1}', 'Event Unknown: {"a": 1}')


def test_document_carries_actor_time_change_and_chain_per_event():
    doc = document()
    first, second, third = doc["events"]
    assert (first["actor_id"], first["actor_role"]) == ("customer-1", "customer")
    assert first["recorded_at"]["jalali_date"] == "1405/01/01"
    assert "فوری" in third["description_fa"] and "to urgent" in third["description_en"]
    assert (first["chain_seq"], first["chain_status"]) == (7, "ok")
    assert (second["chain_hash"], second["chain_status"]) == ("cd" * 32, "mismatch")
    assert third["chain_status"] == "unsealed" and third["chain_hash"] is None
    assert doc["chain"] == {
        **doc["chain"],
        "intact": False,
        "sealed": 2,
        "unsealed": 1,
        "mismatched_positions": [2],
    }
    assert doc["generated_at"]["utc"] == "2026-11-25T10:00:00Z"


def test_the_page_is_rtl_printable_escaped_and_self_contained():
    page = render_html(document())
    assert page.startswith("<!DOCTYPE html>") and '<html lang="fa" dir="rtl">' in page
    assert "@media print" in page and "@page" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "یادداشت &amp; داخلی" in page
    assert page.count("<tr class=") == 3 and 'class="mismatch"' in page
    assert "1405/01/01 00:00:01" in page and "UTC 2026-03-20T20:30:01Z" in page
    assert not re.search(r"(src|href)=|@import|url\(", page)
