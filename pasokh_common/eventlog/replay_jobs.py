"""Replay jobs: a request to copy a service's event history into one subscriber's queue.

The table is the only interface between whoever asks (the ``pasokh events replay``
command, the ``start_replay`` RPC) and the relay leader that does the work
(``pasokh_common.eventlog.replayer``): a request is a row, the relay's progress is
the row's cursor and counts, so a job survives relay restarts and leader changes.
Migrations include the DDL with ``-- pasokh:include replay_jobs``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.errors import Conflict, NotFound, bilingual
from pasokh_common.eventlog.ddl import quote_identifier
from pasokh_common.eventlog.topics import binding_key_problem, queue_name_problem
from pasokh_common.validation import add_persian_prefixes, load

import psycopg
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema
from psycopg import errors, sql

PENDING, REPLAYING, LIVE, FAILED, CANCELLED = "pending", "replaying", "live", "failed", "cancelled"
STATES = (PENDING, REPLAYING, LIVE, FAILED, CANCELLED)
ACTIVE = (PENDING, REPLAYING)
FINISHED = (LIVE, FAILED, CANCELLED)

REPLAY_JOBS_TEMPLATE = """\
-- Replay jobs (docs/integration.md, "Replay and catch-up"): history copied into one
-- subscriber's queue by the relay leader, then the queue is bound for live events.
-- (last_xid, last_position) is the job's cursor in the log's (xid, position) order,
-- recorded only after the broker confirmed everything up to it.
CREATE TABLE {schema}.replay_jobs (
    job_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue         text NOT NULL CHECK (length(queue) BETWEEN 1 AND 200),
    from_position bigint CHECK (from_position > 0),
    from_time     timestamptz,
    binding_keys  text[] NOT NULL DEFAULT ARRAY['#'] CHECK (cardinality(binding_keys) > 0),
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'replaying', 'live', 'failed', 'cancelled')),
    last_xid      xid8 NOT NULL DEFAULT '0'::xid8,
    last_position bigint NOT NULL DEFAULT 0,
    scanned       bigint NOT NULL DEFAULT 0,
    replayed      bigint NOT NULL DEFAULT 0,
    remaining     bigint,
    error         text,
    requested_by  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    live_at       timestamptz,
    CONSTRAINT replay_jobs_one_start CHECK (from_position IS NULL OR from_time IS NULL)
);
-- One job owns a queue until it fails or is cancelled: a second replay into a queue
-- that is being filled or is already bound would deliver history twice.
CREATE UNIQUE INDEX replay_jobs_one_per_queue ON {schema}.replay_jobs (queue)
    WHERE state IN ('pending', 'replaying', 'live');
CREATE INDEX replay_jobs_active ON {schema}.replay_jobs (job_id)
    WHERE state IN ('pending', 'replaying');

