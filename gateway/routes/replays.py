"""Replays (admin): copy a service's event history into a new subscriber's queue, then
bind it for live events (docs/integration.md, "Replay and catch-up"). The gateway
checks the role and the request; the service records the job (``start_replay`` of
``pasokh_common.replay_rpc``) and its relay does the work."""

from __future__ import annotations

from typing import Any

from pasokh_common.rpc import RpcProxy

from gateway.api import Access, Call, Reply, api
from gateway.base import RPC_TIMEOUT_SECONDS, GatewayBase
from gateway.schemas import load
from gateway.schemas import replays as bodies

TAGS = ("administration",)
REPLAYS = "/api/v1/admin/replays/<service>"


class ReplayRoutes(GatewayBase):
    # The other services' proxies are in GatewayBase; only replays talk to notify.
    notify = RpcProxy("notify", expiration=RPC_TIMEOUT_SECONDS)

    def _service(self, service: str, job_id: str | None = None) -> tuple[Any, dict]:
        """The service's RPC proxy, from a checked path (an unknown service or a job id
        that is not a number is 400 naming the field, not an unexplained 404)."""
        path: dict[str, Any] = {"service": service[:20]}
        if job_id is not None:
            path["job_id"] = job_id[:20]
        checked = load(bodies.ReplayPath(), path)
        return getattr(self, checked["service"]), checked

    @staticmethod
    def _caller(call: Call, service: str) -> Any:
        """identity checks the access token itself; the others take the actor."""
        return call.token if service == "identity" else call.actor

    @api(
        "POST",
        REPLAYS,
        summary="Replay a service's events into a new subscriber's queue, then go live",
        access=Access.ADMIN,
        tags=TAGS,
        body=bodies.ReplayBody,
        status=201,
        response=bodies.ReplayJob,
        description=(
            "The service's relay copies the history (from the beginning, `from_position`"
            " or `from_time`; only events `binding_keys` route) into `queue`, then binds"
            " the queue to `<service>.events` with those keys: no gap, no duplicate. Do"
            " not bind the queue yourself. 409 `replay_already_active` if the queue has a"
            " running or live replay."
        ),
    )
    def start_replay(self, call: Call, service: str) -> Any:
        proxy, checked = self._service(service)
        job = self._rpc(proxy.start_replay, self._caller(call, checked["service"]), call.body)
        location = f"/api/v1/admin/replays/{checked['service']}/{job['job_id']}"
        return Reply(job, 201, {"Location": location})

    @api(
        "GET",
        REPLAYS,
        summary="A service's replay jobs, newest first (100), with their progress",
        access=Access.ADMIN,
        tags=TAGS,
        response=bodies.ReplayJobs,
    )
    def list_replays(self, call: Call, service: str) -> Any:
        proxy, checked = self._service(service)
        return self._rpc(proxy.replay_status, self._caller(call, checked["service"]))

    @api(
        "GET",
        f"{REPLAYS}/<job_id>",
        summary="One replay job and its progress",
        access=Access.ADMIN,
        tags=TAGS,
        response=bodies.ReplayJob,
    )
    def get_replay(self, call: Call, service: str, job_id: str) -> Any:
        proxy, checked = self._service(service, job_id)
        caller = self._caller(call, checked["service"])
        return self._rpc(proxy.replay_status, caller, checked["job_id"])

    @api(
        "POST",
        f"{REPLAYS}/<job_id>/cancel",
        summary="Stop a replay that is not live yet (what was sent stays in the queue)",
        access=Access.ADMIN,
        tags=TAGS,
        response=bodies.ReplayJob,
    )
    def cancel_replay(self, call: Call, service: str, job_id: str) -> Any:
        proxy, checked = self._service(service, job_id)
        caller = self._caller(call, checked["service"])
        return self._rpc(proxy.cancel_replay, caller, checked["job_id"])
