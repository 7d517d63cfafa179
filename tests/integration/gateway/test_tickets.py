"""A customer's ticket routes through HTTP: open (JSON and multipart), list, read,
reply, close, reopen, rate, attachments; duplicates and Latin-script Persian."""

from __future__ import annotations

import io
import uuid
import zipfile

import pytest

from tests.integration.gateway.client import (
    error_of,
    new_agent,
    new_department,
    ok,
    open_ticket,
    register_customer,
)

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def test_open_with_attachments_as_multipart_then_read_and_download(stack, department):
    customer = register_customer(stack)
    response = customer.api.post(
        "/api/v1/tickets",
        data={"department": department, "subject": "رسید پرداخت", "body": "رسید پیوست است",
              "priority": "high", "needs_follow_up": "true"},
        files=[
            ("attachments", ("../../etc/رسید\u202egnp.exe.png", PNG, "image/png")),
            ("attachments", ("report.docx", docx_bytes(), "application/octet-stream")),
        ],
    )  # fmt: skip
    ticket = ok(response, 201)
    assert response.headers["Location"] == f"/api/v1/tickets/{ticket['ticket_id']}"
    assert (ticket["priority"], ticket["needs_follow_up"], ticket["status"]) == (
        "high",
        True,
        "unanswered",
    )

    detail = ok(customer.api.get(f"/api/v1/tickets/{ticket['ticket_id']}"))
    [opening] = detail["messages"]
    names = {a["name"]: a for a in opening["attachments"]}
    assert set(names) == {"رسیدgnp.exe.png", "report.docx"}
    assert names["report.docx"]["content_type"].endswith("wordprocessingml.document")

    download = customer.api.get(f"/api/v1/attachments/{names['رسیدgnp.exe.png']['attachment_id']}")
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["Content-Type"] == "image/png"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "filename*=UTF-8''%D8%B1%D8%B3%DB%8C%D8%AFgnp.exe.png" in disposition
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_upload_first_then_refer_by_id_and_reply(stack, department):
    customer = register_customer(stack)
    uploaded = ok(
        customer.api.post(
            "/api/v1/attachments", files={"attachments": ("a.txt", "سلام".encode(), "text/plain")}
        ),
        201,
    )["attachments"]
    assert uploaded[0]["content_type"] == "text/plain" and uploaded[0]["size"] == len(
        "سلام".encode()
    )
    ticket = open_ticket(customer, department, attachment_ids=[uploaded[0]["attachment_id"]])
    reply = ok(
        customer.api.post(
            f"/api/v1/tickets/{ticket['ticket_id']}/replies",
            data={"body": "توضیح بیشتر"},
            files={"attachments": ("photo.png", PNG, "image/png")},
        ),
        201,
    )
    assert reply["message_count"] == 2 and reply["warnings"] == []
    messages = ok(customer.api.get(f"/api/v1/tickets/{ticket['ticket_id']}"))["messages"]
    assert [len(m["attachments"]) for m in messages] == [1, 1]


def test_list_mine_by_status_and_page_then_close_reopen_and_rate(stack, department, admin):
    customer = register_customer(stack)
    tickets = [open_ticket(customer, department) for _ in range(3)]
    first, second = tickets[0]["ticket_id"], tickets[1]["ticket_id"]
    page = ok(customer.api.get("/api/v1/tickets", params={"per_page": 2, "page": 2}))
    assert (page["total"], page["page"], len(page["items"])) == (3, 2, 1)

    closed = ok(customer.api.post(f"/api/v1/tickets/{first}/close", {"reason": "حل شد"}))
    assert closed["status"] == "closed"
    listed = ok(customer.api.get("/api/v1/tickets", params={"status": "closed"}))
    assert [t["ticket_id"] for t in listed["items"]] == [first]
    assert ok(customer.api.get("/api/v1/tickets", params={"status": "unanswered"}))["total"] == 2

    rated = ok(
        customer.api.post(f"/api/v1/tickets/{first}/rating", {"score": 5, "comment": "عالی"})
    )
    assert rated["rating"] == 5
    assert (
        error_of(customer.api.post(f"/api/v1/tickets/{first}/rating", {"score": 4}), 409)["code"]
        == "already_rated"
    )
    ok(customer.api.post(f"/api/v1/tickets/{second}/close", {}))
    assert ok(customer.api.post(f"/api/v1/tickets/{second}/reopen", {}))["status"] == "unanswered"

    found = ok(
        customer.api.get(
            f"/api/v1/tickets/by-number/{tickets[2]['number'][:4]}-{tickets[2]['number'][4:]}"
        )
    )
    assert found["ticket_id"] == tickets[2]["ticket_id"] and found["number_display"].count("-") == 1


