from __future__ import annotations

from datetime import timedelta

import pytest

from services.tickets.domain import (
    AttachmentAdded,
    AttachmentTooLarge,
    ClaimedByAnotherAgent,
    EmptyBody,
    InternalNotePosted,
    InvalidTicketData,
    NotInDepartment,
    NotPermitted,
    ReopenWindowExpired,
    ReplyPosted,
    Role,
    Status,
    TicketClaimed,
    TicketIsClosed,
    TicketNotVisible,
    TicketPolicy,
    TicketReopened,
    TicketWasMerged,
    TooManyAttachments,
)
from tests.unit.tickets.support import (
    ADMIN,
    AGENT,
    COLLEAGUE,
    CUSTOMER,
    NOW,
    OTHER_AGENT,
    OUTSIDE_AGENT,
    STRANGER,
    SUPERVISOR,
    SYSTEM,
    answered,
    attachment,
    claimed,
    closed,
    later,
    merged,
    opened,
    state_of,
    then,
)

# -- the customer writes -----------------------------------------------------------------


def test_a_customer_adding_to_an_unanswered_ticket_moves_it_to_the_end_of_the_queue():
    ticket = opened()

    events = ticket.post_reply(CUSTOMER, "Also March.", [], later(minutes=3), "m-2")

    assert events == [
        ReplyPosted(
            ticket_id="t-1",
            message_id="m-2",
            author_id=CUSTOMER.id,
            author_role=Role.CUSTOMER,
            body="Also March.",
            posted_at=later(minutes=3),
        )
    ]
    then(ticket, events)
    assert ticket.status is Status.UNANSWERED
    assert ticket.last_customer_message_at == later(minutes=3)


def test_a_customer_reply_to_an_answered_ticket_makes_it_unanswered_again():
    ticket = answered(by=AGENT)
    then(ticket, ticket.post_reply(CUSTOMER, "Not yet refunded.", [], later(hours=3), "m-3"))
    assert ticket.status is Status.UNANSWERED
    assert ticket.assignee_id == AGENT.id  # the agent who answered still holds it
    assert ticket.last_customer_message_at == later(hours=3)
    assert ticket.last_agent_reply_at == later(minutes=10)


def test_a_customer_reply_to_a_ticket_under_review_keeps_it_under_review():
    ticket = claimed(by=AGENT)
    then(ticket, ticket.post_reply(CUSTOMER, "Any news?", [], later(hours=1), "m-3"))
    assert ticket.status is Status.UNDER_REVIEW


def test_a_colleague_in_the_same_organisation_may_reply():
    ticket = opened()
    [event] = ticket.post_reply(COLLEAGUE, "I can confirm.", [], later(hours=1), "m-3")
    assert event.author_id == COLLEAGUE.id


def test_a_customer_replying_to_someone_elses_ticket_is_told_it_does_not_exist():
    with pytest.raises(TicketNotVisible):
        opened().post_reply(STRANGER, "hello", [], later(hours=1), "m-3")


def test_a_customer_reply_within_the_window_reopens_a_closed_ticket_first():
    ticket = closed(at=later(hours=1))
    reply_at = later(hours=1) + timedelta(days=6)

    events = ticket.post_reply(CUSTOMER, "It happened again.", [], reply_at, "m-9")

    assert [type(e) for e in events] == [TicketReopened, ReplyPosted]
    assert events[0] == TicketReopened(
        ticket_id="t-1",
        reopened_by=CUSTOMER.id,
        reopened_by_role=Role.CUSTOMER,
        reopened_at=reply_at,
    )
    then(ticket, events)
    assert ticket.status is Status.UNANSWERED
    assert ticket.closed_at is None
    assert ticket.last_customer_message_at == reply_at


def test_a_customer_reply_at_the_very_end_of_the_window_still_reopens():
    ticket = closed(at=later(hours=1))
    events = ticket.post_reply(CUSTOMER, "Again.", [], later(hours=1, days=7), "m-9")
    assert isinstance(events[0], TicketReopened)


