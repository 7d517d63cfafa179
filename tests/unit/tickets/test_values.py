from __future__ import annotations

from datetime import timedelta

import pytest

from services.tickets.domain import Actor, Role, TicketPolicy


@pytest.mark.parametrize(
    ("role", "staff"),
    [
        (Role.CUSTOMER, False),
        (Role.AGENT, True),
        (Role.SUPERVISOR, True),
        (Role.ADMIN, True),
        (Role.SYSTEM, True),
    ],
)
def test_everyone_but_customers_is_staff(role, staff):
    assert Actor("x", role).is_staff is staff


@pytest.mark.parametrize(
    ("role", "departments", "works_in_billing"),
    [
        (Role.CUSTOMER, frozenset({"billing"}), False),
        (Role.AGENT, frozenset({"billing"}), True),
        (Role.AGENT, frozenset({"sales"}), False),
        (Role.AGENT, frozenset(), False),
        (Role.SUPERVISOR, frozenset({"billing", "sales"}), True),
        (Role.SUPERVISOR, frozenset({"sales"}), False),
        (Role.ADMIN, frozenset(), True),
        (Role.SYSTEM, frozenset(), True),
    ],
)
def test_who_works_in_a_department(role, departments, works_in_billing):
    assert Actor("x", role, departments).works_in("billing") is works_in_billing


def test_an_actor_built_from_rpc_values_gets_the_real_types():
    actor = Actor("a", "agent", ["billing", "sales"])  # type: ignore[arg-type]
    assert actor.role is Role.AGENT
    assert actor.departments == frozenset({"billing", "sales"})
    assert actor.works_in("sales")


def test_an_unknown_role_is_refused():
    with pytest.raises(ValueError):
        Actor("a", "janitor")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("role", "overrides"),
    [
        (Role.CUSTOMER, False),
        (Role.AGENT, False),
        (Role.SUPERVISOR, True),
        (Role.ADMIN, True),
        (Role.SYSTEM, True),
    ],
)
def test_supervisors_admins_and_the_system_may_override_an_agents_hold(role, overrides):
    assert Actor("x", role).can_override is overrides


def test_the_default_policy_states_the_product_limits():
    policy = TicketPolicy()
    assert policy.reopen_window == timedelta(days=7)
    assert policy.max_attachment_bytes == 10 * 1024 * 1024
    assert policy.max_attachments_per_message == 10
    assert (policy.min_subject_length, policy.max_subject_length) == (3, 200)
    assert policy.max_body_length == 20000
    assert policy.max_rating_comment_length == 1000