def test_bad_ticket_input_is_400_with_field_errors_and_opens_nothing(stack, department):
    customer = register_customer(stack)
    customer.api.language = "en"
    good = {"department": department, "subject": "موضوع", "body": "متن"}
    cases = [
        ({**good, "subject": "x", "body": ""}, {"subject", "body"}),
        ({**good, "priority": "asap"}, {"priority"}),
        ({**good, "attachment_ids": ["nope"]}, {"attachment_ids"}),
        ({**good, "department": "no-such-department"}, {"department"}),
        ({**good, "status": "closed"}, {"status"}),
    ]
    for body, fields in cases:
        error = error_of(customer.api.post("/api/v1/tickets", body), 400)
        assert error["code"] == "validation_failed" and set(error["fields"]) == fields, body
    customer.api.language = "fa"
    error = error_of(customer.api.post("/api/v1/tickets", cases[0][0]), 400)
    assert error["fields"]["body"] == ["طول متن مجاز نیست."]
    assert ok(customer.api.get("/api/v1/tickets"))["total"] == 0
    error = error_of(
        customer.api.get("/api/v1/tickets", params={"status": "lost", "per_page": 0}), 400
    )
    assert set(error["fields"]) == {"status", "per_page"}


def test_a_similar_open_subject_is_a_409_with_the_existing_number_unless_a_different_matter(
    stack, admin, department
):
    customer = register_customer(stack)
    first = open_ticket(customer, department, "مشکل در پرداخت قبض برق")
    # Typed on an Arabic keyboard, with another word and without the ZWNJ: still the same matter.
    response = customer.api.post(
        "/api/v1/tickets",
        {"department": department, "subject": "مشكل پرداخت قبض برق", "body": "دوباره"},
    )
    error = error_of(response, 409)
    assert error["code"] == "duplicate_ticket"
    assert error["existing_ticket"]["number"] == first["number"]
    assert first["number"][:4] in error["message"]
    # With a file (multipart: the check runs on its own before the file is stored).
    response = customer.api.post(
        "/api/v1/tickets",
        data={"department": department, "subject": "مشکل در پرداخت قبض برق", "body": "پیوست"},
        files=[("attachments", ("receipt.png", PNG, "image/png"))],
    )
    assert error_of(response, 409)["existing_ticket"]["number"] == first["number"]
    assert ok(customer.api.get("/api/v1/tickets"))["total"] == 1

    open_ticket(customer, department, "درخواست تغییر نشانی")  # another matter: fine
    other_department = new_department(admin, "other")
    open_ticket(customer, other_department, "مشکل در پرداخت قبض برق")  # another department
    second = open_ticket(customer, department, "مشکل در پرداخت قبض برق", different_matter=True)
    assert second["number"] != first["number"]
    # Another customer's open ticket never counts.
    open_ticket(register_customer(stack), department, "مشکل در پرداخت قبض برق")


def test_latin_script_persian_is_flagged_or_refused_where_persian_is_required(stack, admin):
    customer = register_customer(stack)
    ok(
        admin.api.post(
            "/api/v1/departments", {"department_id": "persian-only", "name": "فقط فارسی"}
        ),
        201,
    )
    general = new_department(admin, "general")
    finglish = {"subject": "moshkel dar pardakht ghabz", "body": "salam, ghabzam pardakht nashode"}
    ticket = ok(customer.api.post("/api/v1/tickets", {"department": general, **finglish}), 201)
    assert ticket["warnings"] == ["latin_script_persian"]
    agent = new_agent(stack, admin, [general])
    seen = ok(agent.api.get(f"/api/v1/tickets/{ticket['ticket_id']}"))
    assert seen["flags"] == ["latin_script_persian"]
    assert seen["messages"][0]["flags"] == ["latin_script_persian"]

    customer.api.language = "en"
    error = error_of(
        customer.api.post("/api/v1/tickets", {"department": "persian-only", **finglish}), 400
    )
    assert error["code"] == "latin_script_not_accepted" and set(error["fields"]) == {
        "subject",
        "body",
    }
    english = {"subject": "Payment problem", "body": "My bill was not paid, please help."}
    ok(customer.api.post("/api/v1/tickets", {"department": "persian-only", **english}), 201)
    in_persian = {"department": "persian-only", "subject": "پرداخت", "body": "قبض"}
    persian = ok(customer.api.post("/api/v1/tickets", in_persian), 201)
    reply = customer.api.post(
        f"/api/v1/tickets/{persian['ticket_id']}/replies", {"body": "salam, lotfan peygiri konid"}
    )
    assert error_of(reply, 400)["code"] == "latin_script_not_accepted"
    flagged = ok(
        customer.api.post(
            f"/api/v1/tickets/{ticket['ticket_id']}/replies",
            {"body": "mamnoon, hanooz dorost nashode"},
        ),
        201,
    )
    assert flagged["warnings"] == ["latin_script_persian"]


def test_a_retried_command_with_an_idempotency_key_acts_once(stack, department):
    customer = register_customer(stack)
    ticket = open_ticket(customer, department)
    key = {"Idempotency-Key": f"reply-{uuid.uuid4().hex}"}
    path = f"/api/v1/tickets/{ticket['ticket_id']}/replies"
    first = ok(customer.api.post(path, {"body": "یک بار"}, headers=key), 201)
    again = ok(customer.api.post(path, {"body": "یک بار"}, headers=key), 201)
    assert first["message_count"] == again["message_count"] == 2