def test_a_customer_reply_after_the_window_asks_for_a_new_ticket():
    ticket = closed(at=later(hours=1))
    with pytest.raises(ReopenWindowExpired) as caught:
        ticket.post_reply(CUSTOMER, "Again.", [], later(hours=1, days=7, seconds=1), "m-9")
    assert "new ticket" in caught.value.message_en


def test_the_reopen_window_comes_from_the_policy():
    ticket = closed(at=later(hours=1))
    short = TicketPolicy(reopen_window=timedelta(hours=1))
    with pytest.raises(ReopenWindowExpired):
        ticket.post_reply(CUSTOMER, "Again.", [], later(hours=2, seconds=1), "m-9", policy=short)


def test_nobody_replies_to_a_merged_ticket():
    duplicate, target = merged()
    for actor in (CUSTOMER, AGENT):
        with pytest.raises(TicketWasMerged) as caught:
            duplicate.post_reply(actor, "hello", [], later(hours=3), "m-9")
        assert caught.value.into_ticket_id == target.id


# -- staff write -------------------------------------------------------------------------


def test_an_agent_answering_an_unclaimed_ticket_claims_it_first():
    ticket = opened()

    events = ticket.post_reply(AGENT, "Refund issued.", [], later(minutes=10), "m-2")

    assert [type(e) for e in events] == [TicketClaimed, ReplyPosted]
    assert events[0].agent_id == AGENT.id
    assert events[1].author_role is Role.AGENT
    then(ticket, events)
    assert ticket.assignee_id == AGENT.id
    assert ticket.status is Status.ANSWERED
    assert ticket.last_agent_reply_at == later(minutes=10)
    assert ticket.last_customer_message_at == NOW


def test_the_holder_answers_without_claiming_again():
    ticket = claimed(by=AGENT)
    events = ticket.post_reply(AGENT, "Refund issued.", [], later(minutes=10), "m-2")
    assert [type(e) for e in events] == [ReplyPosted]
    then(ticket, events)
    assert ticket.status is Status.ANSWERED


def test_an_agent_cannot_answer_a_ticket_a_colleague_holds():
    ticket = claimed(by=AGENT)
    with pytest.raises(ClaimedByAnotherAgent):
        ticket.post_reply(OTHER_AGENT, "Hi", [], later(minutes=10), "m-2")


@pytest.mark.parametrize("actor", [SUPERVISOR, ADMIN, SYSTEM])
def test_a_supervisor_or_admin_may_answer_over_an_agents_hold(actor):
    ticket = claimed(by=AGENT)
    events = ticket.post_reply(actor, "Stepping in.", [], later(minutes=10), "m-2")
    assert [type(e) for e in events] == [ReplyPosted]
    then(ticket, events)
    assert ticket.assignee_id == AGENT.id
    assert ticket.status is Status.ANSWERED


def test_a_supervisor_answering_an_unclaimed_ticket_does_not_claim_it():
    ticket = opened()
    events = ticket.post_reply(SUPERVISOR, "Quick answer.", [], later(minutes=10), "m-2")
    assert [type(e) for e in events] == [ReplyPosted]


def test_an_agent_of_another_department_cannot_answer():
    with pytest.raises(NotInDepartment):
        opened().post_reply(OUTSIDE_AGENT, "Hi", [], later(minutes=10), "m-2")


def test_staff_cannot_answer_a_closed_ticket():
    ticket = closed()
    with pytest.raises(TicketIsClosed):
        ticket.post_reply(AGENT, "One more thing", [], later(hours=2), "m-9")


def test_replying_changes_nothing_until_the_events_are_applied():
    ticket = opened()
    before = state_of(ticket)
    ticket.post_reply(AGENT, "Refund issued.", [], later(minutes=10), "m-2")
    assert state_of(ticket) == before


