"""Read models of the tickets service, kept from the event log.

A command's read-model writes and its events INSERT are ONE statement
(``compose(events, append=...)``, the INSERT as its first CTE), so a reader never
sees a ticket whose read model lags its events; the statement also returns the
summary row (the command's answer). ``rebuild`` replays the whole log
into empty tables, one event at a time through the same projectors, and must give
the same rows (tests compare them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.eventlog import Append, EventStore, RecordedEvent
from pasokh_common.eventlog.store import APPEND_COLUMNS

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


# The condition every write of the statement that carries the events INSERT (the
# CTE ``e``, ``Projection(append=...)``) is guarded by: a refused append (the version
# guard inserted nothing) then writes nothing at all, even on an autocommit
# connection. Callers' ``also`` statements use it too (see ``Projection.write``).
WHEN_APPENDED = "EXISTS (SELECT 1 FROM e)"


class _Part:
    """The writes of one statement, as composed so far (see ``Projection``)."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        # column -> SQL expression over the row before the statement (an UPDATE), or
        # over nothing (a new row: every column is set); empty: the row is untouched.
        self.summary: dict[str, str] = {}
        self.new_row = False
        self.messages: dict[str, dict[str, Any]] = {}
        # (attachment_id, ticket_id, message_id, internal or None: as the stored message)
        self.links: list[tuple[Any, Any, Any, bool | None]] = []
        # attachments added to messages written by an earlier statement
        self.earlier: dict[str, list[dict]] = {}

    def __bool__(self) -> bool:
        return bool(self.summary or self.messages or self.links or self.earlier)

    def param(self, value: Any, sql_type: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s::{sql_type}"

    def sql(
        self,
        stream_id: str,
        returning: str,
        also: Sequence[str],
        append: Append | None,
        carries_append: bool,
    ) -> str | None:
        """The statement; with ``carries_append``, ``append``'s INSERT is its first CTE,
        every write is guarded by it and the rows are ``e`` joined with the summary."""
        guard = f" WHERE {WHEN_APPENDED}" if carries_append else ""
        ctes = [f"e AS ({append.sql})"] if carries_append and append is not None else []
        ctes += [f"x{n} AS ({statement})" for n, statement in enumerate(also)]
        for n, (message_id, metas) in enumerate(self.earlier.items()):
            ctes.append(
                f"u{n} AS (UPDATE tickets.messages SET attachments = attachments"
                f" || {self.param(Jsonb(metas), 'jsonb')}"
                f" WHERE message_id = {self.param(message_id, 'uuid')}"
                + (f" AND {WHEN_APPENDED}" if carries_append else "")
                + ")"
            )
        if self.messages:
            rows = []
            for message in self.messages.values():
                values = {**message, "attachments": Jsonb(message["attachments"])}
                rows.append(
                    "("
                    + ", ".join(
                        self._position(message, append, carries_append)
                        if c == "position"
                        else self.param(values[c], t)
                        for c, t in _MESSAGE_COLUMNS
                    )
                    + ")"
                )
            ctes.append(
                "m AS (INSERT INTO tickets.messages ("
                + ", ".join(c for c, _ in _MESSAGE_COLUMNS)
                + ") "
                + _rows(rows, guard)
                + ")"
            )
        if self.links:
            rows = [
                f"({self.param(a, 'uuid')}, {self.param(t, 'uuid')}, {self.param(m, 'uuid')},"
                + (
                    f" {self.param(i, 'boolean')})"
                    if i is not None
                    else " coalesce((SELECT kind = 'internal_note' FROM tickets.messages"
                    f" WHERE message_id = {self.param(m, 'uuid')}), false))"
                )
                for a, t, m, i in self.links
            ]
            ctes.append(
                "l AS (INSERT INTO tickets.attachment_links"
                " (attachment_id, ticket_id, message_id, internal) " + _rows(rows, guard) + ")"
            )
        out = " RETURNING *" + (", " + returning if returning else "")
        if self.new_row:
            names = list(SUMMARY_COLUMNS)
            values = ", ".join(self.summary[n] for n in names)
            main = (
                "INSERT INTO tickets.ticket_summary ("
                + ", ".join(names)
                + ") "
                + (f"SELECT {values}{guard}" if carries_append else f"VALUES ({values})")
                + out
            )
        elif self.summary:
            main = (
                "UPDATE tickets.ticket_summary SET "
                + ", ".join(f"{n} = {e}" for n, e in self.summary.items())
                + f" WHERE ticket_id = {self.param(stream_id, 'uuid')}"
                + (f" AND {WHEN_APPENDED}" if carries_append else "")
                + out
            )
        elif carries_append:
            main = ""
        elif ctes:
            main = "SELECT 1"
        else:
            return None
        if carries_append:
            if main:
                ctes.append(f"s AS ({main})")
                main = "SELECT e.*, s.* FROM e LEFT JOIN s ON true ORDER BY e.event_version"
            else:
                main = "SELECT e.* FROM e ORDER BY e.event_version"
        return ("WITH " + ", ".join(ctes) + " " if ctes else "") + main

    def _position(self, message: dict, append: Append | None, carries_append: bool) -> str:
        """The message's log position: known (the events were written before), or
        the one its event gets in this statement's ``e``, or in an earlier statement
        of the same append."""
        if append is None:
            return self.param(message["position"], "bigint")
        version = self.param(message["version"], "integer")
        if carries_append:
            return f"(SELECT event_position FROM e WHERE event_version = {version})"
        return (
            f"(SELECT position FROM {append.table}"
            f" WHERE stream_id = %(ev_stream)s AND version = {version})"
        )


def _rows(rows: list[str], guard: str) -> str:
    values = "VALUES " + ", ".join(rows)
    return f"SELECT * FROM ({values}) AS v{guard}" if guard else values


class Projection:
    """What a run of events of ONE stream does to the read models, composed in Python
    (pure: no round trip) into one statement: the ``ticket_summary`` row as one
    INSERT or UPDATE whose expressions apply the events in order (each event's
    assignments read the row as the events before it left it), the new messages and
    attachment links as data-modifying CTEs of it, ``RETURNING`` the row as every
    event left it. Used for one event (``project``, the rebuild) and for all events of
    a command (``project_many``) alike, so both give the same rows.

    With ``append`` (``EventStore.prepare_append`` of the same events, composed before
    they are in the log), the events INSERT is the first CTE ``e`` of the statement:
    the command writes with ONE statement, the messages take their position from
    ``e``, and every write is guarded by ``WHEN_APPENDED``, so an append the version
    guard refused writes nothing (``write`` then raises ``ConcurrencyConflict``).
    The events are then ``RecordedEvent``s whose position, xid and recorded_at are
    not known yet (any value); ``recorded`` has them once written.

    A run whose expressions grow too long is written in several statements, in order
    (``statements``); they are composed first and run by ``write``, so a caller can
    wrap them in a transaction when there is more than one."""

    def __init__(self, stream_id: str, append: Append | None = None) -> None:
        self.stream_id = stream_id
        self.append = append
        self.part = _Part()
        self.parts: list[_Part] = []
        self.recorded: list[RecordedEvent] = []

    @property
    def statements(self) -> int:
        """How many statements ``write`` will run (the last may be empty and skipped)."""
        return len(self.parts) + 1

    def param(self, value: Any, sql_type: str) -> str:
        return self.part.param(value, sql_type)

    def col(self, name: str) -> str:
        """The column's value as the events so far left it."""
        return self.part.summary.get(name, name)

    def insert_row(self, values: dict[str, Any]) -> None:
        self.part.new_row = True
        self.part.summary = {
            name: "NULL::" + sql_type
            if values.get(name) is None
            else self.param(values[name], sql_type)
            for name, sql_type in SUMMARY_COLUMNS.items()
        }

    def touch(self, event: RecordedEvent, at: Any, assignments: dict[str, str]) -> None:
        """One event's UPDATE: ``assignments`` were computed from ``col`` (the row
        before this event), plus ``updated_at`` and ``version``."""
        changed = {
            **assignments,
            "updated_at": self.param(at, "timestamptz"),
            "version": self.param(event.version, "integer"),
        }
        part = self.part
        part.summary.update({name: f"({expr})" for name, expr in changed.items()})
        if not part.new_row and any(len(e) > _MAX_EXPRESSION for e in part.summary.values()):
            self.parts.append(part)
            self.part = _Part()

    def add_message(
        self, event: RecordedEvent, kind: str, author_id: str, author_role: str, at: Any
    ) -> None:
        self.part.messages[event.data["message_id"]] = {
            "message_id": event.data["message_id"],
            "ticket_id": event.stream_id,
            "position": event.position,
            "version": event.version,
            "kind": kind,
            "author_id": author_id,
            "author_role": author_role,
            "body": event.data["body"],
            "created_at": at,
            "attachments": [],
        }

    def add_attachment(self, event: RecordedEvent, meta: dict) -> None:
        d = event.data
        message = self.part.messages.get(d["message_id"])
        if message is not None:
            message["attachments"].append(meta)
            internal: bool | None = message["kind"] == "internal_note"
        else:
            # To a message of an earlier statement (the rebuild; never within one
            # command today): its row is updated, and read, by this statement.
            self.part.earlier.setdefault(d["message_id"], []).append(meta)
            internal = None
        self.part.links.append((d["attachment_id"], event.stream_id, d["message_id"], internal))

    def write(
        self,
        conn: psycopg.Connection,
        returning: str = "",
        params: dict | None = None,
        also: Sequence[str] = (),
    ):
        """Run the composed statements in order and start over; the summary row as
        left by every event, or None if it was not written. ``returning`` (with the
        caller's ``params``) is added to the last statement; ``also`` (the caller's
        own writes, e.g. the idempotency record) to the first, the one that carries
        the append: there they must be guarded by ``WHEN_APPENDED`` too."""
        parts = [*self.parts, self.part]
        self.parts, self.part = [], _Part()
        append = self.append
        row = None
        for n, part in enumerate(parts):
            carries = append is not None and n == 0
            last = n == len(parts) - 1
            statement = part.sql(
                self.stream_id, returning if last else "", also if n == 0 else (), append, carries
            )
            if statement is None:
                continue
            values = {**part.params, **(params or {})}
            if append is not None:
                values.update(append.params)
            try:
                rows = conn.execute(statement, values).fetchall()
            except psycopg.errors.UniqueViolation as exc:
                refusal = append.refusal(exc) if carries and append is not None else None
                if refusal is None:
                    raise
                raise refusal from exc
            if carries and append is not None:
                self.recorded = append.recorded(rows)  # or ConcurrencyConflict
                rows = [{k: v for k, v in r.items() if k not in APPEND_COLUMNS} for r in rows]
            if last:
                row = rows[-1] if rows else None
        if isinstance(row, dict) and row.get("ticket_id") is not None:
            return row
        return None


Projector = Callable[[Projection, RecordedEvent], None]


def _status_case(p: Projection, when: str, then: str) -> str:
    status = p.col("status")
    return f"CASE WHEN {status} = '{when}' THEN '{then}' ELSE {status} END"


def _opened(p: Projection, event: RecordedEvent) -> None:
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


def _claimed(p, event):
    p.touch(
        event,
        event.data["claimed_at"],
        {
            "assignee_id": p.param(event.data["agent_id"], "text"),
            "status": _status_case(p, "unanswered", "under_review"),
        },
    )


def _released(p, event):
    p.touch(
        event,
        event.data["released_at"],
        {"assignee_id": "NULL::text", "status": _status_case(p, "under_review", "unanswered")},
    )


def _reply(p, event):
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
    p.touch(event, d["posted_at"], changes)
    p.add_message(event, "reply", d["author_id"], d["author_role"], d["posted_at"])


def _note(p, event):
    d = event.data
    p.add_message(
        event, "internal_note", d["author_id"], d.get("author_role", "agent"), d["posted_at"]
    )
    p.touch(event, d["posted_at"], {})


def _attachment(p, event):
    d = event.data
    meta = {
        "attachment_id": d["attachment_id"],
        "name": d["name"],
        "size": d["size"],
        "content_type": d["content_type"],
        "sha256": d["sha256"],
    }
    p.add_attachment(event, meta)
    p.touch(event, d["added_at"], {})


def _transferred(p, event):
    d = event.data
    p.touch(
        event,
        d["transferred_at"],
        {
            "department": p.param(d["to_department"], "text"),
            "assignee_id": "NULL::text",
            "status": _status_case(p, "under_review", "unanswered"),
        },
    )


def _priority(p, event):
    d = event.data
    p.touch(event, d["changed_at"], {"priority": p.param(d["to_priority"], "text")})


def _closed(p, event):
    d = event.data
    p.touch(
        event,
        d["closed_at"],
        {"status": "'closed'::text", "closed_at": p.param(d["closed_at"], "timestamptz")},
    )


def _reopened(p, event):
    d = event.data
    p.touch(
        event,
        d["reopened_at"],
        {"status": "'unanswered'::text", "closed_at": "NULL::timestamptz"},
    )


def _merged(p, event):
    d = event.data
    p.touch(
        event,
        d["merged_at"],
        {
            "status": "'closed'::text",
            "closed_at": p.param(d["merged_at"], "timestamptz"),
            "merged_into": p.param(d["into_ticket_id"], "uuid"),
            "assignee_id": "NULL::text",
        },
    )


def _rated(p, event):
    d = event.data
    p.touch(
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


def compose(events: Sequence[RecordedEvent], append: Append | None = None) -> Projection:
    """The read-model writes of events of one stream, in order, composed (pure: no
    round trip); ``append``: see ``Projection``. An unknown type is an error, not a
    skip: a silently skipped event would make the read models quietly wrong."""
    if not events:
        raise ValueError("nothing to project")
    projectors = []
    for event in events:
        if event.stream_id != events[0].stream_id:
            raise ValueError("project_many takes the events of one stream")
        try:
            projectors.append(PROJECTORS[event.type])
        except KeyError as exc:
            raise LookupError(f"no projection for event type {event.type!r}") from exc
    projection = Projection(events[0].stream_id, append)
    for projector, event in zip(projectors, events, strict=True):
        projector(projection, event)
    return projection


def project_many(
    conn: psycopg.Connection,
    events: Sequence[RecordedEvent],
    returning: str = "",
    params: dict[str, Any] | None = None,
    also: Sequence[str] = (),
) -> dict[str, Any] | None:
    """Apply events of one stream (already in the log), in order, to the read models
    in (normally) one statement; the stream's ``ticket_summary`` row as they left it
    (``SELECT *``'s columns, plus the caller's ``returning`` expressions with their
    ``params``), or None when there were no events. ``also``: the caller's own writes
    of the same transaction (data-modifying statements, their named ``params`` in
    ``params``) sent as CTEs of that statement; they are written whatever becomes of
    the row."""
    if not events:
        return None
    return compose(events).write(conn, returning, params, also)


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
