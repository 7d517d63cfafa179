"""Escalation timing: notify holds an SLA warning or breach until the event's
``notify_at`` (sla sets it to the calendar's next opening for a fact at night or on a
holiday, docs/sla.md), and sends at once when ``notify_at`` is absent or past.

identity and notify run as real processes with the console provider; the supervisor
is made one by identity's event, as in production.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.notify.conftest import settled, ticket_opened
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(stack_factory):
    with stack_factory(None) as running:
        yield running


def supervised_ticket(stack) -> tuple[dict, str]:
    """A ticket of a department whose one supervisor notify knows; returns the
    ticket and the supervisor's phone."""
    department = f"dept-{uuid.uuid4().hex[:6]}"
    supervisor, phone = stack.register("en")
    stack.publish(
        "identity",
        "AgentAssignedToDepartment",
        {
            "user_id": supervisor,
            "department_id": department,
            "role": "supervisor",
            "assigned_at": "2026-11-01T08:00:00+00:00",
        },
    )
    assert wait_until(
        lambda: stack.sql(
            "SELECT 1 FROM notify.department_members WHERE department_id = %s AND active",
            (department,),
        )
    )
    customer, _ = stack.register("fa")
    ticket = ticket_opened(customer, department)
    stack.publish("tickets", "TicketOpened", ticket)
    settled(stack, ticket["ticket_id"], "ticket_opened")
    return ticket, phone


def breach(ticket: dict, notify_at: str | None) -> dict:
    data = {
        "ticket_id": ticket["ticket_id"],
        "number": ticket["number"],
        "department": ticket["department"],
        "target": "first_response",
        "deadline": "2026-11-21T14:30:00+00:00",
        "breached_at": "2026-11-21T14:30:00+00:00",
    }
    if notify_at is not None:
        data["notify_at"] = notify_at
    return data


def escalations(stack, ticket_id: str, template: str) -> list[dict]:
    return [r for r in stack.messages(ticket_id=ticket_id) if r["template"] == template]


def sms_to(stack, phone: str, template: str) -> list[dict]:
    return stack.sql(
        "SELECT body FROM notify.outbox WHERE recipient = %s AND template = %s",
        (phone, template),
    )


def test_a_breach_waits_for_its_notify_at_while_one_due_now_is_sent(stack):
    """Two breaches published together: the one told "tomorrow" stays queued (due at
    its notify_at, and expiring a TTL after it, not before) while the one whose
    notify_at has passed is sent; the held one never reaches the phone."""
    held_ticket, held_phone = supervised_ticket(stack)
    now_ticket, now_phone = supervised_ticket(stack)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    stack.publish("sla", "SlaBreached", breach(held_ticket, tomorrow.isoformat()))
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    stack.publish("sla", "SlaBreached", breach(now_ticket, past))

    # The control: published after the held one, through the same queue and dispatcher.
    settled(stack, now_ticket["ticket_id"], "sla_breached")
    assert len(sms_to(stack, now_phone, "sla_breached")) == 1

    assert wait_until(lambda: escalations(stack, held_ticket["ticket_id"], "sla_breached"))
    [held] = escalations(stack, held_ticket["ticket_id"], "sla_breached")
    assert held["state"] == "queued" and held["attempts"] == 0
    assert held["next_attempt_at"] == tomorrow
    assert held["expires_at"] > tomorrow
    assert sms_to(stack, held_phone, "sla_breached") == []


def test_a_warning_without_notify_at_is_sent_at_once(stack):
    """Events from an sla that does not set notify_at keep the old behaviour."""
    ticket, phone = supervised_ticket(stack)
    warning = {**breach(ticket, None), "warned_at": "2026-11-21T12:00:00+00:00"}
    stack.publish("sla", "SlaWarning", warning)
    settled(stack, ticket["ticket_id"], "sla_warning")
    assert len(sms_to(stack, phone, "sla_warning")) == 1
