"""Admins, departments, agents and supervisors; who may see what. Application layer on
real PostgreSQL."""

from __future__ import annotations

from pasokh_common.context import CallContext
from pasokh_common.errors import ValidationFailed

import pytest

from services.identity.domain import errors
from tests.integration.identity.support import PASSWORD, new_phone

pytestmark = pytest.mark.integration


def admin_token(t) -> str:
    phone = new_phone()
    t.app.staff.create_admin(
        {"name": "مدیر سامانه", "phone": phone, "password": PASSWORD}, CallContext(origin="cli")
    )
    return t.app.sessions.login({"login": phone, "password": PASSWORD}, "x")["access_token"]


def customer_token(t) -> str:
    phone = new_phone()
    payload = {"kind": "person", "name": "مشتری", "phone": phone, "password": PASSWORD}
    t.app.accounts.register(payload, "x", CallContext())
    t.app.accounts.verify_phone({"phone": phone, "code": t.sender.last_code(phone)}, CallContext())
    return t.app.sessions.login({"login": phone, "password": PASSWORD}, "x")["access_token"]


def test_admin_builds_departments_and_staff_and_each_change_is_an_event(identity_app):
    t = identity_app
    admin = admin_token(t)
    for slug, name in (("technical-support", "پشتیبانی فنی"), ("finance", "مالی")):
        t.app.staff.create_department(admin, {"department_id": slug, "name": name}, CallContext())
    agent = t.app.staff.create_agent(
        admin,
        {
            "name": "علی کارشناس",
            "username": "ali",
            "password": PASSWORD,
            "departments": ["technical-support"],
        },
        CallContext(),
    )
    assert agent["role"] == "agent" and agent["verified"]
    assert agent["departments"] == ["technical-support"]

    ctx = CallContext()
    t.app.staff.assign_to_department(
        admin, {"user_id": agent["id"], "department_id": "finance"}, ctx
    )
    again = t.app.staff.assign_to_department(
        admin, {"user_id": agent["id"], "department_id": "finance"}, ctx
    )
    assert again["departments"] == ["finance", "technical-support"]
    agent_token = t.app.sessions.login({"login": "ali", "password": PASSWORD}, "x")
    actor = t.app.sessions.validate_token(agent_token["access_token"])
    assert actor["role"] == "agent"
    assert actor["departments"] == ["finance", "technical-support"]

    t.app.staff.remove_from_department(
        admin, {"user_id": agent["id"], "department_id": "technical-support"}, ctx
    )
    # The same token now answers with the department gone: removal takes effect at once.
    actor = t.app.sessions.validate_token(agent_token["access_token"])
    assert actor["departments"] == ["finance"]

    types = [e["event_type"] for e in t.events()]
    assert types == [
        "AgentCreated",  # the admin, by the CLI
        "DepartmentCreated",
        "DepartmentCreated",
        "AgentCreated",
        "AgentAssignedToDepartment",
        "AgentAssignedToDepartment",  # once: the repeated assignment changed nothing
        "AgentRemovedFromDepartment",
    ]
    removed = t.events("AgentRemovedFromDepartment")[0]
    assert removed["data"] == {
        "user_id": agent["id"],
        "department_id": "technical-support",
        "removed_at": removed["data"]["removed_at"],
    }
    assert removed["metadata"]["actor_role"] == "admin"
    assert t.events()[0]["metadata"]["origin"] == "cli"


def test_a_supervisor_is_an_agent_with_the_supervisor_role(identity_app):
    t = identity_app
    admin = admin_token(t)
    t.app.staff.create_department(admin, {"department_id": "sales", "name": "فروش"}, CallContext())
    sup = t.app.staff.create_agent(
        admin,
        {
            "name": "سرپرست",
            "username": "sup1",
            "password": PASSWORD,
            "role": "supervisor",
            "departments": ["sales"],
        },
        CallContext(),
    )
    token = t.app.sessions.login({"login": "sup1", "password": PASSWORD}, "x")["access_token"]
    actor = t.app.sessions.validate_token(token)
    assert (actor["role"], actor["departments"]) == ("supervisor", ["sales"])
    [assigned] = t.events("AgentAssignedToDepartment")
    assert assigned["data"]["role"] == "supervisor" and assigned["data"]["user_id"] == sup["id"]
    members = t.app.directory.department_members(token, {"department_id": "sales"})
    assert [m["id"] for m in members] == [sup["id"]]


