"""Every SQL statement of notify, each a small function over the caller's connection.

State changes of a message that is being sent are *fenced*: they apply only while the
row is still ``sending`` with the attempt number the sender claimed. A sender that
outlived its lease (and whose message another process has since taken over) changes
nothing, so two processes can never both record an outcome.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common import json_rows
from pasokh_common.consumer import lock_advisory

import psycopg
from psycopg.types.json import Jsonb

from services.notify.domain.planning import TicketInfo
from services.notify.domain.rate_limit import Bucket

Row = dict[str, Any]

# -- templates -----------------------------------------------------------------------


def list_templates(conn: psycopg.Connection) -> list[Row]:
    return conn.execute(
        "SELECT template, language, body, updated_at, updated_by FROM notify.templates"
        " ORDER BY template, language"
    ).fetchall()


def save_template(
    conn: psycopg.Connection, template: str, language: str, body: str, by: str, at: datetime
) -> None:
    conn.execute(
        "INSERT INTO notify.templates (template, language, body, updated_at, updated_by)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (template, language) DO UPDATE SET"
        " body = EXCLUDED.body, updated_at = EXCLUDED.updated_at,"
        " updated_by = EXCLUDED.updated_by",
        (template, language, body, at, by),
    )


# -- tickets and departments, as events told us ----------------------------------------


def lock_ticket(conn: psycopg.Connection, ticket_id: str) -> None:
    """Serialise a ticket's TicketOpened with the events that may overtake it, so an
    event held while the ticket is unknown is always seen by the TicketOpened."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"notify:{ticket_id}",))


def lock_tickets(conn: psycopg.Connection, ticket_ids: Iterable[str]) -> None:
    """``lock_ticket`` for all of a batch's tickets at once, in a fixed order (two
    batches of different handlers then never deadlock on them)."""
    lock_advisory(conn, (f"notify:{ticket_id}" for ticket_id in ticket_ids))


def record_tickets_and_take_held(
    conn: psycopg.Connection, tickets: list[tuple[TicketInfo, str]], messages: list[Row]
) -> list[Row]:
    """TicketOpened of many tickets (``(ticket, opened_at)`` each, one entry per
    ticket) in ONE statement: their rows (once), their TicketOpened's ``messages``
    (as ``insert_messages``), and every event held for any of them, taken (deleted)
    and returned with its ``ticket_id``. Call it under all their locks
    (``lock_tickets``) in a later statement: its snapshot is then taken after any
    event held by a transaction that had one of the locks before."""
    if not tickets:
        return []
    return conn.execute(
        _RECORD_TICKETS,
        {
            "tickets": json_rows.dumps(
                [
                    (t.ticket_id, t.number, t.customer_id, t.department, opened_at)
                    for t, opened_at in tickets
                ]
            ),
            "messages": _messages_json(messages),
            "held_of": [ticket.ticket_id for ticket, _ in tickets],
        },
    ).fetchall()


def find_ticket_or_lock(conn: psycopg.Connection, ticket_id: str) -> TicketInfo | None:
    """The ticket if recorded (committed, so its TicketOpened has taken every held
    event); else None, with the ticket's lock (``lock_ticket``) taken by the same
    statement. Under the lock, ``find_ticket_or_hold`` then looks again."""
    row = conn.execute(
        "SELECT t.ticket_id, t.number, t.customer_id, t.department,"
        " CASE WHEN t.ticket_id IS NULL THEN pg_advisory_xact_lock(hashtextextended(%s, 0))"
        " END AS locked FROM (SELECT 1) AS one"
        " LEFT JOIN notify.tickets t ON t.ticket_id = %s",
        (f"notify:{ticket_id}", ticket_id),
    ).fetchone()
    if row["ticket_id"] is None:
        return None
    return TicketInfo(row["ticket_id"], row["number"], row["customer_id"], row["department"])


