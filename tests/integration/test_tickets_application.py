"""The tickets application layer against real PostgreSQL: commands, read models,
idempotency, attachments and the read-model rebuild."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta

from pasokh_common.errors import Conflict, NotFound, ValidationFailed

import pytest

from services.tickets import projections
from services.tickets.application import STORE, TicketCommands
from services.tickets.domain import errors as domain_errors
from services.tickets.queries import TicketQueries
from tests.support.clocks import SteppingClock as Clock

pytestmark = pytest.mark.integration

CUSTOMER = {"id": "cust-1", "role": "customer"}
OTHER_CUSTOMER = {"id": "cust-2", "role": "customer"}
AGENT = {"id": "agent-1", "role": "agent", "departments": ["technical"]}
AGENT_2 = {"id": "agent-2", "role": "agent", "departments": ["technical"]}
FINANCE_AGENT = {"id": "agent-9", "role": "agent", "departments": ["finance"]}
SUPERVISOR = {"id": "sup-1", "role": "supervisor", "departments": ["technical", "finance"]}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def commands(tickets_pool, clock) -> TicketCommands:
    return TicketCommands(tickets_pool, clock=clock)


@pytest.fixture
def queries(tickets_pool) -> TicketQueries:
    return TicketQueries(tickets_pool)


def open_ticket(commands: TicketCommands, actor=CUSTOMER, **overrides) -> dict:
    payload = {
        "department": "technical",
        "subject": "اينترنت قطع است",  # Arabic Yeh on purpose: stored with Persian Yeh
        "priority": "normal",
        "body": "از دیروز اینترنت ندارم.",
        **overrides,
    }
    return commands.open_ticket(actor, payload)


def count_events(pool) -> int:
    with pool.connection() as conn:
        return conn.execute("SELECT count(*) AS n FROM tickets.events").fetchone()["n"]


def test_ticket_goes_through_its_whole_life(commands, queries, tickets_pool):
    ticket = open_ticket(commands)
    tid = ticket["ticket_id"]
    assert ticket["status"] == "unanswered"
    assert ticket["subject"] == "اینترنت قطع است"
    assert len(ticket["number"]) == 8

    assert commands.claim(AGENT, {"ticket_id": tid})["status"] == "under_review"
    answered = commands.post_reply(AGENT, {"ticket_id": tid, "body": "بررسی شد."})
    assert answered["status"] == "answered"
    assert (
        commands.post_reply(CUSTOMER, {"ticket_id": tid, "body": "هنوز قطع است"})["status"]
        == "unanswered"
    )
    commands.post_internal_note(AGENT, {"ticket_id": tid, "body": "مشکل از مودم است"})
    commands.post_reply(AGENT, {"ticket_id": tid, "body": "مودم را ریست کنید."})
    closed = commands.close(CUSTOMER, {"ticket_id": tid})
    assert closed["status"] == "closed"
    rated = commands.rate(CUSTOMER, {"ticket_id": tid, "score": 5, "comment": "عالی"})
    assert rated["rating"] == 5

    customer_view = queries.get_ticket(CUSTOMER, tid)
    kinds = [m["kind"] for m in customer_view["messages"]]
    assert kinds == ["opening", "reply", "reply", "reply"]  # the internal note is hidden
    agent_view = queries.get_ticket(AGENT, tid)
    assert "internal_note" in [m["kind"] for m in agent_view["messages"]]

    trail = queries.history(AGENT, tid)
    assert [e["type"] for e in trail] == [
        "TicketOpened",
        "TicketClaimed",
        "ReplyPosted",
        "ReplyPosted",
        "InternalNotePosted",
        "ReplyPosted",
        "TicketClosed",
        "SatisfactionRated",
    ]
    assert trail[1]["actor_id"] == "agent-1" and trail[1]["actor_role"] == "agent"


def test_other_customers_and_departments_see_not_found(commands, queries):
    tid = open_ticket(commands)["ticket_id"]
    with pytest.raises(NotFound):
        queries.get_ticket(OTHER_CUSTOMER, tid)
    with pytest.raises(NotFound):
        queries.get_ticket(FINANCE_AGENT, tid)
    with pytest.raises(domain_errors.TicketError):
        commands.claim(FINANCE_AGENT, {"ticket_id": tid})


def test_customer_reply_moves_ticket_to_end_of_queue(commands, queries):
    first = open_ticket(commands, subject="اولی")["ticket_id"]
    second = open_ticket(commands, actor=OTHER_CUSTOMER, subject="دومی")["ticket_id"]
    queue = queries.queue(AGENT, {"department": "technical"})
    assert [t["ticket_id"] for t in queue["items"]] == [first, second]
    commands.post_reply(CUSTOMER, {"ticket_id": first, "body": "پیگیری مجدد"})
    queue = queries.queue(AGENT, {"department": "technical"})
    assert [t["ticket_id"] for t in queue["items"]] == [second, first]
    assert queue["total"] == 2


def test_two_agents_claim_at_once_one_wins_other_gets_conflict(commands, tickets_pool):
    tid = open_ticket(commands)["ticket_id"]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def claim(agent: dict) -> None:
        barrier.wait()
        try:
            commands.claim(agent, {"ticket_id": tid})
            outcomes.append("won")
        except (Conflict, domain_errors.ClaimedByAnotherAgent):
            outcomes.append("conflict")

    threads = [threading.Thread(target=claim, args=(a,)) for a in (AGENT, AGENT_2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "won"]
    with tickets_pool.connection() as conn:
        claimed = conn.execute(
            "SELECT count(*) AS n FROM tickets.events WHERE event_type = 'TicketClaimed'"
        ).fetchone()["n"]
    assert claimed == 1


def test_stale_expected_version_is_refused_and_appends_nothing(commands, tickets_pool):
    tid = open_ticket(commands)["ticket_id"]
    before = count_events(tickets_pool)
    with pytest.raises(Conflict):
        commands.claim(AGENT, {"ticket_id": tid, "expected_version": 5})
    assert count_events(tickets_pool) == before


def test_retried_open_with_same_idempotency_key_opens_one_ticket(commands, tickets_pool):
    first = open_ticket(commands, idempotency_key="form-42")
    again = open_ticket(commands, idempotency_key="form-42")
    assert again["ticket_id"] == first["ticket_id"]
    assert count_events(tickets_pool) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "   "}, "body"),
        ({"subject": ""}, "subject"),
        ({"priority": "whenever"}, "priority"),
        ({"department": ""}, "department"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_open_input_is_a_field_error_and_changes_nothing(
    commands, tickets_pool, payload, field
):
    with pytest.raises((ValidationFailed, domain_errors.TicketError)) as caught:
        open_ticket(commands, **payload)
    error = caught.value
    assert field in error.fields or error.code in ("empty_body", "invalid_ticket_data")
    assert count_events(tickets_pool) == 0


def test_reply_to_unknown_ticket_is_not_found(commands):
    with pytest.raises(NotFound):
        commands.post_reply(
            CUSTOMER, {"ticket_id": "00000000-0000-0000-0000-000000000001", "body": "سلام"}
        )


def test_reply_after_reopen_window_is_refused(commands, clock, tickets_pool):
    tid = open_ticket(commands)["ticket_id"]
    commands.close(CUSTOMER, {"ticket_id": tid})
    clock.now += timedelta(days=30)
    before = count_events(tickets_pool)
    with pytest.raises(domain_errors.ReopenWindowExpired):
        commands.post_reply(CUSTOMER, {"ticket_id": tid, "body": "باز هم مشکل دارم"})
    assert count_events(tickets_pool) == before


def test_attachments_are_stored_outside_events_and_downloadable(commands, queries):
    data = "گزارش خطا".encode() * 100
    uploaded = commands.upload_attachment(
        CUSTOMER,
        {
            "name": "../../etc/گزارش.txt",
            "content_type": "text/plain",
            "data_base64": base64.b64encode(data).decode(),
        },
    )
    assert uploaded["name"] == "گزارش.txt"
    tid = open_ticket(commands, attachment_ids=[uploaded["attachment_id"]])["ticket_id"]
    trail = queries.history(AGENT, tid)
    added = [e for e in trail if e["type"] == "AttachmentAdded"]
    assert len(added) == 1 and added[0]["data"]["size"] == len(data)
    assert "data_base64" not in added[0]["data"]
    downloaded = queries.download_attachment(CUSTOMER, uploaded["attachment_id"])
    assert base64.b64decode(downloaded["data_base64"]) == data
    with pytest.raises(NotFound):
        queries.download_attachment(OTHER_CUSTOMER, uploaded["attachment_id"])
    with pytest.raises(ValidationFailed):  # an attachment is used once
        open_ticket(commands, attachment_ids=[uploaded["attachment_id"]])


def test_oversize_attachment_is_refused(commands):
    too_big = base64.b64encode(b"x" * (10 * 1024 * 1024 + 1)).decode()
    with pytest.raises(domain_errors.AttachmentTooLarge):
        commands.upload_attachment(
            CUSTOMER,
            {"name": "big.bin", "content_type": "application/octet-stream", "data_base64": too_big},
        )


def test_find_by_number_accepts_persian_digits_and_dashes(commands, queries):
    ticket = open_ticket(commands)
    number = ticket["number"]
    spoken = "".join("۰۱۲۳۴۵۶۷۸۹"[int(c)] for c in number)
    found = queries.find_by_number(AGENT, {"number": spoken[:4] + "-" + spoken[4:]})
    assert found["ticket_id"] == ticket["ticket_id"]


def test_merge_closes_the_duplicate(commands, queries):
    original = open_ticket(commands)["ticket_id"]
    duplicate = open_ticket(commands, subject="باز هم اینترنت")["ticket_id"]
    merged = commands.merge(AGENT, {"ticket_id": duplicate, "into_ticket_id": original})
    assert merged["status"] == "closed" and merged["merged_into"] == original


def dump_read_models(pool) -> dict:
    with pool.connection() as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in projections.READ_MODEL_TABLES
        }


def test_rebuilding_read_models_from_the_log_gives_identical_rows(commands, tickets_pool):
    a = open_ticket(commands)["ticket_id"]
    b = open_ticket(commands, actor=OTHER_CUSTOMER)["ticket_id"]
    commands.claim(AGENT, {"ticket_id": a})
    commands.post_reply(AGENT, {"ticket_id": a, "body": "پاسخ"})
    commands.transfer(AGENT, {"ticket_id": b, "to_department": "finance", "reason": "مالی"})
    commands.change_priority(FINANCE_AGENT, {"ticket_id": b, "priority": "high"})
    commands.close(AGENT, {"ticket_id": a})
    commands.reopen(CUSTOMER, {"ticket_id": a})
    before = dump_read_models(tickets_pool)
    with tickets_pool.connection() as conn:
        replayed = projections.rebuild(conn, STORE)
    assert replayed == count_events(tickets_pool)
    assert dump_read_models(tickets_pool) == before
    assert before["tickets.ticket_summary"]


def test_uploads_no_message_used_are_purged_after_the_grace_period(commands, queries, tickets_db):
    import psycopg

    def upload(name: str) -> str:
        payload = {"name": name, "content_type": "text/plain", "data_base64": "c2FsYW0="}
        return commands.upload_attachment(CUSTOMER, payload)["attachment_id"]

    used, abandoned, fresh = upload("used.txt"), upload("abandoned.txt"), upload("fresh.txt")
    open_ticket(commands, attachment_ids=[used])
    with psycopg.connect(tickets_db["admin_url"]) as conn:
        conn.execute(
            "UPDATE tickets.attachment_blobs SET uploaded_at = now() - interval '25 hours'"
            " WHERE attachment_id = ANY(%s::uuid[])",
            ([used, abandoned],),
        )

    assert commands.purge_unused_uploads() == 1
    assert commands.purge_unused_uploads() == 0
    assert queries.download_attachment(CUSTOMER, used)["name"] == "used.txt"
    with pytest.raises(NotFound):
        queries.download_attachment(CUSTOMER, abandoned)
    # Still inside the grace period: the request that uploaded it may yet use it.
    open_ticket(commands, subject="پرونده دوم", attachment_ids=[fresh])
