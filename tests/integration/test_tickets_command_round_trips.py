"""The tickets command path's round trips against real PostgreSQL: all read models of a
command in one statement that returns the summary row, membership narrowing carried
by that statement, and the duplicate check sharing one read with the ticket's number.
Each must leave exactly what the one-event-at-a-time rebuild leaves."""

from __future__ import annotations

import base64
import threading
import uuid
from datetime import UTC, datetime

from pasokh_common.errors import NotFound
from pasokh_common.eventlog import RecordedEvent

import psycopg
import pytest

from services.tickets import projections
from services.tickets.aggregate_cache import TicketCache
from services.tickets.application import STORE, TicketCommands
from services.tickets.domain import errors as domain_errors
from services.tickets.membership import record_assignment, record_removal
from tests.support.clocks import SteppingClock as Clock

pytestmark = pytest.mark.integration

CUSTOMER = {"id": "cust-1", "role": "customer"}
AGENT = {"id": "agent-1", "role": "agent", "departments": ["technical"]}
TWO_DEPARTMENTS = {"id": "agent-5", "role": "agent", "departments": ["technical", "finance"]}
SIMILAR = {"department": "technical", "subject": "اینترنت قطع است"}


@pytest.fixture
def commands(tickets_pool) -> TicketCommands:
    return TicketCommands(tickets_pool, clock=Clock(), cache=TicketCache(100))


def payload(**overrides) -> dict:
    return {
        "department": "technical",
        "subject": "اینترنت قطع است",
        "priority": "normal",
        "body": "از دیروز اینترنت ندارم.",
        **overrides,
    }


def upload(commands: TicketCommands, actor: dict, name: str) -> str:
    data = base64.b64encode(f"فایل {name}".encode()).decode()
    stored = commands.upload_attachment(
        actor, {"name": name, "content_type": "text/plain", "data_base64": data}
    )
    return stored["attachment_id"]


def read_models(pool) -> dict:
    with pool.connection() as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in projections.READ_MODEL_TABLES
        }


def summary(pool, ticket_id: str) -> dict:
    with pool.connection() as conn:
        return conn.execute(
            "SELECT * FROM tickets.ticket_summary WHERE ticket_id = %s", (ticket_id,)
        ).fetchone()


def events_of(pool, ticket_id: str) -> list[str]:
    with pool.connection() as conn:
        return [e.type for e in STORE.load(conn, ticket_id)]


def next_number(admin_url: str) -> int:
    with psycopg.connect(admin_url) as conn:
        return conn.execute("SELECT last_value FROM tickets.ticket_number_seq").fetchone()[0]