def find_ticket_or_hold(conn: psycopg.Connection, values: dict) -> TicketInfo | None:
    """Under the ticket's lock: the ticket, or None after holding the event (its
    ``event_id``, ``ticket_id``, ``event_type``, ``author_role``, ``correlation_id``)
    for its TicketOpened, in one statement (``notify.held_ticket_events``). Its snapshot is
    taken after the lock, so it sees the ticket of a TicketOpened that had the lock
    before, and a TicketOpened after it sees what it held."""
    row = conn.execute(
        "WITH found AS (SELECT ticket_id, number, customer_id, department"
        " FROM notify.tickets WHERE ticket_id = %(ticket_id)s),"
        " held AS (INSERT INTO notify.held_ticket_events (event_id, ticket_id, event_type,"
        " author_role, correlation_id) SELECT %(event_id)s::uuid, %(held_of)s::uuid,"
        " %(event_type)s, %(author_role)s, %(correlation_id)s"
        " WHERE NOT EXISTS (SELECT 1 FROM found) ON CONFLICT (event_id) DO NOTHING)"
        " SELECT * FROM found",
        {**values, "held_of": values["ticket_id"]},
    ).fetchone()
    return TicketInfo(**row) if row else None


def find_ticket(conn: psycopg.Connection, ticket_id: str) -> TicketInfo | None:
    row = conn.execute(
        "SELECT ticket_id, number, customer_id, department FROM notify.tickets"
        " WHERE ticket_id = %s",
        (ticket_id,),
    ).fetchone()
    return TicketInfo(**row) if row else None


def record_membership(
    conn: psycopg.Connection,
    user_id: str,
    department_id: str,
    role: str | None,
    active: bool,
    at: str,
) -> None:
    """Later facts win; an older event arriving late (separate queues) changes nothing."""
    conn.execute(
        "INSERT INTO notify.department_members (user_id, department_id, role, active,"
        " changed_at) VALUES (%(user_id)s, %(department_id)s, coalesce(%(role)s, 'agent'),"
        " %(active)s, %(at)s) ON CONFLICT (user_id, department_id) DO UPDATE SET"
        " role = coalesce(%(role)s, notify.department_members.role),"
        " active = EXCLUDED.active, changed_at = EXCLUDED.changed_at"
        " WHERE notify.department_members.changed_at <= EXCLUDED.changed_at",
        {
            "user_id": user_id,
            "department_id": department_id,
            "role": role,
            "active": active,
            "at": at,
        },
    )


def department_supervisors(conn: psycopg.Connection, department_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT user_id FROM notify.department_members WHERE department_id = %s"
        " AND active AND role = 'supervisor' ORDER BY user_id",
        (department_id,),
    ).fetchall()
    return [r["user_id"] for r in rows]


# -- messages: creation ------------------------------------------------------------------


_MESSAGE_COLUMNS = (
    "message_id, idempotency_key, template, language, urgent, user_id, ticket_id,"
    " cause_event_id, correlation_id, params, recipient, provider, state, attempts,"
    " next_attempt_at, lease_until, expires_at, created_at, updated_at"
)
_MESSAGE_ROW = (
    "(%(message_id)s, %(idempotency_key)s, %(template)s, %(language)s, %(urgent)s,"
    " %(user_id)s, %(ticket_id)s, %(cause_event_id)s, %(correlation_id)s, %(params)s,"
    " %(recipient)s, %(provider)s, %(state)s, %(attempts)s, %(next_attempt_at)s,"
    " %(lease_until)s, %(expires_at)s, %(created_at)s, %(created_at)s)"
)


def insert_message(conn: psycopg.Connection, values: Row) -> bool:
    """False when a message with this idempotency key exists (a repeat)."""
    return insert_messages(conn, [values]) == 1


def insert_messages(conn: psycopg.Connection, messages: list[Row]) -> int:
    """Several messages in one statement; returns how many were new (a repeated
    idempotency key adds nothing)."""
    if not messages:
        return 0
    return conn.execute(_INSERT_MESSAGES, {"messages": _messages_json(messages)}).rowcount


_MESSAGE_SPEC = json_rows.columns(
    "message_id uuid, idempotency_key text, template text, language text, urgent boolean,"
    " user_id text, ticket_id text, cause_event_id text, correlation_id text, params jsonb,"
    " recipient text, provider text, state text, attempts int, next_attempt_at timestamptz,"
    " lease_until timestamptz, expires_at timestamptz, created_at timestamptz"
)
# A batch of messages (``_messages_json``), of one text whatever its size (``json_rows``).
_INSERT_MESSAGES = (
    "INSERT INTO notify.messages ("
    + json_rows.names(_MESSAGE_SPEC)
    + ", updated_at) SELECT *, w.created_at FROM ("
    + json_rows.select(_MESSAGE_SPEC, "%(messages)s")
    + ") AS w ON CONFLICT (idempotency_key) DO NOTHING"
)
_TICKET_SPEC = json_rows.columns(
    "ticket_id text, number text, customer_id text, department text, opened_at timestamptz"
)
_RECORD_TICKETS = (
    "WITH recorded AS (INSERT INTO notify.tickets ("
    + json_rows.names(_TICKET_SPEC)
    + ") "
    + json_rows.select(_TICKET_SPEC, "%(tickets)s")
    + " ON CONFLICT (ticket_id) DO NOTHING), queued AS ("
    + _INSERT_MESSAGES
    + ") DELETE FROM notify.held_ticket_events WHERE ticket_id = ANY(%(held_of)s::uuid[])"
    " RETURNING ticket_id::text AS ticket_id, event_id::text AS event_id, event_type,"
    " author_role, correlation_id"
)


