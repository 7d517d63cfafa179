"""The OpenAPI document comes from the route declarations and the request schemas."""

from __future__ import annotations

import json

import pytest

import gateway.service  # noqa: F401  (declares the routes)
from gateway.api import ROUTES, Access
from gateway.docs_page import render_docs
from gateway.openapi import build_document, openapi_path
from gateway.schemas import load
from gateway.schemas.tickets import MergeBody, OpenTicketBody

REQUIRED_ROUTES = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/verify-phone"),
    ("POST", "/api/v1/auth/resend-code"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/password-reset"),
    ("POST", "/api/v1/auth/password-reset/confirm"),
    ("POST", "/api/v1/tickets"),
    ("GET", "/api/v1/tickets"),
    ("GET", "/api/v1/tickets/{ticket_id}"),
    ("POST", "/api/v1/tickets/{ticket_id}/replies"),
    ("POST", "/api/v1/tickets/{ticket_id}/close"),
    ("POST", "/api/v1/tickets/{ticket_id}/reopen"),
    ("POST", "/api/v1/tickets/{ticket_id}/rating"),
    ("GET", "/api/v1/attachments/{attachment_id}"),
    ("GET", "/api/v1/departments/{department_id}/queue"),
    ("POST", "/api/v1/tickets/{ticket_id}/claim"),
    ("POST", "/api/v1/tickets/{ticket_id}/release"),
    ("POST", "/api/v1/tickets/{ticket_id}/notes"),
    ("POST", "/api/v1/tickets/{ticket_id}/transfer"),
    ("POST", "/api/v1/tickets/{ticket_id}/priority"),
    ("POST", "/api/v1/tickets/{ticket_id}/merge"),
    ("GET", "/api/v1/tickets/by-number/{number}"),
    ("GET", "/api/v1/tickets/{ticket_id}/history"),
    ("GET", "/api/v1/tickets/{ticket_id}/audit-trail/export"),
    ("GET", "/api/v1/departments"),
    ("POST", "/api/v1/departments"),
    ("POST", "/api/v1/agents"),
    ("GET", "/api/v1/tickets/{ticket_id}/deadlines"),
    ("GET", "/api/v1/calendars/{calendar_id}/months/{jalali_year}/{jalali_month}"),
    ("GET", "/api/v1/calendars"),
    ("GET", "/api/v1/calendars/{calendar_id}"),
    ("PUT", "/api/v1/calendars/{calendar_id}"),
    ("PUT", "/api/v1/calendars/{calendar_id}/holidays/{date}"),
    ("DELETE", "/api/v1/calendars/{calendar_id}/holidays/{date}"),
    ("PUT", "/api/v1/departments/{department_id}/calendar"),
    ("GET", "/api/v1/sla/policies"),
    ("PUT", "/api/v1/sla/policies"),
    ("DELETE", "/api/v1/sla/policies/{priority}/{department}"),
    ("GET", "/api/v1/admin/dead-letters"),
    ("POST", "/api/v1/admin/dead-letters/replay"),
    ("POST", "/api/v1/admin/users/{user_id}/erase"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),
}


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(json.dumps(build_document()))  # JSON-clean, like the served one


def test_every_required_and_declared_route_is_documented(document):
    listed = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert listed >= REQUIRED_ROUTES
    assert {(r.method, openapi_path(r.path)[0]) for r in ROUTES} <= listed
    assert len({r.name for r in ROUTES}) == len(ROUTES)  # operation ids are unique


def test_the_audit_export_answers_json_or_a_page_by_its_format_query(document):
    operation = document["paths"]["/api/v1/tickets/{ticket_id}/audit-trail/export"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/html"}
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["format"]
    assert operation["x-access"] == "staff"


def test_every_reference_resolves(document):
    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    for ref in refs(document):
        section, name = ref.split("/")[-2:]
        assert name in document["components"][section], ref


def test_operations_say_how_to_call_them(document):
    claim = document["paths"]["/api/v1/tickets/{ticket_id}/claim"]["post"]
    assert claim["security"] == [{"bearerAuth": []}] and claim["x-access"] == Access.STAFF
    assert claim["parameters"][0] == {
        "name": "ticket_id", "in": "path", "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }  # fmt: skip
    assert {"401", "403", "404"} <= set(claim["responses"])
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert login["security"] == [] and "429" in login["responses"]
    listing = document["paths"]["/api/v1/tickets"]["get"]
    status = next(p for p in listing["parameters"] if p["name"] == "status")
    assert status["in"] == "query"
    assert status["schema"]["enum"] == ["unanswered", "under_review", "answered", "closed"]
    opening = document["components"]["schemas"]["OpenTicketBody"]
    assert opening["additionalProperties"] is False
    assert opening["properties"]["subject"] == {
        "type": "string", "minLength": 3, "maxLength": 200, "description": "subject",
    }  # fmt: skip
    assert opening["properties"]["attachment_ids"]["items"] == {"type": "string", "format": "uuid"}
    multipart = document["paths"]["/api/v1/tickets"]["post"]["requestBody"]["content"]
    assert multipart["multipart/form-data"]["schema"]["properties"]["attachments"]["items"] == {
        "type": "string", "format": "binary",
    }  # fmt: skip


def test_the_docs_page_is_self_contained_and_escaped():
    page = render_docs(
        {
            "info": {"title": "T", "description": "<b>x</b>"},
            "paths": {"/a": {"get": {"operationId": "a", "summary": "<script>alert(1)</script>"}}},
        }
    )
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page


def test_request_schemas_normalise_persian_and_explain_in_both_languages():
    loaded = load(OpenTicketBody(), {"department": "d", "subject": "مشكل علي", "body": "ي"})
    assert loaded["subject"] == "مشکل علی" and loaded["different_matter"] is False
    with pytest.raises(Exception) as refused:
        load(MergeBody(), {})
    [message] = refused.value.fields["into_ticket_id"]
    assert message["en"].startswith("Give exactly one") and message["fa"].startswith("دقیقاً")
