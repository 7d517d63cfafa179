"""Postgres adapter of the event log: append with optimistic concurrency, load, tail.

Every method takes the caller's connection so that the append, the read-model
updates and the idempotency record share ONE transaction: commit is the fact.

Ordering invariant that readers rely on (docs/event-log.md): within an append
transaction the events INSERT must be the first write, done after the stream was
read. The transaction id is assigned at the first write, so a later version of a
stream always carries a larger xid than the earlier version it was decided on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.eventlog.records import EventMetadata, LogCursor, NewEvent, RecordedEvent

import psycopg
from psycopg import errors, sql
from psycopg.types.json import Jsonb


class ConcurrencyConflict(Exception):
    """Someone else appended to the stream since it was loaded."""

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(
            f"stream {stream_id} changed since version {expected_version}; reload and retry"
        )
        self.stream_id = stream_id
        self.expected_version = expected_version


class DuplicateEvent(Exception):
    """An event with this id is already in the log (a retried append)."""


_COLUMNS = (
    "position, xid::text::bigint AS xid, stream_id, version, event_id, event_type, "
    "schema_version, data, metadata, recorded_at"
)


class EventStore:
    def __init__(self, schema: str) -> None:
        self.schema = schema
        self._events = sql.Identifier(schema, "events")
        self._results = sql.Identifier(schema, "command_results")

    def append(
        self,
        conn: psycopg.Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: EventMetadata,
    ) -> list[RecordedEvent]:
        """Append ``events`` after ``expected_version`` inside the caller's transaction."""
        if not events:
            return []
        meta = metadata.as_dict()
        rows = [
            (
                stream_id,
                expected_version + offset + 1,
                event.event_id,
                event.type,
                event.schema_version,
                Jsonb(event.data),
                Jsonb(meta),
            )
            for offset, event in enumerate(events)
        ]
        query = sql.SQL(
            "INSERT INTO {} (stream_id, version, event_id, event_type, schema_version,"
            " data, metadata) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING " + _COLUMNS
        ).format(self._events)
        recorded: list[RecordedEvent] = []
        try:
            with conn.cursor() as cur:
                if expected_version > 0:
                    self._check_head(cur, stream_id, expected_version)
                for row in rows:
                    cur.execute(query, row)
                    recorded.append(_to_record(cur.fetchone()))
        except errors.UniqueViolation as exc:
            constraint = exc.diag.constraint_name or ""
            if "event_id" in constraint:
                raise DuplicateEvent(str(exc)) from exc
            raise ConcurrencyConflict(stream_id, expected_version) from exc
        return recorded

    def _check_head(self, cur: psycopg.Cursor, stream_id: str, expected_version: int) -> None:
        """A stale writer whose next version is free (never, with the unique key) is still
        caught here; the unique (stream, version) key catches the racing one."""
        cur.execute(
            sql.SQL("SELECT max(version) AS head FROM {} WHERE stream_id = %s").format(
                self._events
            ),
            (stream_id,),
        )
        head = cur.fetchone()
        head_version = (head["head"] if isinstance(head, dict) else head[0]) or 0
        if head_version != expected_version:
            raise ConcurrencyConflict(stream_id, expected_version)

    def load(
        self, conn: psycopg.Connection, stream_id: str, after_version: int = 0
    ) -> list[RecordedEvent]:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "SELECT " + _COLUMNS + " FROM {} WHERE stream_id = %s AND version > %s"
                    " ORDER BY version"
                ).format(self._events),
                (stream_id, after_version),
            )
            return [_to_record(row) for row in cur.fetchall()]

    def read_committed(
        self, conn: psycopg.Connection, after: LogCursor, limit: int = 500
    ) -> list[RecordedEvent]:
        """Events after ``after`` that can no longer be preceded by a late commit.

        Only rows whose transaction is older than the oldest running one are
        returned, so the (xid, position) order is final: nothing can appear
        before a row already handed out. A long-running transaction holds this
        horizon back (watch ``pasokh_relay_lag_events``); it never causes a skip.
        """
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "SELECT " + _COLUMNS + " FROM {} WHERE (xid, position) > (%s::text::xid8, %s)"
                    " AND xid < pg_snapshot_xmin(pg_current_snapshot())"
                    " ORDER BY xid, position LIMIT %s"
                ).format(self._events),
                (str(after.xid), after.position, limit),
            )
            return [_to_record(row) for row in cur.fetchall()]

    def read_all(self, conn: psycopg.Connection, after_position: int = 0, limit: int = 1000):
        """Every committed event in position order, for rebuilding read models offline."""
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "SELECT " + _COLUMNS + " FROM {} WHERE position > %s ORDER BY position LIMIT %s"
                ).format(self._events),
                (after_position, limit),
            )
            return [_to_record(row) for row in cur.fetchall()]

    def head_position(self, conn: psycopg.Connection) -> int:
        row = conn.execute(
            sql.SQL("SELECT coalesce(max(position), 0) AS head FROM {}").format(self._events)
        ).fetchone()
        return row["head"] if isinstance(row, dict) else row[0]

    # -- idempotent commands -------------------------------------------------------

    def find_result(self, conn: psycopg.Connection, idempotency_key: str) -> dict | None:
        row = conn.execute(
            sql.SQL("SELECT result FROM {} WHERE idempotency_key = %s").format(self._results),
            (idempotency_key,),
        ).fetchone()
        if row is None:
            return None
        return row["result"] if isinstance(row, dict) else row[0]

    def record_result(
        self,
        conn: psycopg.Connection,
        idempotency_key: str,
        command: str,
        stream_id: str,
        result: dict[str, Any],
    ) -> None:
        """Store the answer with the append; a concurrent twin fails on the key and rolls
        back its append, so the command takes effect once."""
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (idempotency_key, command, stream_id, result)"
                " VALUES (%s, %s, %s, %s)"
            ).format(self._results),
            (
                idempotency_key,
                command,
                stream_id,
                Jsonb(json.loads(json.dumps(result, default=str))),
            ),
        )


def _to_record(row: Any) -> RecordedEvent:
    if not isinstance(row, dict):
        raise TypeError("EventStore needs connections with row_factory=dict_row")
    return RecordedEvent(
        position=row["position"],
        xid=int(row["xid"]),
        stream_id=row["stream_id"],
        version=row["version"],
        event_id=row["event_id"],
        type=row["event_type"],
        schema_version=row["schema_version"],
        data=row["data"],
        metadata=row["metadata"],
        recorded_at=row["recorded_at"],
    )