def _messages_json(messages: list[Row]) -> str:
    """``notify.messages`` rows (as ``Intake.rows`` makes them) as ``_INSERT_MESSAGES``
    takes them; ``params`` may be left out (empty)."""
    return json_rows.dumps(
        [
            [m.get(name) or {} if name == "params" else m[name] for name, _ in _MESSAGE_SPEC]
            for m in messages
        ]
    )


def insert_code_message(conn: psycopg.Connection, values: Row) -> Row | None:
    """A verification code's message, returned with its template's bodies by
    language (``template_bodies``, as ``claim_due`` gives them); None when a message
    with this idempotency key exists (a redelivered request: ``find_by_key``)."""
    params = {**values, "params": Jsonb(values.get("params") or {})}
    return conn.execute(
        f"INSERT INTO notify.messages AS m ({_MESSAGE_COLUMNS}) VALUES {_MESSAGE_ROW}"
        " ON CONFLICT (idempotency_key) DO NOTHING RETURNING m.*,"
        " (SELECT jsonb_object_agg(t.language, t.body) FROM notify.templates t"
        " WHERE t.template = m.template) AS template_bodies",
        params,
    ).fetchone()


def find_by_key(conn: psycopg.Connection, key: str) -> Row | None:
    return conn.execute(
        "SELECT * FROM notify.messages WHERE idempotency_key = %s", (key,)
    ).fetchone()


# -- messages: the sender's claims -------------------------------------------------------


def take_stale(conn: psycopg.Connection, now: datetime, limit: int) -> list[Row]:
    """Messages left ``sending`` by a sender that died: lock them for the sweep."""
    return conn.execute(
        "SELECT * FROM notify.messages WHERE state = 'sending' AND lease_until < %s"
        " ORDER BY lease_until LIMIT %s FOR UPDATE SKIP LOCKED",
        (now, limit),
    ).fetchall()


def requeue_uncertain(conn: psycopg.Connection, message_id: Any, now: datetime) -> None:
    conn.execute(
        "UPDATE notify.messages SET state = 'queued', uncertain = true, lease_until = NULL,"
        " next_attempt_at = %s, last_error = 'sender stopped during the provider call',"
        " updated_at = %s WHERE message_id = %s",
        (now, now, message_id),
    )


def take_expired(conn: psycopg.Connection, now: datetime, limit: int) -> list[Row]:
    return conn.execute(
        "SELECT * FROM notify.messages WHERE state = 'queued' AND expires_at < %s"
        " LIMIT %s FOR UPDATE SKIP LOCKED",
        (now, limit),
    ).fetchall()


def has_due(conn: psycopg.Connection, now: datetime) -> bool:
    """Cheap check first, so an idle tick touches no rate-limit row."""
    row = conn.execute(
        "SELECT 1 AS due FROM notify.messages WHERE state = 'queued' AND next_attempt_at <= %s"
        " LIMIT 1",
        (now,),
    ).fetchone()
    return row is not None


