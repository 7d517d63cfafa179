"""The default for local runs: the console provider. Nothing leaves the machine; codes
and ticket messages land in ``notify.outbox`` (what ``bin/start`` shows), exactly once."""

from __future__ import annotations

import pytest

from services.notify.cli import show_outbox
from tests.integration.notify.conftest import settled, ticket_opened

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(stack_factory):
    with stack_factory(None) as running:
        yield running


def outbox(stack, phone: str) -> list[dict]:
    return stack.sql(
        "SELECT template, body FROM notify.outbox WHERE recipient = %s ORDER BY outbox_id",
        (phone,),
    )


def test_codes_and_ticket_messages_land_in_the_outbox(stack, capsys):
    customer, phone = stack.register("fa")
    [code] = outbox(stack, phone)
    assert code["template"] == "verification_code" and "کد تأیید" in code["body"]
    ticket = ticket_opened(customer)
    stack.publish("tickets", "TicketOpened", ticket)
    row = settled(stack, ticket["ticket_id"], "ticket_opened", states=("delivered",))
    assert row["provider"] == "console"
    assert [r["template"] for r in outbox(stack, phone)] == ["verification_code", "ticket_opened"]
    assert "code withheld" in stack.notify_log() and code["body"] not in stack.notify_log()

    show_outbox(stack.notify_db["admin_url"], limit=50, follow=False)
    printed = capsys.readouterr().out
    assert f"to {phone} (ticket_opened, 2 part(s))" in printed and ticket["number"] in printed
