"""What every route shares: the error shape and its languages, request ids, size
limits, rate limits, content types, routing errors, probes and metrics."""

from __future__ import annotations

import json
import re
import socket
import urllib.parse
import uuid

import psycopg
import pytest
import requests

from tests.integration.gateway.client import (
    Api,
    error_of,
    new_phone,
    ok,
    open_ticket,
    register_customer,
)

pytestmark = pytest.mark.integration
MIB = 1024 * 1024


def raw_exchange(base_url: str, request_head: bytes, body_part: bytes) -> tuple[int, dict, bytes]:
    """Send a request head and only part of its body, then read the answer: a server
    that waited for the whole body would never answer (the socket times out)."""
    url = urllib.parse.urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=15) as sock:
        sock.sendall(request_head + body_part)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, "connection closed before an answer"
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(lines[0].split()[1]), headers, body


def attachment_count(stack) -> int:
    with psycopg.connect(stack.tickets_db["admin_url"]) as conn:
        return conn.execute("SELECT count(*) FROM tickets.attachment_blobs").fetchone()[0]


# -- the error shape and its languages --------------------------------------------------


def test_errors_have_one_shape_in_persian_by_default_and_english_on_request(stack):
    fa = error_of(Api(stack.base_url).post("/api/v1/auth/login", {"login": ""}), 400)
    assert fa["code"] == "validation_failed"
    assert fa["message"] == "برخی از فیلدها نامعتبر است."
    assert fa["fields"]["password"] == ["این فیلد الزامی است."]
    assert fa["fields"]["login"] == ["طول متن مجاز نیست."]

    english = Api(stack.base_url, language="en-US,en;q=0.9,fa;q=0.5")
    response = english.post("/api/v1/auth/login", {"login": "", "extra": 1})
    en = error_of(response, 400)
    assert en["message"] == "Some fields are invalid."
    assert en["fields"]["password"] == ["Missing data for required field."]
    assert en["fields"]["extra"] == ["Unknown field."]
    assert response.headers["Content-Language"] == "en"
    other = Api(stack.base_url, language="de-DE")
    assert error_of(other.get("/api/v1/me"), 401)["message"].startswith("لطفاً وارد شوید")


def test_a_service_error_keeps_its_code_status_and_language(stack):
    response = Api(stack.base_url, language="en").post(
        "/api/v1/auth/login", {"login": new_phone(), "password": "wrong password!"}
    )
    error = error_of(response, 401)
    assert error["code"] == "invalid_credentials"
    assert error["message"] == "The mobile number, username or password is not correct."


# -- request ids -------------------------------------------------------------------------