def claim_due(
    conn: psycopg.Connection,
    now: datetime,
    limit: int,
    provider: str,
    lease_until: datetime,
    bucket: Bucket | None = None,
) -> list[Row]:
    """Up to ``limit`` due messages, urgent first then oldest due, marked ``sending``
    with a lease and the next attempt number. Concurrent claimers skip each other's
    rows (SKIP LOCKED), so a message is claimed by one process at a time.

    Each row comes with ``template_bodies`` (its template's body by language, read
    by the same statement, so an admin's edit applies from the next claim on). With
    ``bucket`` (the provider's bucket after ``limit`` tokens were taken, its row
    locked by ``lock_bucket``), the same statement stores it, with the tokens of the
    messages it did not find given back."""
    if limit <= 0:
        return []
    params = {"now": now, "limit": limit, "lease": lease_until, "provider": provider}
    save = ""
    if bucket is not None:
        save = (
            ", saved AS (UPDATE notify.rate_limits SET tokens = %(tokens)s + %(limit)s"
            " - (SELECT count(*) FROM claimed), refilled_at = %(refilled_at)s"
            " WHERE provider = %(provider)s)"
        )
        params.update(tokens=bucket.tokens, refilled_at=bucket.refilled_at)
    return conn.execute(
        "WITH due AS (SELECT message_id FROM notify.messages WHERE state = 'queued'"
        " AND next_attempt_at <= %(now)s ORDER BY urgent DESC, next_attempt_at"
        " LIMIT %(limit)s FOR UPDATE SKIP LOCKED),"
        " claimed AS (UPDATE notify.messages m SET state = 'sending',"
        " attempts = m.attempts + 1, lease_until = %(lease)s, provider = %(provider)s,"
        " updated_at = %(now)s FROM due WHERE m.message_id = due.message_id RETURNING m.*)"
        + save
        + " SELECT c.*, (SELECT jsonb_object_agg(t.language, t.body) FROM notify.templates t"
        " WHERE t.template = c.template) AS template_bodies FROM claimed c"
        " ORDER BY c.urgent DESC, c.next_attempt_at",
        params,
    ).fetchall()


def bodies_of(rows: list[Row]) -> dict[tuple[str, str], str]:
    """The template bodies ``claim_due`` returned with its rows, as ``template_bodies``
    gives them."""
    bodies: dict[tuple[str, str], str] = {}
    for row in rows:
        for language, body in (row.get("template_bodies") or {}).items():
            bodies[(row["template"], language)] = body
    return bodies


def fix_text(conn: psycopg.Connection, message: Row) -> bool:
    """Store recipient and text before the provider call, so a reconciliation after a
    crash looks for exactly what was sent (Twilio matches by number and text)."""
    return message["message_id"] in fix_texts(conn, [message])


def fix_texts(conn: psycopg.Connection, messages: list[Row]) -> set[Any]:
    """``fix_text`` for several messages in one statement (atomic even on an autocommit
    connection); returns the ids of those still ``sending`` under their claim (fenced
    like every change of a message being sent)."""
    if not messages:
        return set()
    rows = conn.execute(
        "UPDATE notify.messages m SET recipient = v.recipient, body = v.body,"
        " language = v.language, encoding = v.encoding, parts = v.parts"
        " FROM unnest(%s::uuid[], %s::int[], %s::text[], %s::text[], %s::text[],"
        " %s::text[], %s::int[]) AS v(message_id, attempts, recipient, body, language,"
        " encoding, parts)"
        " WHERE m.message_id = v.message_id AND m.state = 'sending'"
        " AND m.attempts = v.attempts RETURNING m.message_id",
        (
            [m["message_id"] for m in messages],
            [m["attempts"] for m in messages],
            [m["recipient"] for m in messages],
            [m["body"] for m in messages],
            [m["language"] for m in messages],
            [m["encoding"] for m in messages],
            [m["parts"] for m in messages],
        ),
    ).fetchall()
    return {r["message_id"] for r in rows}


_FENCE = " WHERE message_id = %(message_id)s AND state = 'sending' AND attempts = %(fence)s"


def fail_unsent(conn: psycopg.Connection, message_id: Any, reason: str, now: datetime) -> None:
    """For the sweep (rows it holds locked): expired or interrupted messages."""
    conn.execute(
        "UPDATE notify.messages SET state = 'failed', failure_reason = %s, lease_until = NULL,"
        " failed_at = %s, updated_at = %s WHERE message_id = %s",
        (reason, now, now, message_id),
    )


def release(conn: psycopg.Connection, message: Row, at: datetime, error: str) -> bool:
    """Give back a claimed message that was not attempted (its attempt is not counted)."""
    cursor = conn.execute(
        "UPDATE notify.messages SET state = 'queued', attempts = attempts - 1,"
        " lease_until = NULL, next_attempt_at = %(at)s, last_error = %(error)s,"
        " updated_at = %(at)s" + _FENCE,
        {
            "message_id": message["message_id"],
            "fence": message["attempts"],
            "at": at,
            "error": error,
        },
    )
    return cursor.rowcount == 1


