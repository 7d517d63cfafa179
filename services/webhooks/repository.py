"""Every SQL statement of webhooks, each a small function over the caller's connection."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import pasokh_common  # noqa: F401

import psycopg
from psycopg.types.json import Jsonb

Row = dict[str, Any]

# -- endpoints ---------------------------------------------------------------------------

_ENDPOINT_COLUMNS = (
    "endpoint_id, url, description, event_filter, headers, enabled, consecutive_failures,"
    " disabled_reason, disabled_at, disabled_by, previous_secret_until, created_by,"
    " created_at, updated_at"
)


def insert_endpoint(conn: psycopg.Connection, values: Row) -> None:
    conn.execute(
        "INSERT INTO webhooks.endpoints (endpoint_id, url, description, event_filter,"
        " headers, secret, created_by, created_at, updated_at) VALUES (%(endpoint_id)s,"
        " %(url)s, %(description)s, %(event_filter)s, %(headers)s, %(secret)s, %(actor)s,"
        " %(now)s, %(now)s)",
        {**values, "headers": Jsonb(values.get("headers") or {})},
    )


def list_endpoints(conn: psycopg.Connection) -> list[Row]:
    return conn.execute(
        f"SELECT {_ENDPOINT_COLUMNS} FROM webhooks.endpoints ORDER BY created_at"
    ).fetchall()


def get_endpoint(conn: psycopg.Connection, endpoint_id: str, lock: bool = False) -> Row | None:
    suffix = " FOR UPDATE" if lock else ""
    return conn.execute(
        f"SELECT {_ENDPOINT_COLUMNS} FROM webhooks.endpoints WHERE endpoint_id = %s{suffix}",
        (endpoint_id,),
    ).fetchone()


def update_endpoint(conn: psycopg.Connection, endpoint_id: str, changes: Row, now: datetime):
    """``changes``: any of url, description, event_filter, headers (validated)."""
    allowed = [k for k in ("url", "description", "event_filter", "headers") if k in changes]
    sets = ", ".join(f"{k} = %({k})s" for k in allowed)
    changes = {**changes, "headers": Jsonb(changes["headers"])} if "headers" in changes else changes
    conn.execute(
        f"UPDATE webhooks.endpoints SET {sets + ', ' if sets else ''}updated_at = %(now)s"
        " WHERE endpoint_id = %(endpoint_id)s",
        {**{k: changes[k] for k in allowed}, "now": now, "endpoint_id": endpoint_id},
    )


def enable(conn: psycopg.Connection, endpoint_id: str, now: datetime) -> None:
    conn.execute(
        "UPDATE webhooks.endpoints SET enabled = true, consecutive_failures = 0,"
        " disabled_reason = NULL, disabled_at = NULL, disabled_by = NULL, updated_at = %s"
        " WHERE endpoint_id = %s",
        (now, endpoint_id),
    )


def disable(
    conn: psycopg.Connection, endpoint_id: str, reason: str, by: str, now: datetime
) -> None:
    conn.execute(
        "UPDATE webhooks.endpoints SET enabled = false, disabled_reason = %s,"
        " disabled_at = %s, disabled_by = %s, updated_at = %s WHERE endpoint_id = %s",
        (reason[:1000], now, by, now, endpoint_id),
    )


def rotate_secret(
    conn: psycopg.Connection, endpoint_id: str, secret: str, grace_until: datetime | None, now
) -> None:
    """The current secret becomes the previous one (valid until ``grace_until``)."""
    conn.execute(
        "UPDATE webhooks.endpoints SET previous_secret = CASE WHEN %(until)s::timestamptz"
        " IS NULL THEN NULL ELSE secret END, previous_secret_until = %(until)s,"
        " secret = %(secret)s, updated_at = %(now)s WHERE endpoint_id = %(id)s",
        {"until": grace_until, "secret": secret, "now": now, "id": endpoint_id},
    )


def delete_endpoint(conn: psycopg.Connection, endpoint_id: str) -> None:
    conn.execute("DELETE FROM webhooks.endpoints WHERE endpoint_id = %s", (endpoint_id,))


def enabled_endpoints(conn: psycopg.Connection) -> list[Row]:
    return conn.execute(
        "SELECT endpoint_id, event_filter FROM webhooks.endpoints WHERE enabled"
    ).fetchall()


def log_endpoint(
    conn: psycopg.Connection,
    endpoint_id: str,
    action: str,
    actor: str,
    detail: str | None,
    now: datetime,
) -> None:
    conn.execute(
        "INSERT INTO webhooks.endpoint_log (endpoint_id, action, actor, detail, at)"
        " VALUES (%s, %s, %s, %s, %s)",
        (endpoint_id, action, actor, detail[:1000] if detail else None, now),
    )


def endpoint_log(conn: psycopg.Connection, endpoint_id: str, limit: int = 50) -> list[Row]:
    return conn.execute(
        "SELECT action, actor, detail, at FROM webhooks.endpoint_log WHERE endpoint_id = %s"
        " ORDER BY at DESC, id DESC LIMIT %s",
        (endpoint_id, limit),
    ).fetchall()


def count_failure(conn: psycopg.Connection, endpoint_id: Any, now: datetime) -> Row | None:
    """One more delivery failed for good; the new count and whether still enabled."""
    return conn.execute(
        "UPDATE webhooks.endpoints SET consecutive_failures = consecutive_failures + 1,"
        " updated_at = %s WHERE endpoint_id = %s RETURNING consecutive_failures, enabled",
        (now, endpoint_id),
    ).fetchone()


def reset_failures(conn: psycopg.Connection, endpoint_id: Any) -> None:
    conn.execute(
        "UPDATE webhooks.endpoints SET consecutive_failures = 0"
        " WHERE endpoint_id = %s AND consecutive_failures <> 0",
        (endpoint_id,),
    )


# -- deliveries: creation ----------------------------------------------------------------


def insert_delivery(conn: psycopg.Connection, values: Row) -> bool:
    """False when this endpoint already has a delivery of this event (a repeat)."""
    cursor = conn.execute(
        "INSERT INTO webhooks.deliveries (delivery_id, endpoint_id, event_id, event_type,"
        " source, body, state, next_attempt_at, created_at, updated_at) VALUES"
        " (%(delivery_id)s, %(endpoint_id)s, %(event_id)s, %(event_type)s, %(source)s,"
        " %(body)s, 'pending', %(now)s, %(now)s, %(now)s)"
        " ON CONFLICT (endpoint_id, event_id) DO NOTHING",
        values,
    )
    return cursor.rowcount == 1


# -- deliveries: the sender's claims -----------------------------------------------------


def claim_due(
    conn: psycopg.Connection, now: datetime, limit: int, lease_until: datetime, ping_type: str
) -> list[Row]:
    """Up to ``limit`` due deliveries of enabled endpoints (a ping goes to any), oldest
    first, marked ``sending`` with a lease and the next attempt number. A row still
    ``sending`` past its lease (its sender died) is due again. Concurrent claimers
    skip each other's rows (SKIP LOCKED): one sender per delivery at a time."""
    return conn.execute(
        "WITH due AS (SELECT d.delivery_id FROM webhooks.deliveries d"
        " JOIN webhooks.endpoints e USING (endpoint_id)"
        " WHERE ((d.state = 'pending' AND d.next_attempt_at <= %(now)s)"
        "   OR (d.state = 'sending' AND d.lease_until < %(now)s))"
        " AND (e.enabled OR d.event_type = %(ping)s)"
        " ORDER BY d.next_attempt_at, d.created_at LIMIT %(limit)s"
        " FOR UPDATE OF d SKIP LOCKED)"
        " UPDATE webhooks.deliveries d SET state = 'sending', attempts = d.attempts + 1,"
        " lease_until = %(lease)s, updated_at = %(now)s"
        " FROM due, webhooks.endpoints e"
        " WHERE d.delivery_id = due.delivery_id AND e.endpoint_id = d.endpoint_id"
        " RETURNING d.*, e.url, e.headers, e.secret, e.previous_secret,"
        " e.previous_secret_until",
        {"now": now, "limit": limit, "lease": lease_until, "ping": ping_type},
    ).fetchall()