GRANT SELECT, INSERT, UPDATE ON {schema}.replay_jobs TO {app_role};
"""


def replay_jobs_ddl(schema: str) -> str:
    return REPLAY_JOBS_TEMPLATE.replace("{schema}", quote_identifier(schema))


# -- the request ------------------------------------------------------------------------


class ReplayAlreadyActive(Conflict):
    code = "replay_already_active"
    message_en = "This queue already has a replay that is running or live."
    message_fa = "برای این صف پیش‌تر بازپخشی در جریان است یا زنده شده است."


class ReplayNotFound(NotFound):
    code = "replay_not_found"
    message_en = "There is no replay job with this id."
    message_fa = "بازپخشی با این شناسه وجود ندارد."


class ReplayFinished(Conflict):
    code = "replay_finished"
    message_en = "This replay has already finished; it cannot be cancelled."
    message_fa = "این بازپخش پیش‌تر پایان یافته و لغوشدنی نیست."


class ReplayRequestSchema(Schema):
    """What a caller may ask: the queue, at most one start, and the binding keys."""

    queue = fields.String(required=True)
    from_position = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1)
    )
    from_time = fields.AwareDateTime(load_default=None, allow_none=True, format="iso")
    binding_keys = fields.List(
        fields.String(), load_default=lambda: ["#"], validate=validate.Length(min=1, max=20)
    )

    @validates("queue")
    def _queue(self, value: str, **_: Any) -> None:
        problem = queue_name_problem(value)
        if problem:
            raise ValidationError(f"Not a queue a replay may fill: {problem}.")

    @validates("binding_keys")
    def _keys(self, value: list[str], **_: Any) -> None:
        problems = [f"{key!r}: {p}" for key in value if (p := binding_key_problem(key))]
        if problems:
            raise ValidationError("Not a binding key: " + "; ".join(problems) + ".")

    @validates_schema
    def _one_start(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("from_position") is not None and data.get("from_time") is not None:
            raise ValidationError(
                "Give from_position or from_time, not both.", field_name="from_time"
            )


add_persian_prefixes(
    {
        "Not a queue a replay may fill": (
            "نام صف مجاز نیست (حروف و ارقام لاتین و . _ : - ؛ بدون پیشوند یا پسوند رزرو)."
        ),
        "Not a binding key": "کلید اتصال معتبر نیست (کلمه‌های جداشده با نقطه، یا * یا #).",
        "Give from_position or from_time": "فقط یکی از from_position و from_time را بدهید.",
    }
)


def parse_request(payload: Any) -> dict[str, Any]:
    """Validate a replay request or raise ``ValidationFailed`` with bilingual fields."""
    return load(ReplayRequestSchema(), payload)


# -- the table ------------------------------------------------------------------------

_COLUMNS = (
    "job_id, queue, from_position, from_time, binding_keys, state,"
    " last_xid::text::bigint AS last_xid, last_position, scanned, replayed, remaining, error,"
    " requested_by, created_at, updated_at, live_at"
)


class ReplayJobs:
    """SQL of ``<schema>.replay_jobs``; every method takes the caller's connection
    (``dict_row``, autocommit)."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.table = sql.Identifier(schema, "replay_jobs")

    def create(self, conn: psycopg.Connection, request: dict[str, Any], requested_by: str) -> dict:
        try:
            return conn.execute(
                sql.SQL(
                    "INSERT INTO {} (queue, from_position, from_time, binding_keys, requested_by)"
                    " VALUES (%s, %s, %s, %s, %s) RETURNING " + _COLUMNS
                ).format(self.table),
                (
                    request["queue"],
                    request.get("from_position"),
                    request.get("from_time"),
                    list(request.get("binding_keys") or ["#"]),
                    requested_by,
                ),
            ).fetchone()
        except errors.UniqueViolation as exc:
            raise ReplayAlreadyActive(
                fields={
                    "queue": [
                        bilingual(ReplayAlreadyActive.message_fa, ReplayAlreadyActive.message_en)
                    ]
                }
            ) from exc

    def get(self, conn: psycopg.Connection, job_id: int) -> dict:
        row = conn.execute(
            sql.SQL("SELECT " + _COLUMNS + " FROM {} WHERE job_id = %s").format(self.table),
            (job_id,),
        ).fetchone()
        if row is None:
            raise ReplayNotFound()
        return row

    def list(self, conn: psycopg.Connection, limit: int = 100) -> list[dict]:
        return conn.execute(
            sql.SQL("SELECT " + _COLUMNS + " FROM {} ORDER BY job_id DESC LIMIT %s").format(
                self.table
            ),
            (limit,),
        ).fetchall()

    def cancel(self, conn: psycopg.Connection, job_id: int) -> dict:
        """Cancel a job that is not live yet. The relay takes the row lock while it binds
        the queue, so a cancel never lands between the binding and ``live``."""
        row = conn.execute(
            sql.SQL(
                "UPDATE {} SET state = 'cancelled', updated_at = now()"
                " WHERE job_id = %s AND state IN ('pending', 'replaying') RETURNING " + _COLUMNS
            ).format(self.table),
            (job_id,),
        ).fetchone()
        if row is None:
            self.get(conn, job_id)  # raises ReplayNotFound
            raise ReplayFinished()
        return row

    # -- for the relay ----------------------------------------------------------------

    def active(self, conn: psycopg.Connection) -> list[dict]:
        return conn.execute(
            sql.SQL(
                "SELECT " + _COLUMNS + " FROM {} WHERE state IN ('pending', 'replaying')"
                " ORDER BY job_id"
            ).format(self.table)
        ).fetchall()

    def start(self, conn: psycopg.Connection, job_id: int, xid: int, position: int) -> bool:
        """pending -> replaying with the first cursor; False if it was cancelled."""
        return self._update(
            conn,
            job_id,
            PENDING,
            "state = 'replaying', last_xid = %s::text::xid8, last_position = %s",
            (str(xid), position),
        )

    def advance(
        self,
        conn: psycopg.Connection,
        job_id: int,
        xid: int,
        position: int,
        scanned: int,
        replayed: int,
    ) -> bool:
        """Record the cursor after a confirmed chunk; False if the job was cancelled."""
        return self._update(
            conn,
            job_id,
            REPLAYING,
            "last_xid = %s::text::xid8, last_position = %s, scanned = scanned + %s,"
            " replayed = replayed + %s, error = NULL",
            (str(xid), position, scanned, replayed),
        )

    def set_remaining(self, conn: psycopg.Connection, job_id: int, remaining: int) -> None:
        conn.execute(
            sql.SQL("UPDATE {} SET remaining = %s WHERE job_id = %s").format(self.table),
            (remaining, job_id),
        )

    def note_error(self, conn: psycopg.Connection, job_id: int, error: str) -> None:
        """A retryable problem (the queue refused messages): shown, job kept."""
        conn.execute(
            sql.SQL("UPDATE {} SET error = %s, updated_at = now() WHERE job_id = %s").format(
                self.table
            ),
            (error[:1000], job_id),
        )

    def fail(self, conn: psycopg.Connection, job_id: int, error: str) -> bool:
        return self._update(
            conn,
            job_id,
            ACTIVE,
            "state = 'failed', error = %s",
            (error[:1000],),
        )

    def lock_replaying(self, conn: psycopg.Connection, job_id: int) -> bool:
        """Inside a transaction: lock the row if it is still replaying (a concurrent
        cancel waits for the handover to finish, then finds it live)."""
        row = conn.execute(
            sql.SQL("SELECT 1 FROM {} WHERE job_id = %s AND state = 'replaying' FOR UPDATE").format(
                self.table
            ),
            (job_id,),
        ).fetchone()
        return row is not None

    def go_live(self, conn: psycopg.Connection, job_id: int, xid: int, position: int) -> bool:
        return self._update(
            conn,
            job_id,
            REPLAYING,
            "state = 'live', live_at = now(), remaining = 0, error = NULL,"
            " last_xid = %s::text::xid8, last_position = %s",
            (str(xid), position),
        )

    def _update(
        self,
        conn: psycopg.Connection,
        job_id: int,
        expected: str | tuple[str, ...],
        assignments: str,
        params: tuple,
    ) -> bool:
        states = [expected] if isinstance(expected, str) else list(expected)
        result = conn.execute(
            sql.SQL(
                "UPDATE {} SET " + assignments + ", updated_at = now()"
                " WHERE job_id = %s AND state = ANY(%s)"
            ).format(self.table),
            (*params, job_id, states),
        )
        return result.rowcount == 1


def describe(job: dict[str, Any]) -> dict[str, Any]:
    """A job as RPC and CLI show it: JSON-friendly values."""
    shown = dict(job)
    for key in ("from_time", "created_at", "updated_at", "live_at"):
        if isinstance(shown.get(key), datetime):
            shown[key] = shown[key].isoformat()
    shown["binding_keys"] = list(shown.get("binding_keys") or [])
    return shown