_columns = json_rows.columns
_COMMON = _columns("message_id uuid, fence int, attempts int, now timestamptz, error text")
_OUTCOMES = {
    "sent": (
        _columns("provider_id text, recipient text, language text, encoding text, parts int"),
        "state = 'sent', provider_message_id = v.provider_id, recipient = v.recipient,"
        " language = v.language, encoding = v.encoding, parts = v.parts,"
        " attempts = v.attempts, uncertain = false, lease_until = NULL, last_error = NULL,"
        " sent_at = v.now, updated_at = v.now",
    ),
    "retry": (
        _columns("at timestamptz, uncertain boolean"),
        "state = 'queued', next_attempt_at = v.at, uncertain = v.uncertain,"
        " attempts = v.attempts, lease_until = NULL, last_error = v.error,"
        " updated_at = v.now",
    ),
    "failed": (
        _columns("reason text"),
        "state = 'failed', failure_reason = v.reason, last_error = v.error,"
        " attempts = v.attempts, lease_until = NULL, failed_at = v.now, updated_at = v.now",
    ),
}
_ATTEMPT = _columns(
    "message_id uuid, attempt int, provider text, action text, outcome text, reason text,"
    " detail text, started_at timestamptz, finished_at timestamptz"
)
_EVENT = _columns(
    "message_id uuid, stream_id text, event_id uuid, event_type text, schema_version int,"
    " data jsonb, metadata jsonb"
)


def _outcomes_sql(columns: tuple, assignments: str) -> str:
    """``record_outcomes``' statement for one kind of change: one text whatever the
    batch (``json_rows``); attempts or events it does not have are empty arrays."""
    return (
        "WITH v AS ("
        + json_rows.select(columns, "%(values)s")
        + f"), changed AS (UPDATE notify.messages m SET {assignments} FROM v"
        " WHERE m.message_id = v.message_id AND m.state = 'sending'"
        " AND m.attempts = v.fence RETURNING m.message_id),"
        " tried AS (INSERT INTO notify.attempts ("
        + ", ".join(n for n, _ in _ATTEMPT)
        + ") "
        + json_rows.select(_ATTEMPT, "%(attempts)s")
        + " ON CONFLICT DO NOTHING),"
        " announced AS (INSERT INTO notify.events (stream_id, version, event_id,"
        " event_type, schema_version, data, metadata) SELECT e.stream_id,"
        " (SELECT coalesce(max(x.version), 0) + 1 FROM notify.events x"
        " WHERE x.stream_id = e.stream_id), e.event_id, e.event_type, e.schema_version,"
        " e.data, e.metadata FROM ("
        + json_rows.select(_EVENT, "%(events)s")
        + ") AS e JOIN changed c ON c.message_id = e.message_id ORDER BY e.stream_id)"
        " SELECT message_id FROM changed"
    )


_RECORD_OUTCOMES = {
    change: (_COMMON + extra, _outcomes_sql(_COMMON + extra, assignments))
    for change, (extra, assignments) in _OUTCOMES.items()
}


def _rows(columns: tuple, rows: Iterable[Row]) -> str:
    """``rows`` (dicts by column name) as ``json_rows`` takes them."""
    return json_rows.dumps([[row[name] for name, _ in columns] for row in rows])


def record_outcomes(conn: psycopg.Connection, change: str, outcomes: list[Row]) -> set[Any]:
    """The outcomes of attempts, all of one ``change`` (sent, retry or failed), in one
    statement (atomic even on an autocommit connection). Each outcome is ``values``
    (the message, its ``fence``, the new attempt count, ``now``, ``error`` and what the
    change needs), its ``attempts`` records (always written) and the ``event``
    (``recorder.event_row``) appended to the message's stream only if its fenced state
    change applied. Returns the ids of the messages whose change applied; the others
    were taken over after their lease ran out.

    An event's version is its stream's head + 1, read by the same statement: only the
    sender holding the claim (the fence) appends to a message's stream while it is
    ``sending``, so no concurrent append can race it."""
    if not outcomes:
        return set()
    columns, statement = _RECORD_OUTCOMES[change]
    rows = conn.execute(
        statement,
        {
            "values": _rows(columns, (o["values"] for o in outcomes)),
            "attempts": _rows(_ATTEMPT, (a for o in outcomes for a in o["attempts"])),
            "events": _rows(_EVENT, (o["event"] for o in outcomes if o.get("event") is not None)),
        },
    ).fetchall()
    return {r["message_id"] for r in rows}


