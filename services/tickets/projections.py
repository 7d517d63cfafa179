"""Read models of the tickets service, kept from the event log.

``project_many`` runs inside the append's transaction, so a reader never sees a ticket
whose read model lags its events: all events of a command in one statement that also
returns the summary row (the command's answer). ``rebuild`` replays the whole log
into empty tables, one event at a time through the same projectors, and must give
the same rows (tests compare them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.eventlog import EventStore, RecordedEvent

import psycopg
from psycopg.types.json import Jsonb

READ_MODEL_TABLES = ("tickets.ticket_summary", "tickets.messages", "tickets.attachment_links")

# ticket_summary's columns and their types: a composed expression casts each value,
# so no parameter's type depends on where it lands in the statement.
SUMMARY_COLUMNS = {
    "ticket_id": "uuid",
    "number": "text",
    "customer_id": "text",
    "organisation_id": "text",
    "department": "text",
    "subject": "text",
    "priority": "text",
    "status": "text",
    "assignee_id": "text",
    "needs_follow_up": "boolean",
    "opened_at": "timestamptz",
    "updated_at": "timestamptz",
    "last_customer_message_at": "timestamptz",
    "last_agent_reply_at": "timestamptz",
    "closed_at": "timestamptz",
    "merged_into": "uuid",
    "rating": "smallint",
    "rating_comment": "text",
    "message_count": "integer",
    "version": "integer",
}
_MESSAGE_COLUMNS = (
    ("message_id", "uuid"),
    ("ticket_id", "uuid"),
    ("position", "bigint"),
    ("kind", "text"),
    ("author_id", "text"),
    ("author_role", "text"),
    ("body", "text"),
    ("created_at", "timestamptz"),
    ("attachments", "jsonb"),
)
# A summary expression longer than this is written out before the next event composes
# on it (each status rule names the status twice); a command's few events never reach it.
_MAX_EXPRESSION = 4000


class Projection:
    """What a run of events of ONE stream does to the read models, composed in Python
    (pure: no round trip) into one statement: the ``ticket_summary`` row as one
    INSERT or UPDATE whose expressions apply the events in order (each event's
    assignments read the row as the events before it left it), the new messages and
    attachment links as data-modifying CTEs of it, ``RETURNING`` the row as every
    event left it. Used for one event (``project``, the rebuild) and for all events of
    a command (``project_many``) alike, so both give the same rows."""

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self.params: dict[str, Any] = {}
        # column -> SQL expression over the row before the statement (an UPDATE), or
        # over nothing (a new row: every column is set); empty: the row is untouched.
        self.summary: dict[str, str] = {}
        self.new_row = False
        self.messages: dict[str, dict[str, Any]] = {}
        self.links: list[tuple[Any, ...]] = []

    def param(self, value: Any, sql_type: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s::{sql_type}"

    def col(self, name: str) -> str:
        """The column's value as the events so far left it."""
        return self.summary.get(name, name)

    def insert_row(self, values: dict[str, Any]) -> None:
        self.new_row = True
        self.summary = {
            name: "NULL::" + sql_type
            if values.get(name) is None
            else self.param(values[name], sql_type)
            for name, sql_type in SUMMARY_COLUMNS.items()
        }

    def touch(
        self, conn: psycopg.Connection, event: RecordedEvent, at: Any, assignments: dict[str, str]
    ) -> None:
        """One event's UPDATE: ``assignments`` were computed from ``col`` (the row
        before this event), plus ``updated_at`` and ``version``."""
        changed = {
            **assignments,
            "updated_at": self.param(at, "timestamptz"),
            "version": self.param(event.version, "integer"),
        }
        self.summary.update({name: f"({expr})" for name, expr in changed.items()})
        if not self.new_row and any(len(e) > _MAX_EXPRESSION for e in self.summary.values()):
            self.write(conn)

    def add_message(
        self, event: RecordedEvent, kind: str, author_id: str, author_role: str, at: Any
    ) -> None:
        self.messages[event.data["message_id"]] = {
            "message_id": event.data["message_id"],
            "ticket_id": event.stream_id,
            "position": event.position,
            "kind": kind,
            "author_id": author_id,
            "author_role": author_role,
            "body": event.data["body"],
            "created_at": at,
            "attachments": [],
        }

    def add_attachment(self, conn: psycopg.Connection, event: RecordedEvent, meta: dict) -> None:
        d = event.data
        message = self.messages.get(d["message_id"])
        if message is not None:
            message["attachments"].append(meta)
            internal = message["kind"] == "internal_note"
        else:
            # To a message of an earlier statement (never within one command today).
            row = conn.execute(
                "UPDATE tickets.messages SET attachments = attachments || %s::jsonb"
                " WHERE message_id = %s RETURNING kind",
                (Jsonb([meta]), d["message_id"]),
            ).fetchone()
            internal = bool(row) and row["kind"] == "internal_note"
        self.links.append((d["attachment_id"], event.stream_id, d["message_id"], internal))

    def sql(self, returning: str = "", also: Sequence[str] = ()) -> str | None:
        ctes = [f"x{n} AS ({statement})" for n, statement in enumerate(also)]
        if self.messages:
            rows = []
            for message in self.messages.values():
                values = {**message, "attachments": Jsonb(message["attachments"])}
                rows.append(
                    "(" + ", ".join(self.param(values[c], t) for c, t in _MESSAGE_COLUMNS) + ")"
                )
            ctes.append(
                "m AS (INSERT INTO tickets.messages ("
                + ", ".join(c for c, _ in _MESSAGE_COLUMNS)
                + ") VALUES "
                + ", ".join(rows)
                + ")"
            )
        if self.links:
            rows = [
                f"({self.param(a, 'uuid')}, {self.param(t, 'uuid')},"
                f" {self.param(m, 'uuid')}, {self.param(i, 'boolean')})"
                for a, t, m, i in self.links
            ]
            ctes.append(
                "l AS (INSERT INTO tickets.attachment_links"
                " (attachment_id, ticket_id, message_id, internal) VALUES " + ", ".join(rows) + ")"
            )
        out = " RETURNING *" + (", " + returning if returning else "")
        if self.new_row:
            names = list(SUMMARY_COLUMNS)
            main = (
                "INSERT INTO tickets.ticket_summary ("
                + ", ".join(names)
                + ") VALUES ("
                + ", ".join(self.summary[n] for n in names)
                + ")"
                + out
            )
        elif self.summary:
            main = (
                "UPDATE tickets.ticket_summary SET "
                + ", ".join(f"{n} = {e}" for n, e in self.summary.items())
                + f" WHERE ticket_id = {self.param(self.stream_id, 'uuid')}"
                + out
            )
        elif ctes:
            main = "SELECT 1"
        else:
            return None
        return ("WITH " + ", ".join(ctes) + " " if ctes else "") + main

    def write(
        self,
        conn: psycopg.Connection,
        returning: str = "",
        params: dict | None = None,
        also: Sequence[str] = (),
    ):
        """Run the composed statement (if anything is to be written) and start over;
        the summary row as left by every event so far, or None if it was not written."""
        statement = self.sql(returning, also)
        row = None
        if statement is not None:
            row = conn.execute(statement, {**self.params, **(params or {})}).fetchone()
        self.params, self.summary, self.new_row = {}, {}, False
        self.messages, self.links = {}, []
        return row if isinstance(row, dict) and "ticket_id" in row else None


