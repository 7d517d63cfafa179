"""Postgres adapter of the event log: append with optimistic concurrency, load, tail.

Every method takes the caller's connection so that the append, the read-model
updates and the idempotency record share ONE transaction: commit is the fact.

Ordering invariant that readers rely on (docs/event-log.md): within an append
transaction the events INSERT must be the first write (or part of the first write
statement, as a CTE: ``prepare_append``), done after the stream was read (or taken
from an in-memory copy of committed state, as the tickets aggregate cache does).
The transaction id is assigned at the first write, so a later version of a stream
always carries a larger xid than the earlier version it was decided on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.eventlog.records import EventMetadata, LogCursor, NewEvent, RecordedEvent

import psycopg
from psycopg import errors, sql
from psycopg.types.json import Jsonb

# Turns stored data into what readers see (e.g. opens encrypted personal fields,
# pasokh_common.personal_data); given the connection the rows were read on.
Decoder = Callable[[psycopg.Connection, Sequence[RecordedEvent]], list[RecordedEvent]]


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
_COLUMNS_NO_METADATA = (
    "position, xid::text::bigint AS xid, stream_id, version, event_id, event_type, "
    "schema_version, data, '{}'::jsonb AS metadata, recorded_at"
)


def _field(row: Any, name: str, index: int) -> Any:
    return row[name] if isinstance(row, dict) else row[index]


# What the events INSERT returns per row, named so that it cannot clash with a
# caller's columns when it is a CTE of the caller's statement.
APPEND_RETURNING = (
    "version AS event_version, position AS event_position,"
    " xid::text::bigint AS event_xid, recorded_at AS event_recorded_at"
)
APPEND_COLUMNS = ("event_version", "event_position", "event_xid", "event_recorded_at")


@dataclass(frozen=True)
class Append:
    """One append, composed (``EventStore.prepare_append``) but not yet run: ``sql``
    is the guarded events INSERT with named ``params``, ``RETURNING`` the
    ``APPEND_RETURNING`` columns. The guarantees of ``EventStore.append`` hold
    wherever it runs, given its rows to ``recorded`` and its unique violations to
    ``refusal``."""

    sql: str
    params: dict[str, Any]
    table: str  # the events table, quoted
    stream_id: str
    expected_version: int
    events: tuple[NewEvent, ...]
    metadata: dict[str, Any]

    def recorded(self, rows: Sequence[Any]) -> list[RecordedEvent]:
        """The appended events, from the rows the INSERT returned (extra columns are
        ignored). Fewer rows than events: the version guard refused the append (the
        writer claimed a version the stream never reached), a conflict."""
        if len(rows) != len(self.events):
            raise ConcurrencyConflict(self.stream_id, self.expected_version)
        added = {_field(row, "event_version", 0): row for row in rows}
        recorded = []
        for offset, event in enumerate(self.events):
            version = self.expected_version + offset + 1
            row = added[version]
            recorded.append(
                RecordedEvent(
                    position=_field(row, "event_position", 1),
                    xid=int(_field(row, "event_xid", 2)),
                    stream_id=self.stream_id,
                    version=version,
                    event_id=event.event_id,
                    type=event.type,
                    schema_version=event.schema_version,
                    data=event.data,
                    metadata=self.metadata,
                    recorded_at=_field(row, "event_recorded_at", 3),
                )
            )
        return recorded

    def refusal(self, exc: errors.UniqueViolation) -> Exception | None:
        """What a unique violation of the statement that ran the append means for
        it: ``DuplicateEvent`` (an event id already in the log), ``ConcurrencyConflict``
        (the stream's version was taken), or None when it is not the events table's
        (another write of the caller's statement: the caller's to answer)."""
        table = sql.Identifier(exc.diag.schema_name or "", exc.diag.table_name or "")
        if table.as_string(None) != self.table:
            return None
        constraint = exc.diag.constraint_name or ""
        if "event_id" in constraint:
            return DuplicateEvent(str(exc))
        return ConcurrencyConflict(self.stream_id, self.expected_version)


class EventStore:
    """``decoder`` (optional) is applied to what ``load``, ``read_committed`` and
    ``read_all`` return; ``raw()`` is the same store without it, for readers that
    need the rows exactly as stored (checksums, the hash chain)."""

    def __init__(self, schema: str, decoder: Decoder | None = None) -> None:
        self.schema = schema
        self.decoder = decoder
        events = sql.Identifier(schema, "events").as_string(None)
        results = sql.Identifier(schema, "command_results").as_string(None)
        # Built once: composing SQL per call was a measurable share of an append.
        self._events_table = events
        self._sql_append: dict[int, str] = {}
        self._sql_load = (
            f"SELECT {_COLUMNS} FROM {events} WHERE stream_id = %s AND version > %s"
            " ORDER BY version"
        )
        self._sql_load_for_decision = (
            f"SELECT {_COLUMNS_NO_METADATA} FROM {events} WHERE stream_id = %s AND version > %s"
            " ORDER BY version"
        )
        self._sql_read_committed = (
            f"SELECT {_COLUMNS} FROM {events} WHERE (xid, position) > (%s::text::xid8, %s)"
            " AND xid < pg_snapshot_xmin(pg_current_snapshot())"
            " ORDER BY xid, position LIMIT %s"
        )
        self._sql_read_all = (
            f"SELECT {_COLUMNS} FROM {events} WHERE position > %s ORDER BY position LIMIT %s"
        )
        self._sql_head = f"SELECT coalesce(max(position), 0) AS head FROM {events}"
        self._sql_find_result = f"SELECT result FROM {results} WHERE idempotency_key = %s"
        self._sql_record_result = (
            f"INSERT INTO {results} (idempotency_key, command, stream_id, result)"
            " VALUES (%s, %s, %s, %s)"
        )

    def raw(self) -> EventStore:
        """This store without the decoder: rows exactly as stored."""
        return self if self.decoder is None else EventStore(self.schema)

    def _decoded(self, conn: psycopg.Connection, records: list[RecordedEvent]):
        if self.decoder is None or not records:
            return records
        return self.decoder(conn, records)

    def _append_sql(self, count: int) -> str:
        """One statement for the whole append (so it is atomic even in autocommit),
        guarded so that it inserts nothing unless ``expected_version`` is the head.
        Named parameters (``ev_*``), so that it can also be a CTE of a caller's
        statement (``prepare_append``)."""
        if count not in self._sql_append:
            rows = [
                f"(%(ev_stream)s, %(ev{n}_version)s, %(ev{n}_id)s::uuid, %(ev{n}_type)s,"
                f" %(ev{n}_schema)s, %(ev{n}_data)s::jsonb, %(ev_meta)s::jsonb)"
                for n in range(count)
            ]
            events = self._events_table
            self._sql_append[count] = (
                f"INSERT INTO {events} (stream_id, version, event_id, event_type,"
                " schema_version, data, metadata)"
                " SELECT v.stream_id, v.version, v.event_id, v.event_type, v.schema_version,"
                " v.data, v.metadata FROM (VALUES " + ", ".join(rows) + ")"
                " AS v(stream_id, version, event_id, event_type, schema_version, data, metadata)"
                f" WHERE %(ev_expected)s = 0 OR EXISTS (SELECT 1 FROM {events}"
                " WHERE stream_id = %(ev_stream)s AND version = %(ev_expected)s)"
                " ORDER BY v.version"
                " RETURNING " + APPEND_RETURNING
            )
        return self._sql_append[count]

    def prepare_append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: EventMetadata,
    ) -> Append:
        """The append of ``events`` after ``expected_version`` as SQL, not yet run:
        ``append`` runs it alone; a caller may run it as a CTE of its own statement
        (the tickets read models, one round trip for the whole command) and hand the
        rows it returned to ``Append.recorded``, its errors to ``Append.refusal``."""
        meta = metadata.as_dict()
        params: dict[str, Any] = {
            "ev_stream": stream_id,
            "ev_expected": expected_version,
            "ev_meta": Jsonb(meta),
        }
        for offset, event in enumerate(events):
            params[f"ev{offset}_version"] = expected_version + offset + 1
            params[f"ev{offset}_id"] = event.event_id
            params[f"ev{offset}_type"] = event.type
            params[f"ev{offset}_schema"] = event.schema_version
            params[f"ev{offset}_data"] = Jsonb(event.data)
        return Append(
            sql=self._append_sql(len(events)),
            params=params,
            table=self._events_table,
            stream_id=stream_id,
            expected_version=expected_version,
            events=tuple(events),
            metadata=meta,
        )

    def append(
        self,
        conn: psycopg.Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: EventMetadata,
    ) -> list[RecordedEvent]:
        """Append ``events`` after ``expected_version``: inside the caller's transaction
        (with its read models), or as a transaction of its own on an autocommit
        connection (one statement).

        A stale writer (someone appended since it loaded) collides on the unique
        (stream, version) key; a writer claiming a version the stream never reached
        inserts nothing because of the guard. Both are a conflict.
        """
        if not events:
            return []
        pending = self.prepare_append(stream_id, expected_version, events, metadata)
        try:
            with conn.cursor() as cur:
                cur.execute(pending.sql, pending.params)
                rows = cur.fetchall()
        except errors.UniqueViolation as exc:
            refusal = pending.refusal(exc)
            if refusal is None:
                raise
            raise refusal from exc
        return pending.recorded(rows)

    def load(
        self,
        conn: psycopg.Connection,
        stream_id: str,
        after_version: int = 0,
        with_metadata: bool = True,
    ) -> list[RecordedEvent]:
        """The stream in version order. ``with_metadata=False`` is for deciding a
        command: the domain never reads who did what, and decoding it costs time."""
        query = self._sql_load if with_metadata else self._sql_load_for_decision
        with conn.cursor() as cur:
            cur.execute(query, (stream_id, after_version))
            records = [_to_record(row) for row in cur.fetchall()]
        return self._decoded(conn, records)

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
            cur.execute(self._sql_read_committed, (str(after.xid), after.position, limit))
            records = [_to_record(row) for row in cur.fetchall()]
        return self._decoded(conn, records)

    def read_all(self, conn: psycopg.Connection, after_position: int = 0, limit: int = 1000):
        """Every committed event in position order, for rebuilding read models offline."""
        with conn.cursor() as cur:
            cur.execute(self._sql_read_all, (after_position, limit))
            records = [_to_record(row) for row in cur.fetchall()]
        return self._decoded(conn, records)

    def head_position(self, conn: psycopg.Connection) -> int:
        row = conn.execute(self._sql_head).fetchone()
        return row["head"] if isinstance(row, dict) else row[0]

    # -- idempotent commands -------------------------------------------------------

    def find_result(self, conn: psycopg.Connection, idempotency_key: str) -> dict | None:
        row = conn.execute(self._sql_find_result, (idempotency_key,)).fetchone()
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
            self._sql_record_result,
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
