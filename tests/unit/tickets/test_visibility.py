"""Who sees a ticket: the rule behind every 404 and 403 of the tickets API."""

from __future__ import annotations

import pytest

from services.tickets.domain import Actor, Role, Ticket
from tests.unit.tickets.support import (
    ADMIN,
    AGENT,
    COLLEAGUE,
    CUSTOMER,
    LONE_CUSTOMER,
    OTHER_AGENT,
    OTHER_LONE_CUSTOMER,
    OUTSIDE_AGENT,
    OUTSIDE_SUPERVISOR,
    STRANGER,
    SUPERVISOR,
    SYSTEM,
    opened,
)


@pytest.mark.parametrize(
    ("actor", "sees"),
    [
        (CUSTOMER, True),  # their own
        (COLLEAGUE, True),  # same organisation
        (STRANGER, False),  # another organisation
        (LONE_CUSTOMER, False),  # no organisation at all
        (AGENT, True),
        (OTHER_AGENT, True),
        (SUPERVISOR, True),
        (OUTSIDE_AGENT, False),
        (OUTSIDE_SUPERVISOR, False),
        (ADMIN, True),
        (SYSTEM, True),
    ],
)
def test_who_sees_a_customers_ticket_in_billing(actor, sees):
    assert opened(actor=CUSTOMER).can_view(actor) is sees


def test_customers_without_an_organisation_do_not_see_each_others_tickets():
    ticket = opened(actor=LONE_CUSTOMER)
    assert ticket.organisation_id is None
    assert ticket.can_view(LONE_CUSTOMER)
    assert not ticket.can_view(OTHER_LONE_CUSTOMER)


def test_a_customer_with_the_same_id_as_staff_is_still_judged_as_a_customer():
    impostor = Actor(AGENT.id, Role.CUSTOMER, frozenset({"billing"}))
    assert not opened(actor=CUSTOMER).can_view(impostor)


def test_a_ticket_that_does_not_exist_is_visible_to_nobody():
    ticket = Ticket.from_events([])
    assert not ticket.can_view(ADMIN)
    assert not ticket.can_view(CUSTOMER)
