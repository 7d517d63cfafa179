from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.tickets.domain import (
    AttachmentAdded,
    AttachmentTooLarge,
    EmptyBody,
    InvalidTicketData,
    NotInDepartment,
    NotPermitted,
    Priority,
    Status,
    TicketOpened,
    TicketPolicy,
    TooManyAttachments,
)
from tests.unit.tickets.support import (
    ADMIN,
    AGENT,
    CUSTOMER,
    DEPARTMENT,
    NOW,
    OUTSIDE_AGENT,
    SYSTEM,
    attachment,
    open_events,
    opened,
)


def test_a_customer_opens_a_ticket_for_themself():
    [event] = open_events(actor=CUSTOMER, priority=Priority.HIGH, needs_follow_up=True)

    assert event == TicketOpened(
        ticket_id="t-1",
        number="97039004",
        customer_id=CUSTOMER.id,
        organisation_id="org-1",
        department=DEPARTMENT,
        subject="Invoice is wrong",
        priority=Priority.HIGH,
        message_id="m-open",
        body="My April invoice charges me twice.",
        needs_follow_up=True,
        opened_at=NOW,
    )


def test_a_customer_naming_themself_as_the_customer_is_fine():
    [event] = open_events(actor=CUSTOMER, customer_id=CUSTOMER.id, organisation_id="org-1")
    assert event.customer_id == CUSTOMER.id


def test_the_opening_attachments_follow_the_opening_message_in_order():
    events = open_events(attachments=[attachment(1), attachment(2)])

    assert [type(e) for e in events] == [TicketOpened, AttachmentAdded, AttachmentAdded]
    assert [e.attachment_id for e in events[1:]] == ["att-1", "att-2"]
    assert all(e.message_id == "m-open" and e.added_at == NOW for e in events[1:])
    assert events[1].sha256 == attachment(1).sha256
    assert events[1].size == 1000


def test_subject_and_body_are_stored_without_surrounding_whitespace():
    [event] = open_events(subject="  Invoice  ", body="\n  charged twice \n")
    assert (event.subject, event.body) == ("Invoice", "charged twice")


def test_a_priority_given_as_text_is_accepted():
    [event] = open_events(priority="urgent")
    assert event.priority is Priority.URGENT


def test_an_agent_opens_a_ticket_on_a_callers_behalf():
    [event] = open_events(actor=AGENT, customer_id="cust-9", organisation_id="org-9")
    assert (event.customer_id, event.organisation_id) == ("cust-9", "org-9")


@pytest.mark.parametrize("actor", [ADMIN, SYSTEM])
def test_admins_and_the_system_open_tickets_in_any_department(actor):
    [event] = open_events(actor=actor, department="anything", customer_id="cust-9")
    assert event.department == "anything"


def test_staff_opening_a_ticket_must_name_the_customer():
    with pytest.raises(InvalidTicketData) as caught:
        open_events(actor=AGENT, customer_id=None)
    assert set(caught.value.fields) == {"customer_id"}


def test_staff_cannot_open_a_ticket_in_a_department_they_do_not_work_in():
    with pytest.raises(NotInDepartment):
        open_events(actor=OUTSIDE_AGENT, customer_id="cust-9")


def test_a_customer_cannot_open_a_ticket_for_someone_else():
    with pytest.raises(NotPermitted):
        open_events(actor=CUSTOMER, customer_id="cust-9")


def test_a_customer_cannot_open_a_ticket_for_another_organisation():
    with pytest.raises(NotPermitted):
        open_events(actor=CUSTOMER, organisation_id="org-9")


@pytest.mark.parametrize("subject", ["abc", "x" * 200, "  abc  "])
def test_subjects_at_the_length_limits_are_accepted(subject):
    [event] = open_events(subject=subject)
    assert event.subject == subject.strip()


@pytest.mark.parametrize("subject", ["", "ab", "   ab   ", "x" * 201, None])
def test_a_subject_too_short_or_too_long_is_refused(subject):
    with pytest.raises(InvalidTicketData) as caught:
        open_events(subject=subject)
    assert set(caught.value.fields) == {"subject"}
    [message] = caught.value.fields["subject"]
    assert message["en"] == "The subject must be between 3 and 200 characters long."
    assert message["fa"] == "موضوع باید بین ۳ تا ۲۰۰ نویسه باشد."


@pytest.mark.parametrize("body", ["", "   ", "\n\t\n", None])
def test_an_empty_opening_message_is_refused(body):
    with pytest.raises(EmptyBody) as caught:
        open_events(body=body)
    assert caught.value.code == "empty_body"
    assert set(caught.value.fields) == {"body"}


