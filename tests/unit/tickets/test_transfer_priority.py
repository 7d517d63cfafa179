from __future__ import annotations

import pytest

from services.tickets.domain import (
    InvalidTicketData,
    NotInDepartment,
    NotPermitted,
    Priority,
    PriorityChanged,
    SameDepartment,
    SamePriority,
    Status,
    TicketIsClosed,
    TicketNotVisible,
    TicketTransferred,
    TicketWasMerged,
)
from tests.unit.tickets.support import (
    ADMIN,
    AGENT,
    CUSTOMER,
    DEPARTMENT,
    OTHER_DEPARTMENT,
    OUTSIDE_AGENT,
    STRANGER,
    SUPERVISOR,
    answered,
    claimed,
    closed,
    later,
    merged,
    opened,
    then,
)

# -- transfer ------------------------------------------------------------------------------


def test_an_agent_transfers_a_ticket_to_another_department():
    ticket = opened()

    events = ticket.transfer(AGENT, OTHER_DEPARTMENT, "About a contract", later(hours=1))

    assert events == [
        TicketTransferred(
            ticket_id="t-1",
            from_department=DEPARTMENT,
            to_department=OTHER_DEPARTMENT,
            reason="About a contract",
            transferred_by=AGENT.id,
            transferred_at=later(hours=1),
        )
    ]
    then(ticket, events)
    assert ticket.department == OTHER_DEPARTMENT
    assert ticket.status is Status.UNANSWERED


def test_a_transfer_lets_go_of_the_holder_and_puts_the_ticket_back_in_the_queue():
    ticket = claimed(by=AGENT)
    then(ticket, ticket.transfer(AGENT, OTHER_DEPARTMENT, None, later(hours=1)))
    assert ticket.assignee_id is None
    assert ticket.status is Status.UNANSWERED


def test_a_transferred_answered_ticket_stays_answered():
    ticket = answered(by=AGENT)
    then(ticket, ticket.transfer(SUPERVISOR, OTHER_DEPARTMENT, None, later(hours=1)))
    assert ticket.status is Status.ANSWERED
    assert ticket.assignee_id is None


def test_after_a_transfer_the_new_department_sees_the_ticket_and_the_old_does_not():
    ticket = opened()
    then(ticket, ticket.transfer(AGENT, OTHER_DEPARTMENT, None, later(hours=1)))
    assert ticket.can_view(OUTSIDE_AGENT)
    assert not ticket.can_view(AGENT)


def test_a_blank_reason_is_no_reason():
    [event] = opened().transfer(AGENT, OTHER_DEPARTMENT, "   ", later(hours=1))
    assert event.reason is None


def test_a_reason_over_the_length_limit_is_refused():
    with pytest.raises(InvalidTicketData) as caught:
        opened().transfer(AGENT, OTHER_DEPARTMENT, "x" * 1001, later(hours=1))
    assert set(caught.value.fields) == {"reason"}


def test_a_transfer_needs_a_department():
    with pytest.raises(InvalidTicketData) as caught:
        opened().transfer(AGENT, " ", None, later(hours=1))
    assert set(caught.value.fields) == {"to_department"}


def test_a_transfer_to_the_same_department_is_refused():
    with pytest.raises(SameDepartment):
        opened().transfer(AGENT, f" {DEPARTMENT} ", None, later(hours=1))


def test_an_admin_transfers_from_any_department():
    [event] = opened().transfer(ADMIN, OTHER_DEPARTMENT, None, later(hours=1))
    assert event.transferred_by == ADMIN.id


def test_an_agent_of_another_department_cannot_transfer():
    with pytest.raises(NotInDepartment):
        opened().transfer(OUTSIDE_AGENT, OTHER_DEPARTMENT, None, later(hours=1))


def test_a_customer_cannot_transfer():
    with pytest.raises(NotPermitted):
        opened().transfer(CUSTOMER, OTHER_DEPARTMENT, None, later(hours=1))
    with pytest.raises(TicketNotVisible):
        opened().transfer(STRANGER, OTHER_DEPARTMENT, None, later(hours=1))


def test_a_closed_ticket_cannot_be_transferred():
    with pytest.raises(TicketIsClosed):
        closed().transfer(AGENT, OTHER_DEPARTMENT, None, later(hours=2))


def test_a_merged_ticket_cannot_be_transferred():
    duplicate, _ = merged()
    with pytest.raises(TicketWasMerged):
        duplicate.transfer(AGENT, OTHER_DEPARTMENT, None, later(hours=3))


# -- priority -------------------------------------------------------------------------------


def test_an_agent_raises_a_tickets_priority():
    ticket = opened()

    events = ticket.change_priority(AGENT, Priority.URGENT, later(hours=1))

    assert events == [
        PriorityChanged(
            ticket_id="t-1",
            from_priority=Priority.NORMAL,
            to_priority=Priority.URGENT,
            changed_by=AGENT.id,
            changed_at=later(hours=1),
        )
    ]
    then(ticket, events)
    assert ticket.priority is Priority.URGENT
    assert ticket.status is Status.UNANSWERED


def test_a_priority_given_as_text_is_understood():
    [event] = opened().change_priority(AGENT, "low", later(hours=1))
    assert event.to_priority is Priority.LOW


def test_setting_the_priority_it_already_has_is_refused():
    with pytest.raises(SamePriority):
        opened().change_priority(AGENT, Priority.NORMAL, later(hours=1))


def test_an_unknown_priority_is_refused():
    with pytest.raises(InvalidTicketData) as caught:
        opened().change_priority(AGENT, "asap", later(hours=1))
    assert set(caught.value.fields) == {"priority"}


def test_a_customer_cannot_change_the_priority():
    with pytest.raises(NotPermitted):
        opened().change_priority(CUSTOMER, Priority.URGENT, later(hours=1))
    with pytest.raises(TicketNotVisible):
        opened().change_priority(STRANGER, Priority.URGENT, later(hours=1))


def test_an_agent_of_another_department_cannot_change_the_priority():
    with pytest.raises(NotInDepartment):
        opened().change_priority(OUTSIDE_AGENT, Priority.URGENT, later(hours=1))


def test_a_closed_ticket_keeps_its_priority():
    with pytest.raises(TicketIsClosed):
        closed().change_priority(AGENT, Priority.URGENT, later(hours=2))


def test_a_merged_ticket_keeps_its_priority():
    duplicate, _ = merged()
    with pytest.raises(TicketWasMerged):
        duplicate.change_priority(AGENT, Priority.URGENT, later(hours=3))