# -- what a reply may carry --------------------------------------------------------------


def test_a_replys_attachments_follow_it():
    ticket = opened()
    events = ticket.post_reply(
        CUSTOMER, "Screenshots attached.", [attachment(1), attachment(2)], later(hours=1), "m-2"
    )
    assert [type(e) for e in events] == [ReplyPosted, AttachmentAdded, AttachmentAdded]
    assert {e.message_id for e in events} == {"m-2"}
    then(ticket, events)
    assert ticket.version == 4


@pytest.mark.parametrize("body", ["", "  \n "])
def test_an_empty_reply_is_refused(body):
    with pytest.raises(EmptyBody):
        opened().post_reply(CUSTOMER, body, [attachment(1)], later(hours=1), "m-2")


def test_a_reply_over_the_length_limit_is_refused():
    with pytest.raises(InvalidTicketData) as caught:
        opened().post_reply(AGENT, "x" * 20001, [], later(hours=1), "m-2")
    assert set(caught.value.fields) == {"body"}
    assert caught.value.fields["body"][0]["fa"] == "متن پیام نباید بیش از ۲۰۰۰۰ نویسه باشد."


def test_a_reply_with_too_many_attachments_is_refused():
    with pytest.raises(TooManyAttachments):
        opened().post_reply(
            CUSTOMER, "Files", [attachment(n) for n in range(11)], later(hours=1), "m-2"
        )


def test_a_reply_with_an_oversized_attachment_is_refused():
    with pytest.raises(AttachmentTooLarge):
        opened().post_reply(
            CUSTOMER, "File", [attachment(1, size=11 * 1024 * 1024)], later(hours=1), "m-2"
        )


# -- internal notes ------------------------------------------------------------------------


def test_an_agent_leaves_an_internal_note_that_changes_nothing_else():
    ticket = opened()

    events = ticket.post_internal_note(AGENT, "Customer called too.", later(hours=1), "m-n1")

    assert events == [
        InternalNotePosted(
            ticket_id="t-1",
            message_id="m-n1",
            author_id=AGENT.id,
            author_role=Role.AGENT,
            body="Customer called too.",
            posted_at=later(hours=1),
        )
    ]
    before = state_of(ticket)
    then(ticket, events)
    after = state_of(ticket)
    assert after.pop("version") == before.pop("version") + 1
    assert after == before  # no claim, no status change, queue position kept


def test_a_note_may_be_left_on_a_closed_ticket():
    ticket = closed()
    [event] = ticket.post_internal_note(SUPERVISOR, "Reviewed.", later(days=2), "m-n1")
    assert event.author_role is Role.SUPERVISOR


def test_a_note_may_be_left_on_a_ticket_a_colleague_holds():
    ticket = claimed(by=AGENT)
    [event] = ticket.post_internal_note(OTHER_AGENT, "I know this one.", later(hours=1), "m-n1")
    assert event.author_id == OTHER_AGENT.id


def test_a_customer_cannot_leave_internal_notes():
    with pytest.raises(NotPermitted):
        opened().post_internal_note(CUSTOMER, "psst", later(hours=1), "m-n1")


def test_a_stranger_leaving_a_note_is_told_the_ticket_does_not_exist():
    with pytest.raises(TicketNotVisible):
        opened().post_internal_note(STRANGER, "psst", later(hours=1), "m-n1")


def test_an_agent_of_another_department_cannot_leave_a_note():
    with pytest.raises(NotInDepartment):
        opened().post_internal_note(OUTSIDE_AGENT, "psst", later(hours=1), "m-n1")


def test_no_note_on_a_merged_ticket():
    duplicate, _ = merged()
    with pytest.raises(TicketWasMerged):
        duplicate.post_internal_note(AGENT, "note", later(hours=3), "m-n1")


def test_an_empty_note_is_refused():
    with pytest.raises(EmptyBody):
        opened().post_internal_note(AGENT, " ", later(hours=1), "m-n1")