_FENCE = " WHERE delivery_id = %(delivery_id)s AND state = 'sending' AND attempts = %(fence)s"


def mark_delivered(conn: psycopg.Connection, values: Row) -> bool:
    cursor = conn.execute(
        "UPDATE webhooks.deliveries SET state = 'delivered', lease_until = NULL,"
        " last_status = %(status)s, last_error = NULL, finished_at = %(now)s,"
        " updated_at = %(now)s" + _FENCE,
        values,
    )
    return cursor.rowcount == 1


def mark_retry(conn: psycopg.Connection, values: Row) -> bool:
    cursor = conn.execute(
        "UPDATE webhooks.deliveries SET state = 'pending', lease_until = NULL,"
        " next_attempt_at = %(at)s, last_status = %(status)s, last_error = %(error)s,"
        " updated_at = %(now)s" + _FENCE,
        values,
    )
    return cursor.rowcount == 1


def mark_failed(conn: psycopg.Connection, values: Row) -> bool:
    cursor = conn.execute(
        "UPDATE webhooks.deliveries SET state = 'failed', lease_until = NULL,"
        " last_status = %(status)s, last_error = %(error)s, finished_at = %(now)s,"
        " updated_at = %(now)s" + _FENCE,
        values,
    )
    return cursor.rowcount == 1