def test_customers_and_agents_cannot_use_admin_operations(identity_app):
    t = identity_app
    admin = admin_token(t)
    t.app.staff.create_agent(
        admin, {"name": "کارشناس", "username": "agent7", "password": PASSWORD}, CallContext()
    )
    agent = t.app.sessions.login({"login": "agent7", "password": PASSWORD}, "x")["access_token"]
    customer = customer_token(t)
    for token in (customer, agent):
        with pytest.raises(errors.NotPermitted):
            t.app.staff.create_department(
                token, {"department_id": "x-dept", "name": "واحد"}, CallContext()
            )
        with pytest.raises(errors.NotPermitted):
            t.app.staff.create_agent(
                token, {"name": "نفوذی", "username": "evil", "password": PASSWORD}, CallContext()
            )
    with pytest.raises(errors.NotPermitted):
        t.app.directory.find_customer(customer, {"phone": new_phone()})
    with pytest.raises(errors.NotPermitted):
        t.app.directory.department_members(customer, {"department_id": "x-dept"})


def test_admins_cannot_create_admins_through_the_api(identity_app):
    t = identity_app
    with pytest.raises(ValidationFailed):
        t.app.staff.create_agent(
            admin_token(t),
            {"name": "مدیر دوم", "username": "admin2", "password": PASSWORD, "role": "admin"},
            CallContext(),
        )


def test_only_agents_and_supervisors_join_departments(identity_app):
    t = identity_app
    admin = admin_token(t)
    t.app.staff.create_department(
        admin, {"department_id": "finance", "name": "مالی"}, CallContext()
    )
    customer = t.app.sessions.validate_token(customer_token(t))
    with pytest.raises(errors.NotAssignable):
        t.app.staff.assign_to_department(
            admin, {"user_id": customer["id"], "department_id": "finance"}, CallContext()
        )
    with pytest.raises(errors.DepartmentNotFound):
        t.app.staff.create_agent(
            admin,
            {
                "name": "کارشناس",
                "username": "agent1",
                "password": PASSWORD,
                "departments": ["nope"],
            },
            CallContext(),
        )
    with pytest.raises(errors.DepartmentExists):
        t.app.staff.create_department(
            admin, {"department_id": "finance", "name": "مالی"}, CallContext()
        )


def test_get_contact_needs_the_notify_secret(identity_app):
    t = identity_app
    customer = t.app.sessions.validate_token(customer_token(t))
    with pytest.raises(errors.NotPermitted):
        t.app.directory.get_contact(customer["id"], "a guess")
    with pytest.raises(errors.NotPermitted):
        t.app.directory.get_contact(customer["id"], None)
    contact = t.app.directory.get_contact(customer["id"], "notify-only-secret-for-tests")
    assert contact["phone"].startswith("+989") and contact["language"] == "fa"
    assert "phone" not in t.app.directory.get_user(customer["id"])


def test_get_contact_is_closed_when_no_secret_is_configured(make_identity_app):
    t = make_identity_app(contact_secret="")
    customer = t.app.sessions.validate_token(customer_token(t))
    with pytest.raises(errors.NotPermitted):
        t.app.directory.get_contact(customer["id"], "")


def test_company_members_add_colleagues_who_share_the_organisation(identity_app):
    t = identity_app
    phone = new_phone()
    owner = t.app.accounts.register(
        {
            "kind": "company",
            "name": "مدیر شرکت",
            "organisation_name": "شرکت بتا",
            "phone": phone,
            "password": PASSWORD,
        },
        "x",
        CallContext(),
    )["user"]
    t.app.accounts.verify_phone({"phone": phone, "code": t.sender.last_code(phone)}, CallContext())
    token = t.app.sessions.login({"login": phone, "password": PASSWORD}, "x")["access_token"]
    colleague_phone = new_phone()
    added = t.app.accounts.add_member(
        token,
        {"name": "همکار", "phone": colleague_phone, "password": PASSWORD},
        "x",
        CallContext(),
    )
    assert added["user"]["organisation_id"] == owner["organisation_id"]
    assert added["user"]["kind"] == "company" and added["code_sent"]
    registered = t.events("UserRegistered")[-1]
    assert registered["metadata"]["actor_id"] == owner["id"]
    with pytest.raises(errors.NotPermitted):
        t.app.accounts.add_member(
            customer_token(t),
            {"name": "غریبه", "phone": new_phone(), "password": PASSWORD},
            "x",
            CallContext(),
        )