def provider_ids_of_others(
    conn: psycopg.Connection, recipient: str, provider: str, since: datetime, message_id: Any
) -> list[str]:
    # updated_at, not created_at: an older message sent after ``since`` also owns its id.
    rows = conn.execute(
        "SELECT provider_message_id FROM notify.messages WHERE recipient = %s"
        " AND provider = %s AND provider_message_id IS NOT NULL AND updated_at >= %s"
        " AND message_id <> %s",
        (recipient, provider, since, message_id),
    ).fetchall()
    return [r["provider_message_id"] for r in rows]


# -- delivery reports ---------------------------------------------------------------------


def awaiting_report(
    conn: psycopg.Connection, provider: str, sent_after: datetime, limit: int
) -> list[Row]:
    return conn.execute(
        "SELECT * FROM notify.messages WHERE state = 'sent' AND provider = %s"
        " AND sent_at >= %s AND provider_message_id IS NOT NULL"
        " ORDER BY status_checked_at NULLS FIRST LIMIT %s",
        (provider, sent_after, limit),
    ).fetchall()


def mark_checked(conn: psycopg.Connection, message_ids: list[Any], now: datetime) -> None:
    conn.execute(
        "UPDATE notify.messages SET status_checked_at = %s WHERE message_id = ANY(%s)",
        (now, message_ids),
    )


def mark_delivery(
    conn: psycopg.Connection, message_id: Any, delivered: bool, now: datetime
) -> bool:
    if delivered:
        query = (
            "UPDATE notify.messages SET state = 'delivered', delivered_at = %s, updated_at = %s"
            " WHERE message_id = %s AND state = 'sent'"
        )
    else:
        query = (
            "UPDATE notify.messages SET state = 'failed', failure_reason = 'undelivered',"
            " failed_at = %s, updated_at = %s WHERE message_id = %s AND state = 'sent'"
        )
    return conn.execute(query, (now, now, message_id)).rowcount == 1


def count_queued(conn: psycopg.Connection) -> int:
    return conn.execute(
        "SELECT count(*) AS n FROM notify.messages WHERE state = 'queued'"
    ).fetchone()["n"]


# -- queries -----------------------------------------------------------------------------

_VIEW = (
    "SELECT message_id, template, language, user_id, ticket_id, state, failure_reason,"
    " recipient, provider, provider_message_id, encoding, parts, attempts, urgent,"
    " created_at, sent_at, delivered_at, failed_at, next_attempt_at FROM notify.messages"
)


def messages_for_ticket(conn: psycopg.Connection, ticket_id: str, limit: int) -> list[Row]:
    return conn.execute(
        _VIEW + " WHERE ticket_id = %s ORDER BY created_at, message_id LIMIT %s",
        (ticket_id, limit),
    ).fetchall()


def messages_for_user(conn: psycopg.Connection, user_id: str, limit: int) -> list[Row]:
    return conn.execute(
        _VIEW + " WHERE user_id = %s ORDER BY created_at DESC, message_id LIMIT %s",
        (user_id, limit),
    ).fetchall()


# -- rate limit buckets ------------------------------------------------------------------


def lock_bucket(conn: psycopg.Connection, provider: str, now: datetime, burst: float) -> Bucket:
    """The provider's bucket, row-locked until the transaction ends (created full).
    One statement: the no-op update on conflict locks the row like ``FOR UPDATE`` and
    returns its latest committed values."""
    row = conn.execute(
        "INSERT INTO notify.rate_limits AS r (provider, tokens, refilled_at)"
        " VALUES (%s, %s, %s) ON CONFLICT (provider) DO UPDATE SET tokens = r.tokens"
        " RETURNING tokens, refilled_at",
        (provider, burst, now),
    ).fetchone()
    return Bucket(float(row["tokens"]), row["refilled_at"])


def save_bucket(conn: psycopg.Connection, provider: str, bucket: Bucket) -> None:
    conn.execute(
        "UPDATE notify.rate_limits SET tokens = %s, refilled_at = %s WHERE provider = %s",
        (bucket.tokens, bucket.refilled_at, provider),
    )


def params_of(row: Row) -> dict[str, str]:
    params = row.get("params") or {}
    return json.loads(params) if isinstance(params, str) else dict(params)