def record_attempt(conn: psycopg.Connection, values: Row) -> None:
    """Numbered after the delivery's earlier attempts (redeliveries included)."""
    conn.execute(
        "INSERT INTO webhooks.attempts (delivery_id, number, started_at, duration_ms,"
        " status_code, outcome, error, response_excerpt) SELECT %(delivery_id)s,"
        " coalesce(max(number), 0) + 1, %(started_at)s, %(duration_ms)s, %(status)s,"
        " %(outcome)s, %(error)s, %(excerpt)s FROM webhooks.attempts"
        " WHERE delivery_id = %(delivery_id)s",
        values,
    )


def redeliver(conn: psycopg.Connection, delivery_id: str, now: datetime) -> Row | None:
    """A finished delivery goes again, with a fresh attempt budget; None if it is not
    finished (pending or in flight)."""
    return conn.execute(
        "UPDATE webhooks.deliveries SET state = 'pending', attempts = 0,"
        " next_attempt_at = %s, lease_until = NULL, finished_at = NULL, updated_at = %s"
        " WHERE delivery_id = %s AND state IN ('delivered', 'failed') RETURNING *",
        (now, now, delivery_id),
    ).fetchone()


# -- queries -----------------------------------------------------------------------------

_DELIVERY_COLUMNS = (
    "delivery_id, endpoint_id, event_id, event_type, source, state, attempts,"
    " next_attempt_at, last_status, last_error, created_at, finished_at"
)


def get_delivery(conn: psycopg.Connection, delivery_id: str) -> Row | None:
    return conn.execute(
        f"SELECT {_DELIVERY_COLUMNS} FROM webhooks.deliveries WHERE delivery_id = %s",
        (delivery_id,),
    ).fetchone()


def list_deliveries(
    conn: psycopg.Connection, endpoint_id: str, state: str | None, limit: int
) -> list[Row]:
    return conn.execute(
        f"SELECT {_DELIVERY_COLUMNS} FROM webhooks.deliveries WHERE endpoint_id = %s"
        " AND (%s::text IS NULL OR state = %s) ORDER BY created_at DESC LIMIT %s",
        (endpoint_id, state, state, limit),
    ).fetchall()


def attempts_of(conn: psycopg.Connection, delivery_ids: list[Any]) -> list[Row]:
    if not delivery_ids:
        return []
    return conn.execute(
        "SELECT delivery_id, number, started_at, duration_ms, status_code, outcome, error,"
        " response_excerpt FROM webhooks.attempts WHERE delivery_id = ANY(%s)"
        " ORDER BY delivery_id, number",
        (delivery_ids,),
    ).fetchall()


def prune_finished(conn: psycopg.Connection, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` deliveries finished before ``before`` (their attempts go
    with them); returns how many."""
    cursor = conn.execute(
        "DELETE FROM webhooks.deliveries WHERE delivery_id IN (SELECT delivery_id"
        " FROM webhooks.deliveries WHERE state IN ('delivered', 'failed')"
        " AND finished_at < %s LIMIT %s)",
        (before, limit),
    )
    return cursor.rowcount


def backlog(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM webhooks.deliveries WHERE state IN ('pending', 'sending')"
    ).fetchone()
    return int(row["n"])


# -- routing keys (bindings of the event queues) -----------------------------------------

# pg_advisory_xact_lock key of "the endpoints' filters and the queues' bindings": held
# by every change that adds interest, from before its bindings are made until it
# commits, and by every reconcile, so a reconcile never unbinds what a change that is
# about to commit needs. Stable and distinct from the other locks, as relay.lock_key.
BINDINGS_LOCK = int.from_bytes(
    hashlib.blake2b(b"pasokh.webhooks:bindings", digest_size=8).digest(), "big", signed=True
)


def lock_bindings(conn: psycopg.Connection) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (BINDINGS_LOCK,))


def enabled_filters(conn: psycopg.Connection) -> list[list[str]]:
    """The filters of the enabled endpoints."""
    return [r["event_filter"] for r in enabled_endpoints(conn)]


def record_routing_keys(conn: psycopg.Connection, pairs: list[tuple[str, str]]) -> None:
    """Remember (source, key) pairs as possibly bound (before binding them)."""
    if pairs:
        conn.execute(
            "INSERT INTO webhooks.routing_keys (source, routing_key)"
            " SELECT * FROM unnest(%s::text[], %s::text[]) ON CONFLICT DO NOTHING",
            ([s for s, _ in pairs], [k for _, k in pairs]),
        )


def recorded_routing_keys(conn: psycopg.Connection) -> list[tuple[str, str]]:
    rows = conn.execute("SELECT source, routing_key FROM webhooks.routing_keys").fetchall()
    return [(r["source"], r["routing_key"]) for r in rows]