def test_request_ids_are_echoed_or_made_and_reach_the_audit_trail(stack, admin, department):
    api = Api(stack.base_url)
    mine = f"client-{uuid.uuid4().hex}"
    assert api.get("/healthz", headers={"X-Request-ID": mine}).headers["X-Request-ID"] == mine
    answered = api.get("/api/v1/nowhere", headers={"X-Request-ID": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", answered.headers["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", api.get("/readyz").headers["X-Request-ID"])

    customer = register_customer(stack)
    opening_id = f"open-{uuid.uuid4().hex}"
    response = customer.api.post(
        "/api/v1/tickets",
        {"department": department, "subject": "شناسهٔ درخواست در رد رویداد", "body": "متن"},
        headers={"X-Request-ID": opening_id},
    )
    ticket = ok(response, 201)
    assert response.headers["X-Request-ID"] == opening_id
    trail = ok(admin.api.get(f"/api/v1/tickets/{ticket['ticket_id']}/history"))
    assert trail[0]["type"] == "TicketOpened"
    assert trail[0]["correlation_id"] == opening_id


# -- sizes -----------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_before_it_is_read(stack):
    customer = register_customer(stack)
    declared = 60 * MIB  # more than GATEWAY_MAX_ATTACHMENTS (2) x 10 MB + 1 MB
    head = (
        "POST /api/v1/tickets HTTP/1.1\r\n"
        f"Host: gateway\r\nAuthorization: Bearer {customer.api.token}\r\n"
        f"X-Forwarded-For: {customer.api.address}\r\nAccept-Language: en\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    status, headers, body = raw_exchange(stack.base_url, head, b"x" * 65536)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_too_large"
    assert headers.get("connection", "").lower() == "close"

    json_head = head.replace(b"multipart/form-data; boundary=xyz", b"application/json").replace(
        str(declared).encode(), str(2 * MIB).encode()
    )
    status, _, body = raw_exchange(stack.base_url, json_head, b"{")
    assert status == 413 and json.loads(body)["error"]["code"] == "request_too_large"


def test_a_file_over_10_mb_is_refused_while_streaming_and_nothing_is_stored(stack, department):
    customer = register_customer(stack)
    before = attachment_count(stack)
    response = customer.api.post(
        "/api/v1/tickets",
        data={"department": department, "subject": "فایل بزرگ", "body": "پیوست بزرگ"},
        files={"attachments": ("big.pdf", b"%PDF-1.7\n" + b"0" * (10 * MIB), "application/pdf")},
    )
    assert error_of(response, 413)["code"] == "attachment_too_large"
    assert attachment_count(stack) == before
    assert ok(customer.api.get("/api/v1/tickets"))["total"] == 0


def test_chunked_bodies_are_read_with_the_same_caps(stack):
    api = Api(stack.base_url, language="en")

    def chunks():
        yield b'{"login": "someone",'
        yield b' "password": ""}'

    response = api.post(
        "/api/v1/auth/login", data=chunks(), headers={"Content-Type": "application/json"}
    )
    # The body was read (not taken as empty): the error is about the empty password.
    assert error_of(response, 400)["fields"] == {"password": ["Length must be between 1 and 1000."]}

    def endless():  # no Content-Length: only the stream's cap stops it (1 MiB for JSON)
        yield b'{"login": "'
        for _ in range(24):
            yield b"x" * 65536

    response = api.post(
        "/api/v1/auth/login", data=endless(), headers={"Content-Type": "application/json"}
    )
    assert error_of(response, 413)["code"] == "request_too_large"


# -- content types ---------------------------------------------------------------------------


def test_bodies_must_be_json_or_multipart(stack):
    api = Api(stack.base_url)
    response = api.post(
        "/api/v1/auth/login", data="login=x", headers={"Content-Type": "text/plain"}
    )
    assert error_of(response, 415)["code"] == "unsupported_media_type"
    response = api.post(
        "/api/v1/auth/login", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert error_of(response, 400)["code"] == "invalid_json"
    assert error_of(api.post("/api/v1/auth/login", [1, 2]), 400)["code"] == "validation_failed"


def test_a_file_whose_bytes_contradict_its_name_is_refused(stack, department):
    customer = register_customer(stack)
    before = attachment_count(stack)
    html = b"<!doctype html><script>alert(1)</script>"
    mismatch, not_allowed = "attachment_type_mismatch", "attachment_type_not_allowed"
    cases = [
        (("invoice.pdf", html, "application/pdf"), mismatch),
        (("photo.png", b"\xff\xd8\xff\xe0JFIF", "image/png"), mismatch),
        (("notes.txt", b"%PDF-1.4 real pdf", "text/plain"), mismatch),
        (("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00", "application/octet-stream"), not_allowed),
        (("page.html", html, "text/html"), not_allowed),
    ]
    for file, code in cases:
        response = customer.api.post("/api/v1/attachments", files={"attachments": file})
        assert error_of(response, 415)["code"] == code, file[0]
    assert attachment_count(stack) == before


# -- rate limits ----------------------------------------------------------------------------


def test_authentication_routes_are_rate_limited_per_client_address(stack):
    api = Api(stack.base_url)
    answers = [api.post("/api/v1/auth/login", {}) for _ in range(13)]  # limit: 12/60
    assert [a.status_code for a in answers] == [400] * 12 + [429]
    error = error_of(answers[-1], 429)
    assert error["code"] == "rate_limited"
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert error["retry_after_seconds"] == int(answers[-1].headers["Retry-After"])
    # Another address is not affected.
    assert Api(stack.base_url).post("/api/v1/auth/login", {}).status_code == 400


def test_ticket_creation_is_rate_limited_per_account(stack, department):
    customer = register_customer(stack)
    answers = [customer.api.post("/api/v1/tickets", {}) for _ in range(7)]  # limit: 6/60
    assert [a.status_code for a in answers] == [400] * 6 + [429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    # The limit is per account: another customer behind the same address opens fine.
    other = register_customer(stack)
    other.api.address = customer.api.address
    open_ticket(other, department)


def test_identity_throttling_comes_back_as_429_with_retry_after(stack):
    customer = register_customer(stack)
    for _ in range(5):
        customer.api.post(
            "/api/v1/auth/login", {"login": customer.phone, "password": "nope nope nope"}
        )
    response = customer.api.post(
        "/api/v1/auth/login", {"login": customer.phone, "password": "a long enough secret"}
    )
    assert error_of(response, 429)["code"] == "login_throttled"
    assert int(response.headers["Retry-After"]) >= 1


# -- routing ---------------------------------------------------------------------------------


def test_unknown_routes_and_methods_answer_in_the_error_shape(stack):
    api = Api(stack.base_url, language="en")
    assert error_of(api.get("/api/v1/nothing-here"), 404)["code"] == "not_found"
    assert error_of(api.get("/api/v1/tickets/not-a-uuid"), 404)["code"] == "not_found"
    response = api.delete("/api/v1/auth/login")
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


# -- operations ------------------------------------------------------------------------------


def test_probes_and_red_metrics_by_route_rule(stack, department):
    api = Api(stack.base_url)
    assert ok(api.get("/healthz")) == {"status": "ok"}
    ready = ok(api.get("/readyz"))
    assert ready == {
        "status": "ready",
        "checks": {"rabbitmq": "ok", "identity": "ok", "tickets": "ok"},
    }
    customer = register_customer(stack)
    ticket = open_ticket(customer, department)
    ok(customer.api.get(f"/api/v1/tickets/{ticket['ticket_id']}"))
    customer.api.get(f"/api/v1/tickets/{uuid.uuid4()}")
    text = requests.get(stack.base_url + "/metrics", timeout=10).text
    samples = [
        line for line in text.splitlines() if line.startswith("pasokh_gateway_requests_total{")
    ]
    labels = [dict(re.findall(r'(\w+)="([^"]*)"', line)) for line in samples]
    routes = {(lbl["route"], lbl["method"], lbl["status"]) for lbl in labels}
    assert ("/api/v1/tickets/<uuid:ticket_id>", "GET", "200") in routes
    assert ("/api/v1/tickets/<uuid:ticket_id>", "GET", "404") in routes
    assert ("/api/v1/tickets", "POST", "201") in routes
    assert not any(ticket["ticket_id"] in lbl["route"] for lbl in labels)
    assert 'pasokh_gateway_request_seconds_bucket{le="0.005",route="/api/v1/tickets"}' in text or (
        'pasokh_gateway_request_seconds_bucket{route="/api/v1/tickets",le="0.005"}' in text
    )


def test_the_openapi_document_lists_every_route_and_the_docs_page_renders_it(stack):
    import gateway.service  # noqa: F401  (declares the routes)
    from gateway.api import ROUTES
    from gateway.openapi import openapi_path

    api = Api(stack.base_url)
    response = api.get("/api/v1/openapi.json")
    document = ok(response)
    assert response.headers["Content-Type"].startswith("application/json")
    assert document["openapi"].startswith("3.")
    listed = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    declared = {(r.method, openapi_path(r.path)[0]) for r in ROUTES}
    assert declared <= listed
    assert {("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/readyz")} <= listed
    assert len(declared) >= 40
    opening = document["paths"]["/api/v1/tickets"]["post"]
    schema = opening["requestBody"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    assert set(document["components"]["schemas"][name]["required"]) == {
        "department",
        "subject",
        "body",
    }
    assert "multipart/form-data" in opening["requestBody"]["content"]

    page = api.get("/api/v1/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "/api/v1/tickets/{ticket_id}/claim" in page.text
    assert "<script" not in page.text and "http://" not in page.text.replace(stack.base_url, "")
