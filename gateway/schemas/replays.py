"""Bodies and answers of the replay routes (admin). The rules are the services' own
(``pasokh_common.eventlog.replay_jobs.ReplayRequestSchema``), so the gateway and the
RPC refuse exactly the same requests; the services validate again."""

from __future__ import annotations

from typing import Any

from pasokh_common.eventlog.replay_jobs import STATES, ReplayRequestSchema

from marshmallow import RAISE, Schema, fields, post_load, validate

from gateway.schemas import StrictSchema, describe

SERVICES = ("tickets", "identity", "sla", "notify")


class ReplayBody(ReplayRequestSchema):
    """What to replay into which queue. Unknown fields are refused."""

    class Meta:
        unknown = RAISE

    @post_load
    def _time_as_text(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """The RPC carries JSON: the checked time goes on as ISO 8601 text."""
        if data.get("from_time") is not None:
            data["from_time"] = data["from_time"].isoformat()
        return data


class ReplayPath(StrictSchema):
    service = fields.String(required=True, validate=validate.OneOf(SERVICES))
    job_id = fields.Integer(required=False, validate=validate.Range(min=1))


class ReplayJob(Schema):
    job_id = fields.Integer()
    queue = fields.String()
    from_position = fields.Integer(allow_none=True)
    from_time = fields.String(allow_none=True)
    binding_keys = fields.List(fields.String())
    state = fields.String(metadata=describe(" | ".join(STATES), "replaying"))
    last_xid = fields.Integer(metadata=describe("the job's cursor in the log: transaction id"))
    last_position = fields.Integer(metadata=describe("the job's cursor: global position"))
    scanned = fields.Integer(metadata=describe("events read from the log"))
    replayed = fields.Integer(metadata=describe("events sent to the queue"))
    remaining = fields.Integer(allow_none=True, metadata=describe("events left to read"))
    error = fields.String(allow_none=True)
    requested_by = fields.String()
    created_at = fields.String()
    updated_at = fields.String()
    live_at = fields.String(allow_none=True)


class ReplayJobs(Schema):
    jobs = fields.List(fields.Nested(ReplayJob))
