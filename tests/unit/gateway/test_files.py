"""Upload names, content sniffing and multipart parsing with its caps."""

from __future__ import annotations

import io
import zipfile

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.errors import (
    AttachmentTooLarge,
    AttachmentTypeMismatch,
    AttachmentTypeNotAllowed,
    InvalidMultipart,
    RequestTooLarge,
    TooManyAttachments,
)
from gateway.filenames import ascii_fallback, sanitise_file_name
from gateway.sniffing import CSV, DOCX, PDF, PNG, TEXT, XLSX, ZIP, checked_content_type, sniff
from gateway.uploads import read_json, read_multipart


def office(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}/main.xml", "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\رسید پرداخت.pdf", "رسید پرداخت.pdf"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ('a"b<c>d|e?.txt', "abcde.txt"),
        ("  ..hidden. ", "hidden"),
        ("CON.txt", "_CON.txt"),
        ("", "attachment"),
        ("نامه\u200cی اداری.docx", "نامه\u200cی اداری.docx"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_file_names_are_made_safe(given, kept):
    assert sanitise_file_name(given) == kept


def test_the_ascii_fallback_for_old_clients():
    assert ascii_fallback("رسید.pdf") == "attachment.pdf"
    assert ascii_fallback("report 2024.pdf") == "report 2024.pdf"


def test_magic_numbers_decide_the_type():
    assert sniff(b"%PDF-1.7 ...") == PDF
    assert sniff(b"\x89PNG\r\n\x1a\n....") == PNG
    assert sniff(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff(b"GIF89a..") == "image/gif"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(office("word")) == DOCX
    assert sniff(office("xl")) == XLSX
    assert sniff(office("other")) == ZIP
    assert sniff("سلام، متن ساده\n".encode()) == TEXT
    assert sniff(b"MZ\x90\x00\x03") is None
    assert sniff(b"text with a \x00 nul") is None
    assert sniff(b"") is None


def test_the_stored_type_is_what_the_bytes_prove():
    assert checked_content_type("scan.PDF", "application/octet-stream", b"%PDF-1.4") == PDF
    assert checked_content_type("data.csv", "application/vnd.ms-excel", b"a,b\n1,2\n") == CSV
    assert checked_content_type("noext", "", b"%PDF-1.4") == PDF
    assert checked_content_type("report.docx", "application/zip", office("word")) == DOCX
    with pytest.raises(AttachmentTypeMismatch):
        checked_content_type("invoice.pdf", "application/pdf", b"<html><script>")
    with pytest.raises(AttachmentTypeMismatch):
        checked_content_type("sheet.xlsx", "", office("word"))
    with pytest.raises(AttachmentTypeMismatch):
        checked_content_type("scan.pdf", "image/png", b"%PDF-1.4")
    with pytest.raises(AttachmentTypeNotAllowed):
        checked_content_type("page.html", "text/html", b"<html></html>")
    with pytest.raises(AttachmentTypeNotAllowed):
        checked_content_type("setup", "", b"MZ\x90\x00")


def multipart_request(files: list[tuple[str, str, bytes]], fields: dict | None = None) -> Request:
    data: dict = dict(fields or {})
    for field, name, content in files:
        data.setdefault(field, []).append((io.BytesIO(content), name))
    environ = EnvironBuilder(method="POST", data=data).get_environ()
    environ["wsgi.input_terminated"] = True
    return Request(environ)


def test_multipart_fields_and_checked_files():
    request = multipart_request(
        [("attachments", "a.txt", b"hello"), ("attachments", "b.pdf", b"%PDF-1.4")],
        {"subject": "موضوع"},
    )
    form, files = read_multipart(request, 10_000, 100, 2)
    assert form["subject"] == "موضوع"
    assert [(f.name, f.content_type, f.data) for f in files] == [
        ("a.txt", TEXT, b"hello"),
        ("b.pdf", PDF, b"%PDF-1.4"),
    ]


def test_multipart_caps():
    with pytest.raises(AttachmentTooLarge):
        read_multipart(multipart_request([("attachments", "a.txt", b"x" * 101)]), 10_000, 100, 2)
    three = [("attachments", f"{i}.txt", b"x") for i in range(3)]
    with pytest.raises(TooManyAttachments):
        read_multipart(multipart_request(three), 10_000, 100, 2)
    with pytest.raises(RequestTooLarge):
        read_multipart(multipart_request([("attachments", "a.txt", b"x" * 5000)]), 1000, 10_000, 2)
    with pytest.raises(InvalidMultipart):
        read_multipart(multipart_request([("other", "a.txt", b"x")]), 10_000, 100, 2)


def test_json_bodies_are_capped():
    def request(body: bytes) -> Request:
        return Request(
            EnvironBuilder(method="POST", data=body, content_type="application/json").get_environ()
        )

    assert read_json(request(b'{"a": 1}'), 8) == {"a": 1}
    with pytest.raises(RequestTooLarge):
        read_json(request(b'{"a": 12}'), 8)
