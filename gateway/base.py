"""What every route shares: the RPC proxies, the per-process runtime (settings, token
cache, rate limits, department list) and the request pipeline ``_serve``.

The pipeline's order is deliberate and cheap-first: the declared size (refuse a huge
body unread), the address rate limit of authentication routes (before any work),
the token (before reading the body), the role, the per-account limit of ticket
creation, then the body and query through their marshmallow schemas. Any error on the
way becomes the one JSON error shape in the caller's language.
"""

from __future__ import annotations

from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.errors import ServiceError
from pasokh_common.rpc import RpcProxy
from pasokh_common.settings import env_float
from pasokh_common.validation import shared_schema

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request, Response

from gateway import metrics, rpc
from gateway.api import STAFF_ROLES, Access, Call, Limit, Reply, RouteSpec, multidict_to_data
from gateway.auth import TokenCache, bearer_token
from gateway.config import GatewayConfig
from gateway.directory import DepartmentCache
from gateway.error_mapping import choose_language
from gateway.errors import NotPermitted, RateLimited, TicketNotFound
from gateway.ratelimit import TokenBuckets
from gateway.request_meta import client_address
from gateway.schemas import load
from gateway.uploads import (
    enforce_declared_length,
    media_type,
    read_json,
    read_multipart,
)
from gateway.web import REQUEST_ID_KEY, error_response, json_response

# Read at import: RpcProxy options are fixed when the class is defined. A request
# abandoned by the gateway also expires in the service's queue.
RPC_TIMEOUT_SECONDS = env_float("GATEWAY_RPC_TIMEOUT_SECONDS", 30.0)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Runtime(DependencyProvider):
    """Made once per process at start-up (a bad setting stops the process then)."""

    def setup(self) -> None:
        self.config = GatewayConfig.from_env()
        self.tokens = TokenCache(self.config.token_cache_seconds, self.config.token_cache_size)
        self.limits: dict[Limit, TokenBuckets | None] = {
            Limit.AUTH: _buckets(self.config.auth_rate, self.config.rate_limit_keys),
            Limit.OPEN_TICKET: _buckets(self.config.open_ticket_rate, self.config.rate_limit_keys),
        }
        self.departments = DepartmentCache(self.config.departments_cache_seconds)

    def get_dependency(self, worker_ctx) -> Runtime:
        return self


def _buckets(limit, max_keys: int) -> TokenBuckets | None:
    return TokenBuckets(limit, max_keys) if limit is not None else None


class GatewayBase:
    identity = RpcProxy("identity", expiration=RPC_TIMEOUT_SECONDS)
    tickets = RpcProxy("tickets", expiration=RPC_TIMEOUT_SECONDS)
    sla = RpcProxy("sla", expiration=RPC_TIMEOUT_SECONDS)
    runtime = Runtime()

    # -- helpers for handlers --------------------------------------------------------

    def _rpc(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        return rpc.call(method, *args, timeout=self.runtime.config.rpc_timeout_seconds, **kwargs)

    def _ticket_rpc(self, method: Any, *args: Any) -> Any:
        """An RPC about one ticket. The tickets service answers staff of another
        department 404 on reads but 403 ``not_in_department`` on commands; the API
        promises 404 for any ticket the caller may not see (nothing to probe), so the
        403 becomes the same 404 a read gives."""
        try:
            return self._rpc(method, *args)
        except ServiceError as error:
            if error.code == "not_in_department":
                raise TicketNotFound(str(error.payload.get("detail"))) from error
            raise

    def _department_exists(self, department_id: str) -> bool:
        return self.runtime.departments.exists(
            department_id, lambda: self._rpc(self.identity.list_departments)
        )

    # -- the pipeline ----------------------------------------------------------------

    def _serve(
        self, spec: RouteSpec, handler: Any, request: Request, path_values: dict[str, str]
    ) -> Response:
        config = self.runtime.config
        call = Call(
            request=request,
            request_id=str(request.environ.get(REQUEST_ID_KEY, "")),
            language=choose_language(request.headers.get("Accept-Language")),
            client_address=client_address(request.environ, config.trusted_proxy_hops),
        )
        try:
            if request.method in _BODY_METHODS:
                enforce_declared_length(request, self._body_cap(spec, request))
            if spec.rate is Limit.AUTH:
                self._limit(Limit.AUTH, call.client_address)
            if spec.access is not Access.PUBLIC:
                call.actor, call.token = self._authenticate(request)
                _check_role(spec.access, call.actor)
            if spec.rate is Limit.OPEN_TICKET:
                self._limit(Limit.OPEN_TICKET, call.actor_id)
            if spec.query is not None:
                schema = shared_schema(spec.query)
                call.query = load(schema, multidict_to_data(schema, request.args))
            if spec.body is not None:
                self._read_body(spec, request, call)
            result = handler(self, call, **path_values)
        except Exception as exc:
            return error_response(exc, request, call.request_id)
        return _to_response(result, spec.status)

    def _body_cap(self, spec: RouteSpec, request: Request) -> int:
        config = self.runtime.config
        if spec.multipart and media_type(request) == "multipart/form-data":
            return config.max_multipart_bytes
        return config.max_json_bytes

    def _limit(self, limit: Limit, key: str) -> None:
        buckets = self.runtime.limits.get(limit)
        if buckets is None:
            return
        wait = buckets.take(key)
        if wait > 0:
            metrics.RATE_LIMITED.labels(limit.value).inc()
            raise RateLimited(wait)

    def _authenticate(self, request: Request) -> tuple[dict[str, Any], str]:
        token = bearer_token(request.headers)
        actor = self.runtime.tokens.get(token)
        if actor is None:
            actor = self._rpc(self.identity.validate_token, token)
            self.runtime.tokens.put(token, actor)
        return actor, token

    def _read_body(self, spec: RouteSpec, request: Request, call: Call) -> None:
        config = self.runtime.config
        assert spec.body is not None
        schema = shared_schema(spec.body)
        kind = media_type(request)
        if spec.multipart and kind == "multipart/form-data":
            form, call.files = read_multipart(
                request,
                config.max_multipart_bytes,
                config.max_attachment_bytes,
                config.max_attachments,
            )
            call.body = load(schema, multidict_to_data(schema, form))
            return
        call.body = load(schema, read_json(request, config.max_json_bytes))


def _check_role(access: Access, actor: dict[str, Any]) -> None:
    role = actor.get("role")
    if access is Access.STAFF and role not in STAFF_ROLES:
        raise NotPermitted(f"{role} on a staff route")
    if access is Access.ADMIN and role != "admin":
        raise NotPermitted(f"{role} on an admin route")


def _to_response(result: Any, default_status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, Reply):
        return json_response(result.data, result.status or default_status, result.headers)
    return json_response(result, default_status)
