"""Authorisation on every route: no token or a bad one is 401 everywhere it is
needed; another customer's tickets and attachments are 404, never 403, and stay as
they were."""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest

import gateway.service  # noqa: F401  (declares the routes)
from gateway.api import ROUTES, Access
from tests.integration.gateway.client import Api, error_of, ok, open_ticket, register_customer

pytestmark = pytest.mark.integration
PROTECTED = [r for r in ROUTES if r.access is not Access.PUBLIC]


def concrete(path: str) -> str:
    """A URL for a route rule: a random UUID or word for each variable."""
    return re.sub(
        r"<(?:(\w+):)?(\w+)>",
        lambda m: str(uuid.uuid4()) if m.group(1) == "uuid" else "some-value",
        path,
    )


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def test_every_protected_route_needs_a_valid_token(stack):
    assert len(PROTECTED) >= 25
    customer = register_customer(stack)
    api = Api(stack.base_url, language="en")
    for route in PROTECTED:
        url = concrete(route.path)
        missing = error_of(api.request(route.method, url, json={}), 401)
        assert missing["code"] == "authentication_required", route.path
        assert (
            api.request(route.method, url, json={}).headers["WWW-Authenticate"].startswith("Bearer")
        )
        for bad in (tampered(customer.api.token), "not.a.token", "x" * 5000):
            error = error_of(api.request(route.method, url, json={}, token=bad), 401)
            assert error["code"] == "invalid_token", (route.path, bad[:20])
    basic = api.get("/api/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert error_of(basic, 401)["code"] == "invalid_token"


def test_another_customers_tickets_and_attachments_are_not_found(stack, department):
    owner, stranger = register_customer(stack), register_customer(stack)
    uploaded = ok(
        owner.api.post(
            "/api/v1/attachments", files={"attachments": ("a.txt", b"private", "text/plain")}
        ),
        201,
    )["attachments"][0]
    ticket = open_ticket(owner, department, attachment_ids=[uploaded["attachment_id"]])
    path = f"/api/v1/tickets/{ticket['ticket_id']}"
    attempts = [
        ("GET", path, None),
        ("GET", f"/api/v1/tickets/by-number/{ticket['number']}", None),
        ("POST", f"{path}/replies", {"body": "سلام"}),
        ("POST", f"{path}/close", {}),
        ("POST", f"{path}/reopen", {}),
        ("POST", f"{path}/rating", {"score": 1}),
        ("GET", f"/api/v1/attachments/{uploaded['attachment_id']}", None),
    ]
    for method, url, body in attempts:
        error = error_of(stranger.api.request(method, url, json=body), 404)
        assert error["code"] in ("not_found", "ticket_not_found"), url
    # The same answer as for a ticket that does not exist: nothing to probe.
    assert (
        error_of(stranger.api.get(f"/api/v1/tickets/{uuid.uuid4()}"), 404)["code"]
        == error_of(stranger.api.get(path), 404)["code"]
    )
    assert ok(stranger.api.get("/api/v1/tickets"))["total"] == 0
    seen = ok(owner.api.get(path))
    assert (seen["version"], seen["status"], seen["message_count"]) == (
        ticket["version"],
        "unanswered",
        1,
    )
