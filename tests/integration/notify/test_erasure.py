"""notify on ``UserErased``: numbers and texts of the user's messages go, the facts stay.
As the application role (the grants are part of what is tested). The whole path
through the bus: tests/e2e/test_privacy.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.erasure import erase_user
from tests.integration.notify.conftest import new_phone

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def message(conn, user_id: str, state: str, recipient: str | None, body: str | None) -> str:
    message_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO notify.messages (message_id, idempotency_key, template, user_id, ticket_id,"
        " params, recipient, body, parts, state, next_attempt_at, expires_at, created_at,"
        " updated_at) VALUES (%s, %s, 'ticket_opened', %s, 't-1', '{\"number\": \"12345678\"}',"
        " %s, %s, 1, %s, %s, %s, %s, %s)",
        (message_id, message_id, user_id, recipient, body, state, NOW, NOW + timedelta(days=1),
         NOW, NOW),
    )  # fmt: skip
    if recipient and body:
        conn.execute(
            "INSERT INTO notify.outbox (client_id, recipient, body, template, parts, encoding)"
            " VALUES (%s, %s, %s, 'ticket_opened', 1, 'ucs2')",
            (message_id, recipient, body),
        )
    return message_id


def test_the_users_numbers_and_texts_go_and_the_facts_stay(notify_pool):
    erased, other = "user-erased", "user-kept"
    phone, other_phone = new_phone(), new_phone()
    with notify_pool.transaction() as conn:
        sent = message(conn, erased, "sent", phone, "درخواست ۱۲۳۴ ثبت شد")
        queued = message(conn, erased, "queued", phone, "درخواست ۱۲۳۴ پاسخ داده شد")
        in_flight = message(conn, erased, "sending", phone, "در حال ارسال")
        kept = message(conn, other, "sent", other_phone, "پیام دیگری")

    with notify_pool.transaction() as conn:
        assert erase_user(conn, erased) == 2
    with notify_pool.transaction() as conn:
        assert erase_user(conn, erased) == 0  # again: nothing left to do

    with notify_pool.connection() as conn:
        rows = {
            r["message_id"]: r
            for r in conn.execute(
                "SELECT message_id::text, recipient, body, state, parts, params"
                " FROM notify.messages"
            ).fetchall()
        }
        outbox = [r["recipient"] for r in conn.execute("SELECT recipient FROM notify.outbox")]
    for masked in (sent, queued):
        assert rows[masked]["recipient"] is None and rows[masked]["body"] is None
        assert rows[masked]["parts"] == 1 and rows[masked]["params"] == {"number": "12345678"}
    assert rows[sent]["state"] == "sent" and rows[queued]["state"] == "queued"
    assert rows[in_flight]["recipient"] == phone  # left to finish; erasing again masks it
    assert rows[kept]["recipient"] == other_phone and rows[kept]["body"] == "پیام دیگری"
    assert phone not in outbox and other_phone in outbox
