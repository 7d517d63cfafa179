"""Read models of the tickets service, kept from the event log.

``project`` runs inside the append's transaction, so a reader never sees a ticket
whose read model lags its events; ``rebuild`` replays the whole log into empty
tables and must give the same rows (a test compares them).
"""

from __future__ import annotations

from collections.abc import Callable

import pasokh_common  # noqa: F401
from pasokh_common.eventlog import EventStore, RecordedEvent

import psycopg
from psycopg.types.json import Jsonb

READ_MODEL_TABLES = ("tickets.ticket_summary", "tickets.messages", "tickets.attachment_links")

Projector = Callable[[psycopg.Connection, RecordedEvent], None]


def _touch(conn: psycopg.Connection, event: RecordedEvent, assignments: str, params: dict) -> None:
    conn.execute(
        f"UPDATE tickets.ticket_summary SET {assignments}, updated_at = %(at)s,"
        " version = %(version)s WHERE ticket_id = %(ticket_id)s",
        {**params, "ticket_id": event.stream_id, "version": event.version},
    )


def _opened(conn: psycopg.Connection, event: RecordedEvent) -> None:
    d = event.data
    conn.execute(
        "INSERT INTO tickets.ticket_summary (ticket_id, number, customer_id, organisation_id,"
        " department, subject, priority, status, needs_follow_up, opened_at, updated_at,"
        " last_customer_message_at, message_count, version)"
        " VALUES (%(id)s, %(number)s, %(customer)s, %(org)s, %(dept)s, %(subject)s,"
        " %(priority)s, 'unanswered', %(follow)s, %(at)s, %(at)s, %(at)s, 1, %(version)s)",
        {
            "id": d["ticket_id"],
            "number": d["number"],
            "customer": d["customer_id"],
            "org": d.get("organisation_id"),
            "dept": d["department"],
            "subject": d["subject"],
            "priority": d["priority"],
            "follow": d.get("needs_follow_up", False),
            "at": d["opened_at"],
            "version": event.version,
        },
    )
    _insert_message(conn, event, "opening", d["customer_id"], "customer", d["opened_at"])


def _insert_message(
    conn: psycopg.Connection,
    event: RecordedEvent,
    kind: str,
    author_id: str,
    author_role: str,
    at: str,
) -> None:
    conn.execute(
        "INSERT INTO tickets.messages (message_id, ticket_id, position, kind, author_id,"
        " author_role, body, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            event.data["message_id"],
            event.stream_id,
            event.position,
            kind,
            author_id,
            author_role,
            event.data["body"],
            at,
        ),
    )


def _claimed(conn, event):
    _touch(
        conn,
        event,
        "assignee_id = %(agent)s, status = CASE WHEN status = 'unanswered'"
        " THEN 'under_review' ELSE status END",
        {"agent": event.data["agent_id"], "at": event.data["claimed_at"]},
    )


def _released(conn, event):
    _touch(
        conn,
        event,
        "assignee_id = NULL, status = CASE WHEN status = 'under_review'"
        " THEN 'unanswered' ELSE status END",
        {"at": event.data["released_at"]},
    )


def _reply(conn, event):
    d = event.data
    if d["author_role"] == "customer":
        _touch(
            conn,
            event,
            "last_customer_message_at = %(at)s, message_count = message_count + 1,"
            " status = CASE WHEN status = 'answered' THEN 'unanswered' ELSE status END",
            {"at": d["posted_at"]},
        )
    else:
        _touch(
            conn,
            event,
            "last_agent_reply_at = %(at)s, status = 'answered', message_count = message_count + 1",
            {"at": d["posted_at"]},
        )
    _insert_message(conn, event, "reply", d["author_id"], d["author_role"], d["posted_at"])


def _note(conn, event):
    d = event.data
    _insert_message(
        conn, event, "internal_note", d["author_id"], d.get("author_role", "agent"), d["posted_at"]
    )
    _touch(conn, event, "message_count = message_count", {"at": d["posted_at"]})


def _attachment(conn, event):
    d = event.data
    meta = {
        "attachment_id": d["attachment_id"],
        "name": d["name"],
        "size": d["size"],
        "content_type": d["content_type"],
        "sha256": d["sha256"],
    }
    row = conn.execute(
        "UPDATE tickets.messages SET attachments = attachments || %s::jsonb"
        " WHERE message_id = %s RETURNING kind",
        (Jsonb([meta]), d["message_id"]),
    ).fetchone()
    internal = bool(row) and row["kind"] == "internal_note"
    conn.execute(
        "INSERT INTO tickets.attachment_links (attachment_id, ticket_id, message_id, internal)"
        " VALUES (%s, %s, %s, %s)",
        (d["attachment_id"], event.stream_id, d["message_id"], internal),
    )
    _touch(conn, event, "message_count = message_count", {"at": d["added_at"]})


def _transferred(conn, event):
    d = event.data
    _touch(
        conn,
        event,
        "department = %(dept)s, assignee_id = NULL, status = CASE WHEN status = 'under_review'"
        " THEN 'unanswered' ELSE status END",
        {"dept": d["to_department"], "at": d["transferred_at"]},
    )


def _priority(conn, event):
    d = event.data
    _touch(conn, event, "priority = %(p)s", {"p": d["to_priority"], "at": d["changed_at"]})


def _closed(conn, event):
    d = event.data
    _touch(conn, event, "status = 'closed', closed_at = %(at)s", {"at": d["closed_at"]})


def _reopened(conn, event):
    d = event.data
    _touch(conn, event, "status = 'unanswered', closed_at = NULL", {"at": d["reopened_at"]})


def _merged(conn, event):
    d = event.data
    _touch(
        conn,
        event,
        "status = 'closed', closed_at = %(at)s, merged_into = %(into)s, assignee_id = NULL",
        {"at": d["merged_at"], "into": d["into_ticket_id"]},
    )


def _rated(conn, event):
    d = event.data
    _touch(
        conn,
        event,
        "rating = %(score)s, rating_comment = %(comment)s",
        {"score": d["score"], "comment": d.get("comment"), "at": d["rated_at"]},
    )


PROJECTORS: dict[str, Projector] = {
    "TicketOpened": _opened,
    "TicketClaimed": _claimed,
    "TicketReleased": _released,
    "ReplyPosted": _reply,
    "InternalNotePosted": _note,
    "AttachmentAdded": _attachment,
    "TicketTransferred": _transferred,
    "PriorityChanged": _priority,
    "TicketClosed": _closed,
    "TicketReopened": _reopened,
    "TicketMerged": _merged,
    "SatisfactionRated": _rated,
}


def project(conn: psycopg.Connection, event: RecordedEvent) -> None:
    """Apply one event to the read models. An unknown type is an error, not a skip:
    a silently skipped event would make the read models quietly wrong."""
    try:
        projector = PROJECTORS[event.type]
    except KeyError as exc:
        raise LookupError(f"no projection for event type {event.type!r}") from exc
    projector(conn, event)


def rebuild(conn: psycopg.Connection, store: EventStore, batch: int = 2000) -> int:
    """Empty the read models and replay the whole log, in one transaction, so readers
    see either the old or the rebuilt models, never half of each."""
    replayed = 0
    with conn.transaction():
        conn.execute("TRUNCATE " + ", ".join(READ_MODEL_TABLES))
        position = 0
        while True:
            events = store.read_all(conn, after_position=position, limit=batch)
            if not events:
                break
            for event in events:
                project(conn, event)
            position = events[-1].position
            replayed += len(events)
    return replayed