Projector = Callable[[psycopg.Connection, Projection, RecordedEvent], None]


def _status_case(p: Projection, when: str, then: str) -> str:
    status = p.col("status")
    return f"CASE WHEN {status} = '{when}' THEN '{then}' ELSE {status} END"


def _opened(conn, p: Projection, event: RecordedEvent) -> None:
    d = event.data
    p.insert_row(
        {
            "ticket_id": d["ticket_id"],
            "number": d["number"],
            "customer_id": d["customer_id"],
            "organisation_id": d.get("organisation_id"),
            "department": d["department"],
            "subject": d["subject"],
            "priority": d["priority"],
            "status": "unanswered",
            "needs_follow_up": d.get("needs_follow_up", False),
            "opened_at": d["opened_at"],
            "updated_at": d["opened_at"],
            "last_customer_message_at": d["opened_at"],
            "message_count": 1,
            "version": event.version,
        }
    )
    p.add_message(event, "opening", d["customer_id"], "customer", d["opened_at"])


def _claimed(conn, p, event):
    p.touch(
        conn,
        event,
        event.data["claimed_at"],
        {
            "assignee_id": p.param(event.data["agent_id"], "text"),
            "status": _status_case(p, "unanswered", "under_review"),
        },
    )


def _released(conn, p, event):
    p.touch(
        conn,
        event,
        event.data["released_at"],
        {"assignee_id": "NULL::text", "status": _status_case(p, "under_review", "unanswered")},
    )


