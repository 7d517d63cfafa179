from __future__ import annotations

import pytest

from services.tickets.domain import (
    Actor,
    AlreadyClaimed,
    ClaimedByAnotherAgent,
    NotClaimed,
    NotInDepartment,
    NotPermitted,
    Status,
    TicketClaimed,
    TicketIsClosed,
    TicketNotVisible,
    TicketReleased,
    TicketWasMerged,
)
from tests.unit.tickets.support import (
    ADMIN,
    AGENT,
    CUSTOMER,
    DEPARTMENT,
    OTHER_AGENT,
    OTHER_DEPARTMENT,
    OUTSIDE_AGENT,
    OUTSIDE_SUPERVISOR,
    STRANGER,
    SUPERVISOR,
    SYSTEM,
    answered,
    claimed,
    closed,
    later,
    merged,
    opened,
    state_of,
    then,
)

# -- claim -------------------------------------------------------------------------


def test_an_agent_claims_an_unanswered_ticket_and_starts_reviewing_it():
    ticket = opened()

    events = ticket.claim(AGENT, later(minutes=5))

    assert events == [
        TicketClaimed(
            ticket_id="t-1", agent_id=AGENT.id, department=DEPARTMENT, claimed_at=later(minutes=5)
        )
    ]
    then(ticket, events)
    assert ticket.assignee_id == AGENT.id
    assert ticket.status is Status.UNDER_REVIEW
    assert ticket.version == 2


def test_claiming_does_not_change_the_ticket_until_the_event_is_applied():
    ticket = opened()
    before = state_of(ticket)
    ticket.claim(AGENT, later(minutes=5))
    assert state_of(ticket) == before


def test_claiming_an_answered_ticket_keeps_it_answered():
    ticket = answered(by=SUPERVISOR)  # a supervisor's reply does not claim
    assert ticket.assignee_id is None

    then(ticket, ticket.claim(AGENT, later(hours=1)))

    assert ticket.status is Status.ANSWERED
    assert ticket.assignee_id == AGENT.id


@pytest.mark.parametrize("actor", [SUPERVISOR, ADMIN, SYSTEM])
def test_supervisors_admins_and_the_system_may_claim(actor):
    ticket = opened()
    then(ticket, ticket.claim(actor, later(minutes=5)))
    assert ticket.assignee_id == actor.id


def test_claiming_a_ticket_you_already_hold_is_refused():
    ticket = claimed(by=AGENT)
    with pytest.raises(AlreadyClaimed):
        ticket.claim(AGENT, later(minutes=6))


def test_claiming_a_ticket_another_agent_holds_is_refused():
    ticket = claimed(by=AGENT)
    with pytest.raises(ClaimedByAnotherAgent):
        ticket.claim(OTHER_AGENT, later(minutes=6))


def test_a_supervisor_cannot_claim_over_an_agent_either():
    ticket = claimed(by=AGENT)
    with pytest.raises(ClaimedByAnotherAgent):
        ticket.claim(SUPERVISOR, later(minutes=6))


def test_a_customer_cannot_claim_their_own_ticket():
    with pytest.raises(NotPermitted):
        opened().claim(CUSTOMER, later(minutes=5))


def test_a_customer_claiming_someone_elses_ticket_is_told_it_does_not_exist():
    with pytest.raises(TicketNotVisible) as caught:
        opened().claim(STRANGER, later(minutes=5))
    assert (caught.value.code, caught.value.http_status) == ("ticket_not_found", 404)


def test_an_agent_of_another_department_cannot_claim():
    with pytest.raises(NotInDepartment):
        opened().claim(OUTSIDE_AGENT, later(minutes=5))


def test_a_closed_ticket_cannot_be_claimed():
    ticket = closed()
    with pytest.raises(TicketIsClosed):
        ticket.claim(OTHER_AGENT, later(hours=2))


def test_a_merged_ticket_cannot_be_claimed_and_points_to_where_it_went():
    duplicate, target = merged()
    with pytest.raises(TicketWasMerged) as caught:
        duplicate.claim(AGENT, later(hours=3))
    assert caught.value.into_ticket_id == target.id
    assert caught.value.to_dict()["into_ticket_id"] == target.id


# -- release -----------------------------------------------------------------------


def test_the_holder_releases_a_ticket_back_to_the_queue():
    ticket = claimed(by=AGENT)

    events = ticket.release(AGENT, later(minutes=30))

    assert events == [
        TicketReleased(
            ticket_id="t-1",
            agent_id=AGENT.id,
            released_by=AGENT.id,
            released_at=later(minutes=30),
        )
    ]
    then(ticket, events)
    assert ticket.assignee_id is None
    assert ticket.status is Status.UNANSWERED


def test_releasing_an_answered_ticket_keeps_it_answered():
    ticket = answered(by=AGENT)
    then(ticket, ticket.release(AGENT, later(hours=1)))
    assert ticket.status is Status.ANSWERED
    assert ticket.assignee_id is None


@pytest.mark.parametrize("actor", [SUPERVISOR, ADMIN, SYSTEM])
def test_a_supervisor_or_admin_takes_a_ticket_back_from_an_agent(actor):
    ticket = claimed(by=AGENT)

    [event] = ticket.release(actor, later(hours=1))

    assert (event.agent_id, event.released_by) == (AGENT.id, actor.id)


def test_an_agent_cannot_release_a_colleagues_ticket():
    ticket = claimed(by=AGENT)
    with pytest.raises(ClaimedByAnotherAgent):
        ticket.release(OTHER_AGENT, later(hours=1))


def test_a_supervisor_of_another_department_cannot_release():
    ticket = claimed(by=AGENT)
    with pytest.raises(NotInDepartment):
        ticket.release(OUTSIDE_SUPERVISOR, later(hours=1))


def test_the_holder_may_release_after_leaving_the_department():
    ticket = claimed(by=AGENT)
    moved_on = Actor(AGENT.id, AGENT.role, frozenset({OTHER_DEPARTMENT}))

    [event] = ticket.release(moved_on, later(days=1))

    assert event.agent_id == AGENT.id


def test_releasing_a_ticket_nobody_holds_is_refused():
    with pytest.raises(NotClaimed):
        opened().release(SUPERVISOR, later(hours=1))


def test_a_customer_cannot_release():
    ticket = claimed(by=AGENT)
    with pytest.raises(NotPermitted):
        ticket.release(CUSTOMER, later(hours=1))
    with pytest.raises(TicketNotVisible):
        ticket.release(STRANGER, later(hours=1))


def test_a_closed_ticket_cannot_be_released():
    ticket = closed()  # answered by AGENT, who still holds it
    assert ticket.assignee_id == AGENT.id
    with pytest.raises(TicketIsClosed):
        ticket.release(AGENT, later(hours=2))


def test_a_merged_ticket_cannot_be_released():
    duplicate, _ = merged()
    with pytest.raises(TicketWasMerged):
        duplicate.release(SUPERVISOR, later(hours=3))
