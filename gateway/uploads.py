"""Reading request bodies without letting a client make us read or hold too much.

Order of defences for a multipart upload:

1. ``Content-Length`` over the route's cap: 413 at once, before one byte of the body
   is read (``enforce_declared_length``). The connection is then closed with a short
   drain (see ``gateway.web``), not by reading the rest.
2. While streaming: the whole body is capped (werkzeug's limited stream also covers
   chunked requests, which have no Content-Length), text fields at 64 KiB each, parts
   counted, and each file part at ``max_attachment_bytes``: the byte past the cap
   raises 413 ``attachment_too_large`` and parsing stops; file parts spill to a
   temporary file above 512 KiB instead of staying in memory.
3. After parsing: names sanitised, content types proved by the bytes (``sniffing``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from typing import Any

from pasokh_common.errors import ValidationFailed, bilingual

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import parse_form_data
from werkzeug.wrappers import Request

from gateway.errors import (
    AttachmentTooLarge,
    InvalidJson,
    InvalidMultipart,
    RequestTooLarge,
    TooManyAttachments,
    UnsupportedMediaType,
)
from gateway.filenames import sanitise_file_name
from gateway.sniffing import checked_content_type

FILE_FIELD = "attachments"
MAX_TEXT_FIELD_BYTES = 64 * 1024
SPOOL_BYTES = 512 * 1024


@dataclass(frozen=True)
class UploadedFile:
    name: str
    content_type: str
    data: bytes


class _CappedSpool(tempfile.SpooledTemporaryFile):
    """Where werkzeug writes one file part: refuses the byte past ``cap``."""

    def __init__(self, cap: int) -> None:
        super().__init__(max_size=SPOOL_BYTES, mode="w+b")
        self.cap = cap
        self.written = 0

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.written += len(data)
        if self.written > self.cap:
            raise AttachmentTooLarge(f"a file part passed {self.cap} bytes")
        return super().write(data)


def media_type(request: Request) -> str:
    return (request.mimetype or "").lower()


def has_body(request: Request) -> bool:
    """Whether the request carries a body at all. (eventlet reports a missing
    Content-Type as text/plain, so an empty DELETE must not be judged by its type.)"""
    if "chunked" in (request.headers.get("Transfer-Encoding") or "").lower():
        return True
    return bool(request.content_length)


def enforce_declared_length(request: Request, cap: int) -> None:
    length = request.content_length
    if length is not None and length > cap:
        raise RequestTooLarge(f"Content-Length {length} > {cap}")


def read_json(request: Request, cap: int) -> Any:
    """The JSON body (``{}`` when there is none), read through a stream capped at ``cap``."""
    if not has_body(request):
        return {}
    if media_type(request) not in ("application/json", ""):
        raise UnsupportedMediaType(media_type(request))
    # One byte over the cap is read, if sent, to tell "exactly at the cap" from "more";
    # werkzeug's capped stream (Content-Length or chunked) never yields more than that.
    request.max_content_length = cap + 1
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge as exc:
        raise RequestTooLarge(str(exc)) from exc
    if len(raw) > cap:
        raise RequestTooLarge(f"body over {cap} bytes")
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJson(str(exc)) from exc


def read_multipart(
    request: Request, max_request_bytes: int, max_attachment_bytes: int, max_files: int
) -> tuple[MultiDict, list[UploadedFile]]:
    """Text fields and checked files of a ``multipart/form-data`` body."""

    def spool(total_content_length, content_type, filename, content_length=None):
        return _CappedSpool(max_attachment_bytes)

    try:
        _, form, files = parse_form_data(
            request.environ,
            stream_factory=spool,
            max_form_memory_size=MAX_TEXT_FIELD_BYTES,
            max_content_length=max_request_bytes,
            max_form_parts=max_files + 50,
            silent=False,
        )
    except RequestEntityTooLarge as exc:
        raise RequestTooLarge(str(exc)) from exc
    except ValueError as exc:
        raise InvalidMultipart(str(exc)) from exc
    parts = [
        (field, storage)
        for field, storage in files.items(multi=True)
        if storage.filename or _has_content(storage)
    ]
    unknown = sorted({field for field, _ in parts if field != FILE_FIELD})
    if unknown:
        raise InvalidMultipart(
            f"file fields {unknown}",
            fields={
                name: [{"fa": "فایل‌ها را در فیلد attachments بفرستید.",
                        "en": "Send files in the attachments field."}]
                for name in unknown
            },
        )  # fmt: skip
    if len(parts) > max_files:
        raise TooManyAttachments(f"{len(parts)} > {max_files}")
    uploads = []
    for _, storage in parts:
        data = storage.read()
        name = sanitise_file_name(storage.filename)
        if not data:
            raise ValidationFailed(
                f"{name} is empty",
                fields={FILE_FIELD: [bilingual(f"فایل «{name}» خالی است.", f"{name} is empty.")]},
            )
        uploads.append(UploadedFile(name, checked_content_type(name, storage.mimetype, data), data))
        storage.close()
    return form, uploads


def _has_content(storage: Any) -> bool:
    """Browsers send an empty, nameless part for a file input left empty: skip it."""
    head = storage.stream.read(1)
    storage.stream.seek(0)
    return bool(head)
