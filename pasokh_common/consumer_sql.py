"""The ``processed_events`` table that makes an event consumer exactly-once.

A consumer records ``(consumer, event_id)`` in the SAME transaction as its own state
change. RabbitMQ delivers at least once (a redelivery after a crash, a relay that
published twice); the primary key turns the second delivery into a no-op. Two
deliveries of one event racing each other are serialised by the key's row lock: the
second INSERT waits for the first transaction and then either conflicts (first
committed) or wins (first rolled back).

Each service owns the table in its own schema. Its migrations include the text of
``processed_events_ddl(schema)`` (``{app_role}`` is filled in by
``pasokh_common.migrations.apply``); tests call ``create_processed_events``.
"""

from __future__ import annotations

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common.eventlog.ddl import quote_identifier

import psycopg
from psycopg import sql

# {schema} is filled here (quoted); {app_role} is left for migrations.apply.
PROCESSED_EVENTS_TEMPLATE = """\
CREATE TABLE IF NOT EXISTS {schema}.processed_events (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
GRANT SELECT, INSERT ON {schema}.processed_events TO {app_role};
"""


def processed_events_ddl(schema: str) -> str:
    """The migration text for ``schema``; ``{app_role}`` stays for ``migrations.apply``."""
    return PROCESSED_EVENTS_TEMPLATE.replace("{schema}", quote_identifier(schema))


def create_processed_events(conn: psycopg.Connection, schema: str, app_role: str = "") -> None:
    """Create the schema (if missing) and the table; grant to ``app_role`` when given.

    For tests and local set-ups; services apply the same text through their migrations.
    """
    role = app_role or conn.execute("SELECT current_user").fetchone()[0]
    if isinstance(role, dict):  # a dict_row connection
        role = role["current_user"]
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    text = processed_events_ddl(schema).replace("{app_role}", quote_identifier(role))
    conn.execute(text)
    if app_role:
        conn.execute(
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                sql.Identifier(schema), sql.Identifier(app_role)
            )
        )


def claim_events(
    tx: psycopg.Connection, schema: str, consumer: str, event_ids: list[str]
) -> set[str]:
    """Record the events as processed by ``consumer``, in one statement; returns the
    ids newly recorded (an id listed twice is claimed once, one already there not at
    all). Must run inside the transaction that applies the events' effects, so that
    both commit or neither does."""
    cursor = tx.execute(
        sql.SQL(
            "INSERT INTO {}.processed_events (consumer, event_id)"
            " SELECT %s, e FROM unnest(%s::text[]) AS e"
            " ON CONFLICT DO NOTHING RETURNING event_id"
        ).format(sql.Identifier(schema)),
        (consumer, list(event_ids)),
    )
    return {_first(row) for row in cursor.fetchall()}


def _first(row) -> str:
    return row["event_id"] if isinstance(row, dict) else row[0]