def _reply(conn, p, event):
    d = event.data
    count = f"{p.col('message_count')} + 1"
    if d["author_role"] == "customer":
        changes = {
            "last_customer_message_at": p.param(d["posted_at"], "timestamptz"),
            "message_count": count,
            "status": _status_case(p, "answered", "unanswered"),
        }
    else:
        changes = {
            "last_agent_reply_at": p.param(d["posted_at"], "timestamptz"),
            "status": "'answered'::text",
            "message_count": count,
        }
    p.touch(conn, event, d["posted_at"], changes)
    p.add_message(event, "reply", d["author_id"], d["author_role"], d["posted_at"])


def _note(conn, p, event):
    d = event.data
    p.add_message(
        event, "internal_note", d["author_id"], d.get("author_role", "agent"), d["posted_at"]
    )
    p.touch(conn, event, d["posted_at"], {})


def _attachment(conn, p, event):
    d = event.data
    meta = {
        "attachment_id": d["attachment_id"],
        "name": d["name"],
        "size": d["size"],
        "content_type": d["content_type"],
        "sha256": d["sha256"],
    }
    p.add_attachment(conn, event, meta)
    p.touch(conn, event, d["added_at"], {})


def _transferred(conn, p, event):
    d = event.data
    p.touch(
        conn,
        event,
        d["transferred_at"],
        {
            "department": p.param(d["to_department"], "text"),
            "assignee_id": "NULL::text",
            "status": _status_case(p, "under_review", "unanswered"),
        },
    )


def _priority(conn, p, event):
    d = event.data
    p.touch(conn, event, d["changed_at"], {"priority": p.param(d["to_priority"], "text")})


def _closed(conn, p, event):
    d = event.data
    p.touch(
        conn,
        event,
        d["closed_at"],
        {"status": "'closed'::text", "closed_at": p.param(d["closed_at"], "timestamptz")},
    )


def _reopened(conn, p, event):
    d = event.data
    p.touch(
        conn,
        event,
        d["reopened_at"],
        {"status": "'unanswered'::text", "closed_at": "NULL::timestamptz"},
    )


def _merged(conn, p, event):
    d = event.data
    p.touch(
        conn,
        event,
        d["merged_at"],
        {
            "status": "'closed'::text",
            "closed_at": p.param(d["merged_at"], "timestamptz"),
            "merged_into": p.param(d["into_ticket_id"], "uuid"),
            "assignee_id": "NULL::text",
        },
    )


def _rated(conn, p, event):
    d = event.data
    p.touch(
        conn,
        event,
        d["rated_at"],
        {
            "rating": p.param(d["score"], "smallint"),
            "rating_comment": p.param(d.get("comment"), "text"),
        },
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


def project_many(
    conn: psycopg.Connection,
    events: Sequence[RecordedEvent],
    returning: str = "",
    params: dict[str, Any] | None = None,
    also: Sequence[str] = (),
) -> dict[str, Any] | None:
    """Apply events of one stream, in order, to the read models in (normally) one
    statement; the stream's ``ticket_summary`` row as they left it (``SELECT *``'s
    columns, plus the caller's ``returning`` expressions with their ``params``), or
    None when there were no events. ``also``: the caller's own writes of the same
    transaction (data-modifying statements, their named ``params`` in ``params``)
    sent as CTEs of that statement; they are written whatever becomes of the row.
    An unknown type is an error, not a skip: a silently skipped event would make the
    read models quietly wrong."""
    if not events:
        return None
    projectors = []
    for event in events:
        if event.stream_id != events[0].stream_id:
            raise ValueError("project_many takes the events of one stream")
        try:
            projectors.append(PROJECTORS[event.type])
        except KeyError as exc:
            raise LookupError(f"no projection for event type {event.type!r}") from exc
    projection = Projection(events[0].stream_id)
    for projector, event in zip(projectors, events, strict=True):
        projector(conn, projection, event)
    return projection.write(conn, returning, params, also)


def project(conn: psycopg.Connection, event: RecordedEvent) -> None:
    """Apply one event to the read models."""
    project_many(conn, [event])


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
