from __future__ import annotations

import pytest

from services.tickets.domain import (
    AlreadyRated,
    InvalidTicketData,
    NotInDepartment,
    NotPermitted,
    RatingNotAllowed,
    SatisfactionRated,
    TicketNotClosed,
    TicketNotVisible,
)
from tests.unit.tickets.support import (
    AGENT,
    COLLEAGUE,
    CUSTOMER,
    OUTSIDE_AGENT,
    STRANGER,
    answered,
    closed,
    later,
    merged,
    then,
)


def test_the_customer_rates_a_closed_ticket():
    ticket = closed()

    events = ticket.rate(CUSTOMER, 5, "  Quick and kind.  ", later(days=1))

    assert events == [
        SatisfactionRated(
            ticket_id="t-1",
            customer_id=CUSTOMER.id,
            score=5,
            comment="Quick and kind.",
            rated_at=later(days=1),
        )
    ]
    then(ticket, events)
    assert ticket.rating == 5
    assert ticket.rating_comment == "Quick and kind."


@pytest.mark.parametrize("score", [1, 2, 3, 4, 5])
def test_every_score_from_one_to_five_is_accepted(score):
    [event] = closed().rate(CUSTOMER, score, None, later(days=1))
    assert event.score == score


@pytest.mark.parametrize("score", [0, 6, -1, True, "5", 4.5, None])
def test_a_score_outside_one_to_five_is_refused(score):
    with pytest.raises(InvalidTicketData) as caught:
        closed().rate(CUSTOMER, score, None, later(days=1))
    assert set(caught.value.fields) == {"score"}
    assert caught.value.fields["score"][0]["fa"] == "امتیاز باید عددی صحیح از ۱ تا ۵ باشد."


def test_a_blank_comment_is_no_comment():
    [event] = closed().rate(CUSTOMER, 4, " \n ", later(days=1))
    assert event.comment is None


def test_a_comment_at_the_length_limit_is_accepted():
    [event] = closed().rate(CUSTOMER, 4, "x" * 1000, later(days=1))
    assert len(event.comment) == 1000


def test_a_comment_over_the_length_limit_is_refused():
    with pytest.raises(InvalidTicketData) as caught:
        closed().rate(CUSTOMER, 4, "x" * 1001, later(days=1))
    assert set(caught.value.fields) == {"comment"}


def test_a_ticket_is_rated_only_once():
    ticket = closed()
    then(ticket, ticket.rate(CUSTOMER, 2, None, later(days=1)))
    with pytest.raises(AlreadyRated):
        ticket.rate(CUSTOMER, 5, None, later(days=2))


def test_a_ticket_rated_reopened_and_closed_again_is_still_rated_once():
    ticket = closed()
    then(ticket, ticket.rate(CUSTOMER, 2, None, later(days=1)))
    then(ticket, ticket.reopen(CUSTOMER, later(days=2)))
    then(ticket, ticket.close(AGENT, later(days=3)))
    with pytest.raises(AlreadyRated):
        ticket.rate(CUSTOMER, 5, None, later(days=4))


def test_an_open_ticket_cannot_be_rated_yet():
    with pytest.raises(TicketNotClosed):
        answered().rate(CUSTOMER, 5, None, later(days=1))


def test_a_merged_duplicate_cannot_be_rated():
    duplicate, _ = merged()
    with pytest.raises(RatingNotAllowed):
        duplicate.rate(CUSTOMER, 5, None, later(days=1))


@pytest.mark.parametrize("actor", [COLLEAGUE, AGENT])
def test_only_the_customer_who_asked_may_rate(actor):
    with pytest.raises(NotPermitted):
        closed().rate(actor, 5, None, later(days=1))


def test_a_stranger_rating_is_told_the_ticket_does_not_exist():
    with pytest.raises(TicketNotVisible):
        closed().rate(STRANGER, 5, None, later(days=1))


def test_an_agent_of_another_department_is_refused_before_anything_else():
    with pytest.raises(NotInDepartment):
        closed().rate(OUTSIDE_AGENT, 5, None, later(days=1))