class StatementLog:
    """The statements psycopg's cursors execute (``Connection.execute`` goes through
    them; BEGIN and COMMIT do not)."""

    def __init__(self, monkeypatch) -> None:
        self.statements: list[str] = []
        real = psycopg.Cursor.execute

        def execute(cursor, query, *args, **kwargs):
            self.statements.append(" ".join(str(query).split()))
            return real(cursor, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", execute)


def test_a_command_of_several_events_leaves_what_the_rebuild_leaves(commands, tickets_pool):
    files = [upload(commands, CUSTOMER, f"{n}.txt") for n in range(2)]
    opened = commands.open_ticket(CUSTOMER, payload(attachment_ids=files))  # 3 events
    tid = opened["ticket_id"]
    # An agent's first reply claims the ticket: TicketClaimed + ReplyPosted (+ a file).
    reply_file = upload(commands, AGENT, "answer.txt")
    answered = commands.post_reply(
        AGENT, {"ticket_id": tid, "body": "بررسی شد.", "attachment_ids": [reply_file]}
    )
    assert events_of(tickets_pool, tid) == [
        "TicketOpened",
        "AttachmentAdded",
        "AttachmentAdded",
        "TicketClaimed",
        "ReplyPosted",
        "AttachmentAdded",
    ]
    assert answered["status"] == "answered" and answered["assignee_id"] == "agent-1"
    assert answered["version"] == 6 and answered["message_count"] == 2
    commands.post_internal_note(AGENT, {"ticket_id": tid, "body": "یادداشت"})
    commands.post_reply(CUSTOMER, {"ticket_id": tid, "body": "ممنون، هنوز قطع است."})
    commands.close(AGENT, {"ticket_id": tid})
    last = commands.reopen(CUSTOMER, {"ticket_id": tid})

    before = read_models(tickets_pool)
    with tickets_pool.connection() as conn:
        projections.rebuild(conn, STORE)  # one event at a time
    assert read_models(tickets_pool) == before
    # Each answer is the row as stored, every event of its command applied.
    stored = summary(tickets_pool, tid)
    assert last == {
        k: (v.isoformat() if isinstance(v, datetime) else str(v) if k in ("ticket_id",) else v)
        for k, v in stored.items()
    }
    links = before["tickets.attachment_links"]
    assert sorted(link["internal"] for link in links) == [False, False, False]
    opening = next(m for m in before["tickets.messages"] if m["kind"] == "opening")
    assert [a["name"] for a in opening["attachments"]] == ["0.txt", "1.txt"]


def test_an_agents_first_reply_is_one_statement_between_begin_and_commit(
    commands, tickets_pool, monkeypatch
):
    tid = commands.open_ticket(CUSTOMER, payload())["ticket_id"]
    log = StatementLog(monkeypatch)
    answered = commands.post_reply(AGENT, {"ticket_id": tid, "body": "بررسی شد."})
    assert answered["status"] == "answered" and answered["version"] == 3
    # The ticket came from the cache; one statement for the events INSERT, both
    # summary changes, the message, the membership rows and the answer.
    assert len(log.statements) == 1, log.statements
    assert log.statements[0].startswith('WITH e AS (INSERT INTO "tickets"."events"')
    assert answered == {
        k: v for k, v in answered.items() if k in summary(tickets_pool, tid)
    }  # no membership column leaks into the answer


def test_opening_unless_similar_reads_once_and_draws_no_number_for_a_duplicate(
    commands, tickets_pool, tickets_db, monkeypatch
):
    log = StatementLog(monkeypatch)
    first = commands.open_ticket_unless_similar(CUSTOMER, payload(), SIMILAR)
    assert "ticket" in first
    # The similarity read with the number; the events with the read models.
    assert len(log.statements) == 2, log.statements
    number = next_number(tickets_db["admin_url"])
    again = commands.open_ticket_unless_similar(CUSTOMER, payload(), SIMILAR)
    assert [i["ticket_id"] for i in again["similar"]] == [first["ticket"]["ticket_id"]]
    assert next_number(tickets_db["admin_url"]) == number  # no number spent on the duplicate
    with tickets_pool.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM tickets.events").fetchone()["n"] == 1
    other = commands.open_ticket_unless_similar(
        CUSTOMER, payload(subject="فاکتور اشتباه"), {**SIMILAR, "subject": "فاکتور اشتباه"}
    )
    assert other["ticket"]["number"] != first["ticket"]["number"]


def test_an_agent_removed_from_the_department_commits_nothing(commands, tickets_pool, tickets_db):
    tid = commands.open_ticket(CUSTOMER, payload())["ticket_id"]
    with psycopg.connect(tickets_db["admin_url"], autocommit=True) as conn:
        record_removal(
            conn,
            {"user_id": "agent-1", "department_id": "technical", "removed_at": "2026-11-20T09:00Z"},
        )
    # The token still lists the department, and the cached ticket says yes: the
    # decision is made, then the membership read of the same transaction undoes it.
    with pytest.raises((domain_errors.NotInDepartment, NotFound, domain_errors.NotPermitted)):
        commands.post_reply(AGENT, {"ticket_id": tid, "body": "بررسی شد."})
    assert events_of(tickets_pool, tid) == ["TicketOpened"]
    assert summary(tickets_pool, tid)["status"] == "unanswered"
    # Staff may not look for duplicates in a department they were taken out of.
    staff_similar = {**SIMILAR, "customer_id": "cust-1"}
    with pytest.raises(domain_errors.NotInDepartment):
        commands.open_ticket_unless_similar(AGENT, payload(customer_id="cust-1"), staff_similar)


def test_a_narrowed_agent_still_acts_in_the_departments_left(commands, tickets_pool, tickets_db):
    tid = commands.open_ticket(CUSTOMER, payload())["ticket_id"]
    with psycopg.connect(tickets_db["admin_url"], autocommit=True) as conn:
        record_assignment(
            conn,
            {
                "user_id": "agent-5",
                "department_id": "technical",
                "role": "agent",
                "assigned_at": "2026-11-20T09:00Z",
            },
        )
        record_removal(
            conn,
            {"user_id": "agent-5", "department_id": "finance", "removed_at": "2026-11-20T09:00Z"},
        )
    answered = commands.post_reply(TWO_DEPARTMENTS, {"ticket_id": tid, "body": "بررسی شد."})
    assert answered["assignee_id"] == "agent-5" and answered["status"] == "answered"
    # The decision ran again with {technical} (the token's list, narrowed)...
    assert events_of(tickets_pool, tid) == ["TicketOpened", "TicketClaimed", "ReplyPosted"]
    # ... and in finance, still in the token, the agent no longer acts.
    finance = commands.open_ticket(CUSTOMER, payload(department="finance", subject="فاکتور"))
    with pytest.raises((domain_errors.NotInDepartment, NotFound, domain_errors.NotPermitted)):
        commands.post_reply(TWO_DEPARTMENTS, {"ticket_id": finance["ticket_id"], "body": "نه"})
    assert events_of(tickets_pool, finance["ticket_id"]) == ["TicketOpened"]


def recorded(ticket_id: str, version: int, event_type: str, data: dict) -> RecordedEvent:
    return RecordedEvent(
        position=1000 + version,
        xid=1,
        stream_id=ticket_id,
        version=version,
        event_id=str(uuid.uuid4()),
        type=event_type,
        schema_version=1,
        data=data,
        metadata={},
        recorded_at=datetime(2026, 11, 22, tzinfo=UTC),
    )


def later_events(ticket_id: str, opening_message: str, first_version: int) -> list:
    """A run in which each event reads what the one before it changed."""
    at = iter(f"2026-11-22T09:{m:02d}:00+00:00" for m in range(60))
    note = str(uuid.uuid4())

    def reply(role: str) -> tuple:
        author = "cust-1" if role == "customer" else "agent-1"
        return (
            "ReplyPosted",
            {
                "message_id": str(uuid.uuid4()),
                "author_id": author,
                "author_role": role,
                "body": f"پیام {role}",
                "posted_at": next(at),
            },
        )

    def attachment(message_id: str, n: int) -> tuple:
        return (
            "AttachmentAdded",
            {
                "message_id": message_id,
                "attachment_id": str(uuid.uuid4()),
                "name": f"{n}.pdf",
                "size": 10 + n,
                "content_type": "application/pdf",
                "sha256": f"{n:064x}",
                "added_at": next(at),
            },
        )

    steps = [
        ("TicketClaimed", {"agent_id": "agent-1", "claimed_at": next(at)}),
        reply("customer"),  # under_review stays under_review
        reply("agent"),
        reply("customer"),  # answered -> unanswered
        (
            "InternalNotePosted",
            {"message_id": note, "author_id": "agent-1", "body": "یادداشت", "posted_at": next(at)},
        ),
        attachment(note, 1),  # to a message of this run: internal
        attachment(opening_message, 2),  # to an earlier message
        ("TicketTransferred", {"to_department": "finance", "transferred_at": next(at)}),
        ("TicketClaimed", {"agent_id": "agent-2", "claimed_at": next(at)}),
        ("TicketReleased", {"released_at": next(at)}),
        ("PriorityChanged", {"to_priority": "high", "changed_at": next(at)}),
        ("TicketClosed", {"closed_at": next(at)}),
        ("TicketReopened", {"reopened_at": next(at)}),
        ("TicketClosed", {"closed_at": next(at)}),
        ("SatisfactionRated", {"score": 4, "comment": "خوب", "rated_at": next(at)}),
    ]
    return [
        recorded(ticket_id, first_version + n, event_type, data)
        for n, (event_type, data) in enumerate(steps)
    ]


def project_and_read(pool, events: list, together: bool) -> dict:
    """The read models after ``events`` (rolled back afterwards)."""
    with pool.connection() as conn:
        with conn.transaction(force_rollback=True):
            if together:
                row = projections.project_many(conn, events)
            else:
                for event in events:
                    projections.project(conn, event)
                row = None
            models = {
                table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
                for table in projections.READ_MODEL_TABLES
            }
    return {"returned": row, **models}


@pytest.mark.parametrize("repeat", [1, 12])  # 12: long enough to be written in parts
def test_events_composed_in_one_statement_equal_them_one_by_one(commands, tickets_pool, repeat):
    opened = commands.open_ticket(CUSTOMER, payload())
    tid = opened["ticket_id"]
    with tickets_pool.connection() as conn:
        opening = conn.execute(
            "SELECT message_id::text AS id FROM tickets.messages WHERE ticket_id = %s", (tid,)
        ).fetchone()["id"]
    events: list = []
    for _ in range(repeat):
        events += later_events(tid, opening, opened["version"] + len(events) + 1)
    together = project_and_read(tickets_pool, events, together=True)
    one_by_one = project_and_read(tickets_pool, events, together=False)
    assert together["tickets.ticket_summary"] == one_by_one["tickets.ticket_summary"]
    assert together["tickets.messages"] == one_by_one["tickets.messages"]
    assert together["tickets.attachment_links"] == one_by_one["tickets.attachment_links"]
    final = one_by_one["tickets.ticket_summary"][0]
    assert together["returned"] == final  # RETURNING is the row as every event left it
    assert final["version"] == events[-1].version and final["status"] == "closed"
    assert final["department"] == "finance" and final["assignee_id"] is None
    assert final["message_count"] == 1 + 3 * repeat and final["rating"] == 4
    internal = {link["internal"] for link in together["tickets.attachment_links"]}
    assert internal == {True, False}


def test_a_long_run_of_status_rules_is_written_in_parts(commands, tickets_pool, monkeypatch):
    """Each status rule names the status twice: composed without limit, 20 of them
    would be a statement of megabytes; it is written out in parts instead."""
    tid = commands.open_ticket(CUSTOMER, payload())["ticket_id"]
    events = []
    for n in range(20):
        at = f"2026-11-22T10:{n:02d}:00+00:00"
        if n % 2 == 0:
            events.append(("TicketClaimed", {"agent_id": f"agent-{n}", "claimed_at": at}))
        else:
            events.append(("TicketReleased", {"released_at": at}))
    events = [recorded(tid, 2 + n, t, d) for n, (t, d) in enumerate(events)]
    log = StatementLog(monkeypatch)
    together = project_and_read(tickets_pool, events, together=True)
    assert 1 < len(log.statements) < 10
    assert all(len(s) < 20_000 for s in log.statements)
    one_by_one = project_and_read(tickets_pool, events, together=False)
    assert together["tickets.ticket_summary"] == one_by_one["tickets.ticket_summary"]
    assert together["returned"] == one_by_one["tickets.ticket_summary"][0]
    assert together["returned"]["status"] == "unanswered" and together["returned"]["version"] == 21


def test_a_retried_opening_answers_its_ticket_not_itself_as_similar(commands, tickets_pool):
    keyed = payload(idempotency_key="open-1")
    first = commands.open_ticket_unless_similar(CUSTOMER, keyed, SIMILAR)
    again = commands.open_ticket_unless_similar(CUSTOMER, keyed, SIMILAR)
    assert again == first
    with tickets_pool.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM tickets.events").fetchone()["n"] == 1


def test_a_keyed_command_writes_its_record_with_the_read_models(
    commands, tickets_pool, monkeypatch
):
    tid = commands.open_ticket(CUSTOMER, payload())["ticket_id"]
    log = StatementLog(monkeypatch)
    keyed = {"ticket_id": tid, "body": "بررسی شد.", "idempotency_key": "reply-1"}
    answered = commands.post_reply(AGENT, keyed)
    # The key's lookup; the events, the read models and the record.
    assert len(log.statements) == 2, log.statements
    assert commands.post_reply(AGENT, keyed) == answered
    assert events_of(tickets_pool, tid) == ["TicketOpened", "TicketClaimed", "ReplyPosted"]
    with tickets_pool.connection() as conn:
        row = conn.execute(
            "SELECT command, stream_id::text AS stream_id, result FROM tickets.command_results"
            " WHERE idempotency_key = %s",
            ("agent-1:post_reply:reply-1",),
        ).fetchone()
    assert row == {"command": "post_reply", "stream_id": tid, "result": {"ticket_id": tid}}


@pytest.mark.parametrize("actor", [AGENT, CUSTOMER], ids=["staff", "customer-autocommit"])
def test_a_twin_that_commits_first_wins_and_the_other_answers_its_result(
    commands, tickets_pool, actor
):
    """The record's INSERT (part of the command's one statement) waits on the twin's
    uncommitted key and fails once the twin commits: the statement (in a transaction
    for staff, alone for a customer) writes none of its events, and the command
    answers the twin's result."""
    tid = commands.open_ticket(CUSTOMER, payload())["ticket_id"]
    keyed = {"ticket_id": tid, "body": "بررسی شد.", "idempotency_key": "reply-2"}
    outcome: dict = {}
    with tickets_pool.connection() as twin:
        twin.execute("BEGIN")
        twin.execute(
            "INSERT INTO tickets.command_results (idempotency_key, command, stream_id, result)"
            " VALUES (%s, 'post_reply', %s, %s::jsonb)",
            (f"{actor['id']}:post_reply:reply-2", tid, f'{{"ticket_id": "{tid}"}}'),
        )
        worker = threading.Thread(
            target=lambda: outcome.update(answer=commands.post_reply(actor, keyed))
        )
        worker.start()
        worker.join(1.0)
        assert worker.is_alive()  # waiting on the twin's key
        twin.execute("COMMIT")
        worker.join(10)
    assert outcome["answer"]["ticket_id"] == tid and outcome["answer"]["version"] == 1
    assert events_of(tickets_pool, tid) == ["TicketOpened"]