def test_an_opening_message_at_the_length_limit_is_accepted():
    [event] = open_events(body="x" * 20000)
    assert len(event.body) == 20000


def test_an_opening_message_over_the_length_limit_is_refused():
    with pytest.raises(InvalidTicketData) as caught:
        open_events(body="x" * 20001)
    assert not isinstance(caught.value, EmptyBody)
    assert set(caught.value.fields) == {"body"}


def test_every_invalid_field_is_reported_at_once():
    with pytest.raises(InvalidTicketData) as caught:
        open_events(subject="a", body=" ", priority="whenever", department=" ")

    error = caught.value
    assert type(error) is InvalidTicketData  # not only the empty body
    assert set(error.fields) == {"subject", "body", "priority", "department"}
    for messages in error.fields.values():
        assert all(set(m) == {"fa", "en"} and m["fa"] and m["en"] for m in messages)


def test_an_unknown_priority_is_refused():
    with pytest.raises(InvalidTicketData) as caught:
        open_events(priority="critical")
    assert set(caught.value.fields) == {"priority"}


def test_a_blank_department_is_refused():
    with pytest.raises(InvalidTicketData) as caught:
        open_events(department="  ")
    assert set(caught.value.fields) == {"department"}


def test_ten_attachments_are_accepted():
    events = open_events(attachments=[attachment(n) for n in range(10)])
    assert len(events) == 11


def test_eleven_attachments_are_refused():
    with pytest.raises(TooManyAttachments) as caught:
        open_events(attachments=[attachment(n) for n in range(11)])
    assert caught.value.http_status == 400
    assert "attachments" in caught.value.fields


def test_an_attachment_of_exactly_the_limit_is_accepted():
    events = open_events(attachments=[attachment(1, size=10 * 1024 * 1024)])
    assert events[1].size == 10 * 1024 * 1024


def test_an_attachment_over_the_limit_is_refused():
    with pytest.raises(AttachmentTooLarge) as caught:
        open_events(attachments=[attachment(1), attachment(2, size=10 * 1024 * 1024 + 1)])
    assert caught.value.http_status == 413
    assert "receipt-2.pdf" in caught.value.fields["attachments"][0]["en"]


def test_the_same_attachment_twice_is_refused():
    with pytest.raises(InvalidTicketData) as caught:
        open_events(attachments=[attachment(1), attachment(1)])
    assert set(caught.value.fields) == {"attachments"}


def test_the_policy_given_sets_the_limits():
    strict = TicketPolicy(
        min_subject_length=10, max_attachments_per_message=1, max_attachment_bytes=100
    )
    with pytest.raises(InvalidTicketData):
        open_events(subject="Too short", policy=strict)
    with pytest.raises(TooManyAttachments):
        open_events(attachments=[attachment(1, 10), attachment(2, 10)], policy=strict)
    with pytest.raises(AttachmentTooLarge):
        open_events(attachments=[attachment(1, 101)], policy=strict)


def test_opening_times_are_stored_in_utc():
    tehran = timezone(timedelta(hours=3, minutes=30))
    [event] = open_events(now=datetime(2024, 5, 1, 12, 30, tzinfo=tehran))
    assert event.opened_at == NOW
    assert event.opened_at.utcoffset() == timedelta(0)


def test_a_naive_now_is_a_programming_error():
    with pytest.raises(ValueError):
        open_events(now=datetime(2024, 5, 1, 9, 0))


def test_a_new_ticket_waits_for_an_answer_in_its_department():
    ticket = opened(attachments=[attachment(1)], needs_follow_up=True)

    assert ticket.id == "t-1"
    assert ticket.number == "97039004"
    assert ticket.status is Status.UNANSWERED
    assert ticket.department == DEPARTMENT
    assert ticket.customer_id == CUSTOMER.id
    assert ticket.organisation_id == "org-1"
    assert ticket.subject == "Invoice is wrong"
    assert ticket.priority is Priority.NORMAL
    assert ticket.assignee_id is None
    assert ticket.opened_at == NOW
    assert ticket.last_customer_message_at == NOW
    assert ticket.last_agent_reply_at is None
    assert ticket.closed_at is None
    assert ticket.merged_into is None
    assert ticket.rating is None
    assert ticket.needs_follow_up is True
    assert ticket.version == 2  # TicketOpened + one AttachmentAdded


def test_a_ticket_opened_by_staff_counts_as_the_customers_message():
    ticket = opened(actor=AGENT, customer_id="cust-9")
    assert ticket.last_customer_message_at == NOW
    assert ticket.last_agent_reply_at is None
