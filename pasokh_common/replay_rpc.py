"""RPC entrypoints to start, follow and cancel replays, for any service with an event log.

A service gets them by inheriting ``ReplayEntrypoints`` (nameko finds entrypoints on
base classes too); it needs ``name`` (its schema) and ``db`` (``Database``). The
service only writes the request row; its relay leader does the replay
(``pasokh_common.eventlog.replayer``). Admins only: a replay can copy the whole
history of a service into any queue.
"""

from __future__ import annotations

from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.errors import PasokhError, ServiceError, ValidationFailed, bilingual
from pasokh_common.eventlog.replay_jobs import ReplayJobs, describe, parse_request
from pasokh_common.rpc import domain_errors, rpc
from pasokh_common.validation import load

from marshmallow import EXCLUDE, Schema, fields, validate

replay_rpc = rpc(expected_exceptions=ServiceError)


class ReplayNotPermitted(PasokhError):
    code = "not_permitted"
    http_status = 403
    message_en = "Only an admin may replay events."
    message_fa = "فقط مدیر سامانه می‌تواند رویدادها را بازپخش کند."


class _Actor(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(required=True, validate=validate.Length(min=1, max=30))


def require_admin(actor: Any) -> str:
    """The admin's id (kept on the job as who asked), or a refusal."""
    values = load(_Actor(), actor)
    if values["role"] != "admin":
        raise ReplayNotPermitted()
    return values["id"]


def _job_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationFailed(
            fields={"job_id": [bilingual("شناسهٔ کار معتبر نیست.", "Not a valid job id.")]}
        )
    return value


class ReplayEntrypoints:
    """``start_replay``, ``replay_status`` and ``cancel_replay`` on the service's log.

    The first argument says who calls: the actor dict the gateway vouches for, as
    tickets, sla and notify take it. identity overrides ``_replay_caller`` to take an
    access token instead, as all its protected RPCs do."""

    name: str
    db: Any

    @property
    def _replay_jobs(self) -> ReplayJobs:
        return ReplayJobs(self.name)

    def _replay_caller(self, caller: Any) -> str:
        """The id of the admin asking (kept on the job), or a refusal."""
        return require_admin(caller)

    @replay_rpc
    @domain_errors
    def start_replay(self, actor: Any, payload: dict) -> dict[str, Any]:
        """Ask the relay to copy the log into ``payload['queue']`` (see ReplayRequestSchema)."""
        requested_by = self._replay_caller(actor)
        request = parse_request(payload)
        with self.db.connection() as conn:
            return describe(self._replay_jobs.create(conn, request, f"admin:{requested_by}"))

    @replay_rpc
    @domain_errors
    def replay_status(self, actor: Any, job_id: int | None = None) -> dict[str, Any]:
        """One job, or the latest 100 jobs as ``{"jobs": [...]}``."""
        self._replay_caller(actor)
        with self.db.connection() as conn:
            if job_id is not None:
                return describe(self._replay_jobs.get(conn, _job_id(job_id)))
            return {"jobs": [describe(job) for job in self._replay_jobs.list(conn)]}

    @replay_rpc
    @domain_errors
    def cancel_replay(self, actor: Any, job_id: int) -> dict[str, Any]:
        """Stop a job that is not live yet; what was replayed stays in the queue."""
        self._replay_caller(actor)
        with self.db.connection() as conn:
            return describe(self._replay_jobs.cancel(conn, _job_id(job_id)))
