"""The right to be forgotten, end to end (docs/privacy.md): an admin erases a customer
through the gateway; identity records ``UserErased``; its relay publishes it; tickets
destroys the customer's key and scrubs its copies, notify masks numbers and texts.
The tickets log is not rewritten, yet every reader (queries, the audit trail, a
rebuild, what the relay would publish) shows the placeholder; numbers, statuses and
who-did-what-when stay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common.eventlog.chain_check import check_chain
from pasokh_common.eventlog.relay_main import relay_from_env
from pasokh_common.personal_data import ERASED

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.e2e.people import register_customer
from tests.e2e.stack import PASSWORD
from tests.integration.gateway.client import error_of, new_agent, new_department, ok
from tests.support.processes import REPO_ROOT, wait_until

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.4\n% a private receipt\n"


def log_rows(stack, ticket_id: str) -> list[dict]:
    return stack.sql(
        "tickets",
        "SELECT position, md5(e::text) AS digest, data::text AS data FROM tickets.events e"
        " WHERE stream_id = %s ORDER BY version",
        (ticket_id,),
    )


def test_an_erased_customer_is_forgotten_everywhere_and_the_log_is_untouched(
    stack, admin, published, monkeypatch
):
    department = new_department(admin, "privacy")
    agent = new_agent(stack, admin, [department])
    customer = register_customer(stack, "پریسا نام‌خانوادگی")
    tag = uuid.uuid4().hex[:8]
    subject, body, reply = f"قبض برق {tag}", f"کد اشتراک من {tag}-۹۹ است", f"پاسخ {tag}"

    response = customer.api.post(
        "/api/v1/tickets",
        data={"department": department, "subject": subject, "body": body},
        files={"attachments": ("رسید.pdf", PDF, "application/pdf")},
    )
    ticket = ok(response, 201)
    ticket_id, path = ticket["ticket_id"], f"/api/v1/tickets/{ticket['ticket_id']}"
    ok(agent.api.post(f"{path}/claim", {}))
    ok(agent.api.post(f"{path}/replies", {"body": reply}), 201)
    ok(agent.api.post(f"{path}/close", {"reason": f"حل شد {tag}"}))
    stack.wait_for_sms(customer.phone, "ticket_closed")

    # before: sealed in the log, plain for every reader. Wait for the hash chain's
    # sealer too, so that the comparison below covers the rows' chain hashes.
    def unsealed() -> int:
        return stack.sql(
            "tickets",
            "SELECT count(*) AS n FROM tickets.events WHERE stream_id = %s AND chain_hash IS NULL",
            (ticket_id,),
        )[0]["n"]

    assert wait_until(lambda: unsealed() == 0, timeout=30)
    rows = log_rows(stack, ticket_id)
    stored = "\n".join(r["data"] for r in rows)
    assert tag not in stored and '"$enc": "v1"' in stored
    seen = ok(agent.api.get(path))
    assert seen["subject"] == subject and seen["messages"][1]["body"] == reply
    [attachment] = seen["messages"][0]["attachments"]
    download = f"/api/v1/attachments/{attachment['attachment_id']}"
    assert agent.api.get(download).content == PDF

    def opened_published() -> list[dict]:
        return [
            m for m in published() if m["type"] == "TicketOpened" and m["ticket_id"] == ticket_id
        ]

    assert wait_until(opened_published, timeout=30)
    assert opened_published()[0]["body"] == body  # the public contract: a string

    # erase, through the gateway, as an admin
    assert agent.api.post(f"/api/v1/admin/users/{customer.id}/erase").status_code == 403
    erased = ok(admin.api.post(f"/api/v1/admin/users/{customer.id}/erase"))
    assert erased["user_id"] == customer.id and erased["erased_now"] is True

    def forgotten_by_tickets() -> bool:
        keys = stack.sql(
            "tickets",
            "SELECT destroyed_at FROM tickets.personal_data_keys WHERE subject_id = %s",
            (customer.id,),
        )
        return bool(keys) and keys[0]["destroyed_at"] is not None

    def forgotten_by_notify() -> bool:
        left = stack.sql(
            "notify",
            "SELECT count(*) AS n FROM notify.messages WHERE user_id = %s"
            " AND (recipient IS NOT NULL OR body IS NOT NULL)",
            (customer.id,),
        )
        return left[0]["n"] == 0

    assert wait_until(forgotten_by_tickets, timeout=30)
    assert wait_until(forgotten_by_notify, timeout=30)

    # the log: not a byte changed, and its hash chain still verifies
    assert log_rows(stack, ticket_id) == rows
    with psycopg.connect(stack.databases["tickets"]["admin_url"], row_factory=dict_row) as conn:
        chain = check_chain(conn, "tickets")
    assert chain.ok and chain.checked >= len(rows), chain.as_dict()

    # tickets: the texts read as the placeholder; the facts stay
    after = ok(agent.api.get(path))
    assert after["subject"] == ERASED
    assert [m["body"] for m in after["messages"]] == [ERASED, ERASED]
    for field in ("number", "status", "department", "opened_at", "closed_at"):
        assert after[field] == seen[field], field
    assert [m["author_id"] for m in after["messages"]] == [customer.id, agent.id]
    assert error_of(agent.api.get(download), 404)
    trail = ok(agent.api.get(f"{path}/history"))
    assert [(e["type"], e["actor_id"]) for e in trail][:2] == [
        ("TicketOpened", customer.id),
        ("AttachmentAdded", customer.id),
    ]
    assert trail[0]["data"]["subject"] == ERASED and trail[0]["data"]["number"] == ticket["number"]
    assert tag not in json.dumps(trail, ensure_ascii=False)
    assert stack.sql(
        "tickets",
        "SELECT count(*) AS n FROM tickets.attachment_blobs WHERE uploader_id = %s",
        (customer.id,),
    ) == [{"n": 0}]

    # what a relay replaying the log would publish now
    monkeypatch.setenv("TICKETS_DATABASE_URL", stack.databases["tickets"]["admin_url"])
    relay = relay_from_env("tickets")
    with psycopg.connect(stack.databases["tickets"]["admin_url"], row_factory=dict_row) as conn:
        # read_all: read_committed also waits for open transactions of other test runs
        replayed = relay.store.read_all(conn, 0, 100_000)
    mine = [e for e in replayed if e.stream_id == ticket_id]
    assert mine[0].data["body"] == ERASED and mine[0].data["number"] == ticket["number"]
    assert tag not in json.dumps([e.data for e in mine], ensure_ascii=False)

    # a rebuild of the read models from the log agrees with the scrubbed ones
    rebuilt = subprocess.run(
        [sys.executable, "-m", "pasokh_common.cli", "tickets", "rebuild-read-models"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
        env={**os.environ, **stack.env,
             "TICKETS_DATABASE_URL": stack.databases["tickets"]["url"]},
    )  # fmt: skip
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert ok(agent.api.get(path)) == after

    # identity: the row stays, the person is gone; she cannot log in any more
    [row] = stack.sql(
        "identity",
        "SELECT name, phone, username, erased_at FROM identity.users WHERE user_id = %s",
        (customer.id,),
    )
    assert (row["name"], row["phone"], row["username"]) == (ERASED, None, None)
    # (a gateway may trust a token it checked for GATEWAY_TOKEN_CACHE_SECONDS)
    assert wait_until(lambda: customer.api.get("/api/v1/tickets").status_code == 401, timeout=30)
    login = {"login": customer.phone, "password": PASSWORD}
    assert customer.api.post("/api/v1/auth/login", login, token="").status_code == 401

    # notify: no number, no text, nothing left in the outbox for her number
    assert stack.sms_to(customer.phone) == []

    # erasing twice is harmless; an unknown user is 404
    again = ok(admin.api.post(f"/api/v1/admin/users/{customer.id}/erase"))
    assert again["erased_now"] is False and again["erased_at"] == erased["erased_at"]
    unknown = admin.api.post(f"/api/v1/admin/users/{uuid.uuid4()}/erase")
    assert error_of(unknown, 404)["code"] == "user_not_found"
