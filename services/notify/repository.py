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
from pasokh_common.consumer import lock_advisory

import psycopg
from psycopg.types.json import Jsonb

from services.notify.domain.planning import TicketInfo
from services.notify.domain.rate_limit import Bucket

Row = dict[str, Any]

# -- templates -----------------------------------------------------------------------


def template_bodies(conn: psycopg.Connection) -> dict[tuple[str, str], str]:
    rows = conn.execute("SELECT template, language, body FROM notify.templates").fetchall()
    return {(r["template"], r["language"]): r["body"] for r in rows}


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


def record_ticket(conn: psycopg.Connection, ticket: TicketInfo, opened_at: str) -> None:
    conn.execute(
        "INSERT INTO notify.tickets (ticket_id, number, customer_id, department, opened_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (ticket_id) DO NOTHING",
        (ticket.ticket_id, ticket.number, ticket.customer_id, ticket.department, opened_at),
    )


def lock_ticket(conn: psycopg.Connection, ticket_id: str) -> None:
    """Serialise a ticket's TicketOpened with the events that may overtake it, so an
    event held while the ticket is unknown is always seen by the TicketOpened."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"notify:{ticket_id}",))


def lock_tickets(conn: psycopg.Connection, ticket_ids: Iterable[str]) -> None:
    """``lock_ticket`` for all of a batch's tickets at once, in a fixed order (two
    batches of different handlers then never deadlock on them)."""
    lock_advisory(conn, (f"notify:{ticket_id}" for ticket_id in ticket_ids))


def hold_ticket_event(conn: psycopg.Connection, values: dict) -> None:
    conn.execute(
        "INSERT INTO notify.held_ticket_events (event_id, ticket_id, event_type, author_role,"
        " correlation_id) VALUES (%(event_id)s, %(ticket_id)s, %(event_type)s,"
        " %(author_role)s, %(correlation_id)s) ON CONFLICT (event_id) DO NOTHING",
        values,
    )


def take_held_ticket_events(conn: psycopg.Connection, ticket_id: str) -> list[Row]:
    return conn.execute(
        "DELETE FROM notify.held_ticket_events WHERE ticket_id = %s"
        " RETURNING event_id::text AS event_id, event_type, author_role, correlation_id",
        (ticket_id,),
    ).fetchall()


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


def insert_message(conn: psycopg.Connection, values: Row) -> bool:
    """False when a message with this idempotency key exists (a repeat)."""
    params = {**values, "params": Jsonb(values.get("params") or {})}
    cursor = conn.execute(
        "INSERT INTO notify.messages (message_id, idempotency_key, template, language, urgent,"
        " user_id, ticket_id, cause_event_id, correlation_id, params, recipient, provider,"
        " state, attempts, next_attempt_at, lease_until, expires_at, created_at, updated_at)"
        " VALUES (%(message_id)s, %(idempotency_key)s, %(template)s, %(language)s,"
        " %(urgent)s, %(user_id)s, %(ticket_id)s, %(cause_event_id)s, %(correlation_id)s,"
        " %(params)s, %(recipient)s, %(provider)s, %(state)s, %(attempts)s,"
        " %(next_attempt_at)s, %(lease_until)s, %(expires_at)s, %(created_at)s,"
        " %(created_at)s) ON CONFLICT (idempotency_key) DO NOTHING",
        params,
    )
    return cursor.rowcount == 1


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
    conn: psycopg.Connection, now: datetime, limit: int, provider: str, lease_until: datetime
) -> list[Row]:
    """Up to ``limit`` due messages, urgent first then oldest due, marked ``sending``
    with a lease and the next attempt number. Concurrent claimers skip each other's
    rows (SKIP LOCKED), so a message is claimed by one process at a time."""
    if limit <= 0:
        return []
    return conn.execute(
        "WITH due AS (SELECT message_id FROM notify.messages WHERE state = 'queued'"
        " AND next_attempt_at <= %(now)s ORDER BY urgent DESC, next_attempt_at"
        " LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
        " UPDATE notify.messages m SET state = 'sending', attempts = m.attempts + 1,"
        " lease_until = %(lease)s, provider = %(provider)s, updated_at = %(now)s"
        " FROM due WHERE m.message_id = due.message_id RETURNING m.*",
        {"now": now, "limit": limit, "lease": lease_until, "provider": provider},
    ).fetchall()


def fix_text(conn: psycopg.Connection, message: Row) -> bool:
    """Store recipient and text before the provider call, so a reconciliation after a
    crash looks for exactly what was sent (Twilio matches by number and text)."""
    cursor = conn.execute(
        "UPDATE notify.messages SET recipient = %s, body = %s, language = %s, encoding = %s,"
        " parts = %s WHERE message_id = %s AND state = 'sending' AND attempts = %s",
        (
            message["recipient"],
            message["body"],
            message["language"],
            message["encoding"],
            message["parts"],
            message["message_id"],
            message["attempts"],
        ),
    )
    return cursor.rowcount == 1


_FENCE = " WHERE message_id = %(message_id)s AND state = 'sending' AND attempts = %(fence)s"


def mark_sent(conn: psycopg.Connection, values: Row) -> bool:
    cursor = conn.execute(
        "UPDATE notify.messages SET state = 'sent', provider_message_id = %(provider_id)s,"
        " recipient = %(recipient)s, language = %(language)s, encoding = %(encoding)s,"
        " parts = %(parts)s, attempts = %(attempts)s, uncertain = false, lease_until = NULL,"
        " last_error = NULL, sent_at = %(now)s, updated_at = %(now)s" + _FENCE,
        values,
    )
    return cursor.rowcount == 1


def mark_retry(conn: psycopg.Connection, values: Row) -> bool:
    cursor = conn.execute(
        "UPDATE notify.messages SET state = 'queued', next_attempt_at = %(at)s,"
        " uncertain = %(uncertain)s, attempts = %(attempts)s, lease_until = NULL,"
        " last_error = %(error)s, updated_at = %(now)s" + _FENCE,
        values,
    )
    return cursor.rowcount == 1


def mark_failed(conn: psycopg.Connection, values: Row) -> bool:
    cursor = conn.execute(
        "UPDATE notify.messages SET state = 'failed', failure_reason = %(reason)s,"
        " last_error = %(error)s, attempts = %(attempts)s, lease_until = NULL,"
        " failed_at = %(now)s, updated_at = %(now)s" + _FENCE,
        values,
    )
    return cursor.rowcount == 1


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


def record_attempt(conn: psycopg.Connection, values: Row) -> None:
    conn.execute(
        "INSERT INTO notify.attempts (message_id, attempt, provider, action, outcome, reason,"
        " detail, started_at, finished_at) VALUES (%(message_id)s, %(attempt)s,"
        " %(provider)s, %(action)s, %(outcome)s, %(reason)s, %(detail)s, %(started_at)s,"
        " %(finished_at)s) ON CONFLICT DO NOTHING",
        values,
    )


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
    """The provider's bucket, row-locked until the transaction ends (created full)."""
    conn.execute(
        "INSERT INTO notify.rate_limits (provider, tokens, refilled_at) VALUES (%s, %s, %s)"
        " ON CONFLICT (provider) DO NOTHING",
        (provider, burst, now),
    )
    row = conn.execute(
        "SELECT tokens, refilled_at FROM notify.rate_limits WHERE provider = %s FOR UPDATE",
        (provider,),
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
