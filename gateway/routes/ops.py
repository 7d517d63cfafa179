"""Readiness and the API's own documentation. (``/healthz`` and ``/metrics`` are
answered by ``gateway.web`` without a worker, so they work when every worker is busy.)

``/readyz`` is 200 only when the process is not draining (SIGTERM), RabbitMQ takes
our messages, and identity and tickets answer an RPC within
``GATEWAY_READINESS_TIMEOUT_SECONDS``. Any answer counts, an error included: the
probe asks whether a service is there, not whether it likes the question. The
checks run side by side, so the probe costs one timeout at most.
"""

from __future__ import annotations

from typing import Any

from pasokh_common.errors import ServiceError
from pasokh_common.metrics import READINESS

import eventlet
from kombu.exceptions import KombuError
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.wrappers import Response

from gateway.api import Access, Call, Reply, api
from gateway.base import GatewayBase
from gateway.docs_page import render_docs
from gateway.openapi import build_document
from gateway.schemas import responses as shapes

TAGS = ("operations",)
PROBE_ACTOR = {
    "id": "gateway-readiness",
    "role": "system",
    "departments": [],
    "organisation_id": None,
}
# A cheap read that succeeds (an error would be logged by the service with a traceback
# at every probe) and touches the tickets database through one index look-up.
PROBE_QUERY = {
    "department": "readiness-probe",
    "subject": "readiness probe",
    "customer_id": "gateway-readiness",
}
BROKER_DOWN = "broker unreachable"
_DOCUMENT: dict[str, Any] = {}


def api_document() -> dict[str, Any]:
    """Built once per process: the routes do not change while it runs."""
    if not _DOCUMENT:
        _DOCUMENT.update(build_document())
    return _DOCUMENT


def probe(method: Any, args: tuple, timeout: float) -> str:
    timer = eventlet.Timeout(timeout)
    try:
        method.call_async(*args).result()
        return "ok"
    except ServiceError:
        return "ok"
    except eventlet.Timeout as exc:
        if exc is not timer:
            raise
        return "no answer"
    except UnknownService:
        return "not running"
    except (OSError, KombuError):
        return BROKER_DOWN
    except RemoteError:
        return "failing"
    finally:
        timer.cancel()


class OpsRoutes(GatewayBase):
    @api(
        "GET",
        "/readyz",
        summary="Readiness: RabbitMQ reachable, identity and tickets answering, not draining",
        access=Access.PUBLIC,
        tags=TAGS,
        response=shapes.Readiness,
    )
    def readyz(self, call: Call) -> Any:
        if not READINESS.is_ready():
            # Starting, draining after SIGTERM, or one of the runner's own checks failing.
            return Reply({"status": "not ready", "checks": {"process": "not ready"}}, 503)
        timeout = self.runtime.config.readiness_timeout_seconds
        pile = eventlet.GreenPile()
        pile.spawn(probe, self.identity.list_departments, (), timeout)
        pile.spawn(probe, self.tickets.similar_open_tickets, (PROBE_ACTOR, PROBE_QUERY), timeout)
        identity, tickets = list(pile)
        checks = {
            "rabbitmq": BROKER_DOWN if BROKER_DOWN in (identity, tickets) else "ok",
            "identity": identity,
            "tickets": tickets,
        }
        ready = all(state == "ok" for state in checks.values())
        return Reply(
            {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
        )

    @api(
        "GET",
        "/api/v1/openapi.json",
        summary="This API as an OpenAPI 3 document",
        access=Access.PUBLIC,
        tags=TAGS,
    )
    def openapi(self, call: Call) -> Any:
        return api_document()

    @api(
        "GET",
        "/api/v1/docs",
        summary="This API as a readable page",
        access=Access.PUBLIC,
        tags=TAGS,
        produces="text/html",
    )
    def docs(self, call: Call) -> Any:
        page = render_docs(api_document())
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'"
        )
        return response
