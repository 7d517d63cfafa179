"""What a file is, judged by its bytes, and whether that agrees with what it claims.

A browser's declared type comes from the file name, and a name is whatever the sender
typed; an HTML page called ``invoice.pdf`` opened by an agent is the classic stored
attack on help desks. So the content decides: the magic numbers of the common types
(PDF, PNG, JPEG, GIF, WebP, ZIP and the Office Open XML formats inside it) or, for
text, valid UTF-8 with no binary control bytes. A file is refused when its bytes are
none of these, or contradict its extension or declared type. The stored content type
is the one the bytes proved, never the declared one.
"""

from __future__ import annotations

import io
import zipfile

from gateway.errors import AttachmentTypeMismatch, AttachmentTypeNotAllowed
from gateway.filenames import extension_of

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
ZIP = "application/zip"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
TEXT = "text/plain"
CSV = "text/csv"

BY_EXTENSION = {
    "pdf": PDF,
    "png": PNG,
    "jpg": JPEG,
    "jpeg": JPEG,
    "gif": GIF,
    "webp": WEBP,
    "zip": ZIP,
    "docx": DOCX,
    "xlsx": XLSX,
    "pptx": PPTX,
    "txt": TEXT,
    "log": TEXT,
    "csv": CSV,
}
# What browsers and operating systems actually send for these files.
_DECLARED_ALIASES = {
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "application/x-zip-compressed": ZIP,
    "application/x-zip": ZIP,
    "application/x-pdf": PDF,
    "application/vnd.ms-excel": CSV,  # Windows' type for .csv files
    "application/csv": CSV,
    "text/x-log": TEXT,
}
_UNSPECIFIC = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}
_OOXML_MARKERS = (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX))
_TEXT_CONTROL_OK = {0x09, 0x0A, 0x0C, 0x0D}


def _ooxml_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return ZIP
    if "[Content_Types].xml" in names:
        for prefix, kind in _OOXML_MARKERS:
            if any(n.startswith(prefix) for n in names):
                return kind
    return ZIP


def _is_text(data: bytes) -> bool:
    sample = data[: 64 * 1024]
    if sample.startswith(b"\xef\xbb\xbf"):
        sample = sample[3:]
    if any(b < 0x20 and b not in _TEXT_CONTROL_OK for b in sample):
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the 64 KiB sample is still text.
        return len(data) > len(sample) and exc.start >= len(sample) - 3
    return True


def sniff(data: bytes) -> str | None:
    """The type the bytes prove, or None for anything outside the allowed set."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _ooxml_kind(data)
    if data and _is_text(data):
        return TEXT
    return None


def _normalise_declared(content_type: str | None) -> str:
    base = (content_type or "").split(";", 1)[0].strip().lower()
    return _DECLARED_ALIASES.get(base, base)


def _agrees(proved: str, claimed: str) -> bool:
    if proved == claimed:
        return True
    # CSV is text, and an Office file is a ZIP: the looser claim is not a lie.
    return (proved == TEXT and claimed == CSV) or (proved in (DOCX, XLSX, PPTX) and claimed == ZIP)


def checked_content_type(name: str, declared_type: str | None, data: bytes) -> str:
    """The content type to store for this upload, or an error: 415
    ``attachment_type_not_allowed`` / ``attachment_type_mismatch``."""
    field = {"attachments": [{"fa": f"فایل «{name}»", "en": f"file {name!r}"}]}
    proved = sniff(data)
    if proved is None:
        raise AttachmentTypeNotAllowed(name, fields=field)
    extension = extension_of(name)
    by_name = BY_EXTENSION.get(extension) if extension else None
    if extension and by_name is None:
        raise AttachmentTypeNotAllowed(name, fields=field)
    if by_name is not None and not _agrees(proved, by_name):
        raise AttachmentTypeMismatch(f"{name}: bytes are {proved}", fields=field)
    declared = _normalise_declared(declared_type)
    if declared not in _UNSPECIFIC and not _agrees(proved, declared):
        raise AttachmentTypeMismatch(f"{name}: declared {declared}, bytes {proved}", fields=field)
    return by_name or proved
