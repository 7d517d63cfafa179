from __future__ import annotations

import pytest

from services.tickets.domain import (
    CannotMergeIntoItself,
    MergeAcrossCustomers,
    MergeTargetClosed,
    NotInDepartment,
    NotPermitted,
    Status,
    Ticket,
    TicketMerged,
    TicketNotVisible,
    TicketWasMerged,
)
from tests.unit.tickets.support import (
    AGENT,
    COLLEAGUE,
    CUSTOMER,
    OTHER_DEPARTMENT,
    OUTSIDE_AGENT,
    STRANGER,
    SUPERVISOR,
    claimed,
    closed,
    later,
    merged,
    opened,
    state_of,
    then,
)


def duplicate_and_target() -> tuple[Ticket, Ticket]:
    return opened(ticket_id="t-dup", number="28285140"), opened(
        ticket_id="t-target", number="62662074"
    )


def test_a_duplicate_is_merged_into_the_customers_other_ticket():
    duplicate, target = duplicate_and_target()

    events = duplicate.merge_into(AGENT, target, later(hours=2))

    assert events == [
        TicketMerged(
            ticket_id="t-dup",
            into_ticket_id="t-target",
            into_number="62662074",
            merged_by=AGENT.id,
            merged_at=later(hours=2),
        )
    ]


def test_merging_does_not_touch_either_ticket_until_applied():
    duplicate, target = duplicate_and_target()
    before = (state_of(duplicate), state_of(target))
    duplicate.merge_into(AGENT, target, later(hours=2))
    assert (state_of(duplicate), state_of(target)) == before


def test_a_merged_duplicate_is_closed_and_points_to_the_surviving_ticket():
    duplicate = claimed(by=AGENT, ticket_id="t-dup", number="28285140")
    target = opened(ticket_id="t-target", number="62662074")

    then(duplicate, duplicate.merge_into(AGENT, target, later(hours=2)))

    assert duplicate.status is Status.CLOSED
    assert duplicate.is_merged
    assert duplicate.merged_into == "t-target"
    assert duplicate.closed_at == later(hours=2)
    assert duplicate.assignee_id is None


def test_a_closed_duplicate_may_still_be_merged():
    duplicate = closed(ticket_id="t-dup", number="28285140")
    target = opened(ticket_id="t-target", number="62662074")
    [event] = duplicate.merge_into(SUPERVISOR, target, later(hours=3))
    assert event.into_ticket_id == "t-target"


def test_the_surviving_ticket_may_be_in_another_department():
    duplicate = opened(ticket_id="t-dup", number="28285140")
    target = opened(ticket_id="t-target", number="62662074", department=OTHER_DEPARTMENT)
    [event] = duplicate.merge_into(AGENT, target, later(hours=2))
    assert event.into_ticket_id == "t-target"


def test_a_ticket_that_was_merged_cannot_be_merged_again():
    duplicate, _ = merged()
    other = opened(ticket_id="t-other", number="83908217")
    with pytest.raises(TicketWasMerged):
        duplicate.merge_into(AGENT, other, later(hours=3))


def test_a_ticket_cannot_be_merged_into_itself():
    ticket = opened()
    same = opened()
    with pytest.raises(CannotMergeIntoItself):
        ticket.merge_into(AGENT, same, later(hours=1))


def test_a_ticket_cannot_be_merged_into_a_closed_one():
    duplicate = opened(ticket_id="t-dup", number="28285140")
    target = closed(ticket_id="t-target", number="62662074")
    with pytest.raises(MergeTargetClosed):
        duplicate.merge_into(AGENT, target, later(hours=3))


def test_a_ticket_cannot_be_merged_into_a_merged_one():
    merged_away, _ = merged()
    duplicate = opened(ticket_id="t-3", number="83908217")
    with pytest.raises(MergeTargetClosed):
        duplicate.merge_into(AGENT, merged_away, later(hours=3))


def test_tickets_of_different_customers_are_never_merged_even_in_one_organisation():
    duplicate = opened(ticket_id="t-dup", number="28285140", actor=COLLEAGUE)
    target = opened(ticket_id="t-target", number="62662074", actor=CUSTOMER)
    with pytest.raises(MergeAcrossCustomers):
        duplicate.merge_into(AGENT, target, later(hours=2))


def test_a_ticket_cannot_be_merged_into_one_that_does_not_exist():
    duplicate = opened()
    with pytest.raises(TicketNotVisible):
        duplicate.merge_into(AGENT, Ticket(), later(hours=2))


def test_a_customer_cannot_merge_their_tickets():
    duplicate, target = duplicate_and_target()
    with pytest.raises(NotPermitted):
        duplicate.merge_into(CUSTOMER, target, later(hours=2))
    with pytest.raises(TicketNotVisible):
        duplicate.merge_into(STRANGER, target, later(hours=2))


def test_an_agent_of_another_department_cannot_merge():
    duplicate, target = duplicate_and_target()
    with pytest.raises(NotInDepartment):
        duplicate.merge_into(OUTSIDE_AGENT, target, later(hours=2))
