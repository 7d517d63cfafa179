"""Attachment storage behind one small interface; Postgres is the default backend.

The bytes never enter the event log: an ``AttachmentAdded`` event carries only the id,
name, size, content type and sha256. Uploads happen first (and get an id); a ticket
or reply then refers to the ids, so a 10 MB file is never resent on a retried command.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import pasokh_common  # noqa: F401
from pasokh_common.errors import NotFound

import psycopg

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

#: An upload no ticket or reply used within this time is deleted: its request failed
#: (a duplicate refused, a dropped connection) or was abandoned, and keeping up to
#: 10 MB of nobody's bytes forever is both cost and unneeded personal data.
UNUSED_UPLOAD_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class StoredAttachment:
    attachment_id: str
    uploader_id: str
    name: str
    content_type: str
    size: int
    sha256: str


class AttachmentStorage(Protocol):
    def put(
        self, conn: psycopg.Connection, uploader_id: str, name: str, content_type: str, data: bytes
    ) -> StoredAttachment: ...

    def describe(self, conn: psycopg.Connection, attachment_id: str) -> StoredAttachment: ...

    def read(self, conn: psycopg.Connection, attachment_id: str) -> bytes: ...

    def purge_unused(self, conn: psycopg.Connection, older_than: timedelta) -> int: ...


def safe_file_name(name: str) -> str:
    """Keep the name a person gave (Persian included) but nothing a path or header could abuse."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\"<>:|?*]", "", name).strip(" .")
    return (name or "attachment")[:200]


class PostgresAttachmentStorage:
    def put(
        self, conn: psycopg.Connection, uploader_id: str, name: str, content_type: str, data: bytes
    ) -> StoredAttachment:
        stored = StoredAttachment(
            attachment_id=str(uuid.uuid4()),
            uploader_id=uploader_id,
            name=safe_file_name(name),
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        conn.execute(
            "INSERT INTO tickets.attachment_blobs (attachment_id, uploader_id, name,"
            " content_type, size, sha256, content) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                stored.attachment_id,
                uploader_id,
                stored.name,
                content_type,
                stored.size,
                stored.sha256,
                data,
            ),
        )
        return stored

    def describe(self, conn: psycopg.Connection, attachment_id: str) -> StoredAttachment:
        row = conn.execute(
            "SELECT attachment_id::text, uploader_id, name, content_type, size, sha256"
            " FROM tickets.attachment_blobs WHERE attachment_id = %s",
            (attachment_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"attachment {attachment_id}")
        return StoredAttachment(**row)

    def read(self, conn: psycopg.Connection, attachment_id: str) -> bytes:
        row = conn.execute(
            "SELECT content FROM tickets.attachment_blobs WHERE attachment_id = %s",
            (attachment_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"attachment {attachment_id}")
        return bytes(row["content"])

    def purge_unused(self, conn: psycopg.Connection, older_than: timedelta) -> int:
        """Delete uploads older than ``older_than`` that no message links to."""
        return conn.execute(
            "DELETE FROM tickets.attachment_blobs b WHERE b.uploaded_at < now() - %s"
            " AND NOT EXISTS (SELECT 1 FROM tickets.attachment_links l"
            " WHERE l.attachment_id = b.attachment_id)",
            (older_than,),
        ).rowcount
