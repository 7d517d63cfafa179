"""Agents' and admins' routes through HTTP: the queue, claim, release, notes,
transfer, priority, merge, find by number, the audit trail; departments and agents."""

from __future__ import annotations

import pytest

from tests.integration.gateway.client import (
    error_of,
    new_agent,
    new_department,
    ok,
    open_ticket,
    register_customer,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def desk(stack, admin):
    """A department of this test's own, an agent in it, and a customer."""
    department = new_department(admin, "desk")
    return department, new_agent(stack, admin, [department]), register_customer(stack)


def test_the_queue_puts_whoever_waited_longest_first_and_a_customer_reply_moves_to_the_end(
    stack, desk
):
    department, agent, customer = desk
    first, second = open_ticket(customer, department), open_ticket(customer, department)
    queue = ok(agent.api.get(f"/api/v1/departments/{department}/queue"))
    assert [t["ticket_id"] for t in queue["items"]] == [first["ticket_id"], second["ticket_id"]]
    ok(
        customer.api.post(f"/api/v1/tickets/{first['ticket_id']}/replies", {"body": "هنوز منتظرم"}),
        201,
    )
    queue = ok(agent.api.get(f"/api/v1/departments/{department}/queue"))
    assert [t["ticket_id"] for t in queue["items"]] == [second["ticket_id"], first["ticket_id"]]
    by_opening = ok(
        agent.api.get(f"/api/v1/departments/{department}/queue", params={"order": "opened"})
    )
    assert by_opening["items"][0]["ticket_id"] == first["ticket_id"]
    error = error_of(
        agent.api.get(f"/api/v1/departments/{department}/queue", params={"order": "x"}), 400
    )
    assert set(error["fields"]) == {"order"}


def test_claim_note_release_priority_transfer_and_the_audit_trail(stack, admin, desk):
    department, agent, customer = desk
    ticket = open_ticket(customer, department)
    path = f"/api/v1/tickets/{ticket['ticket_id']}"
    claimed = ok(agent.api.post(f"{path}/claim", {}))
    assert (claimed["status"], claimed["assignee_id"]) == ("under_review", agent.id)
    assert error_of(agent.api.post(f"{path}/claim", {}), 409)["code"] == "already_claimed"
    ok(agent.api.post(f"{path}/notes", {"body": "یادداشت داخلی: بررسی با مالی"}), 201)
    assert [m["kind"] for m in ok(agent.api.get(path))["messages"]] == ["opening", "internal_note"]
    assert [m["kind"] for m in ok(customer.api.get(path))["messages"]] == ["opening"]
    ok(agent.api.post(f"{path}/release", {}))
    assert ok(agent.api.post(f"{path}/priority", {"priority": "urgent"}))["priority"] == "urgent"
    stale = agent.api.post(f"{path}/priority", {"priority": "low", "expected_version": 1})
    assert error_of(stale, 409)["code"] == "conflict"

    other = new_department(admin, "other")
    moved = ok(
        agent.api.post(f"{path}/transfer", {"to_department": other, "reason": "مربوط به واحد دیگر"})
    )
    assert moved["department"] == other
    # The agent no longer sees it (not their department): 404, as for any unseen ticket.
    assert error_of(agent.api.get(path), 404)["code"] in ("not_found", "ticket_not_found")

    trail = ok(admin.api.get(f"{path}/history"))
    assert [e["type"] for e in trail] == [
        "TicketOpened", "TicketClaimed", "InternalNotePosted", "TicketReleased",
        "PriorityChanged", "TicketTransferred",
    ]  # fmt: skip
    assert [e["actor_id"] for e in trail] == [customer.id] + [agent.id] * 5
    assert all(e["recorded_at"] and e["actor_role"] for e in trail)


def test_merge_a_duplicate_by_number_and_find_by_number(stack, desk):
    department, agent, customer = desk
    original = open_ticket(customer, department, "اشتراک اینترنت قطع است")
    duplicate = open_ticket(customer, department, "تمدید قرارداد", different_matter=True)
    spoken = "۱۲-" + "".join("۰۱۲۳۴۵۶۷۸۹"[int(d)] for d in original["number"])[2:]
    typed = original["number"][:2] + spoken[2:]
    found = ok(agent.api.get(f"/api/v1/tickets/by-number/{typed}"))
    assert found["ticket_id"] == original["ticket_id"]
    merged = ok(
        agent.api.post(
            f"/api/v1/tickets/{duplicate['ticket_id']}/merge", {"into_number": original["number"]}
        )
    )
    assert (merged["status"], merged["merged_into"]) == ("closed", original["ticket_id"])
    error = error_of(agent.api.post(f"/api/v1/tickets/{duplicate['ticket_id']}/merge", {}), 400)
    assert set(error["fields"]) == {"into_ticket_id"}


def test_customer_search_profiles_departments_and_members(stack, admin, desk):
    department, agent, customer = desk
    found = ok(agent.api.post("/api/v1/customers/search", {"phone": customer.phone}))
    assert found["id"] == customer.id
    assert ok(agent.api.get(f"/api/v1/users/{customer.id}"))["name"] == customer.user["name"]
    assert ok(customer.api.get(f"/api/v1/users/{customer.id}"))["id"] == customer.id
    assert error_of(customer.api.get(f"/api/v1/users/{agent.id}"), 404)["code"] == "not_found"
    assert department in {d["department_id"] for d in ok(customer.api.get("/api/v1/departments"))}
    members = ok(agent.api.get(f"/api/v1/departments/{department}/members"))
    assert [m["id"] for m in members] == [agent.id]


def test_admin_assigns_and_removes_agents_and_removal_takes_effect_at_once(stack, admin, desk):
    department, agent, customer = desk
    second = new_department(admin, "second")
    ticket = open_ticket(customer, second)
    assigned = ok(admin.api.put(f"/api/v1/departments/{second}/members/{agent.id}", {}))
    assert sorted(assigned["departments"]) == sorted([department, second])
    # The old token still lists one department; identity answers with the current ones
    # (the gateway caches a verdict 2 s at most in these tests).
    agent_after = ok(admin.api.get(f"/api/v1/users/{agent.id}"))
    assert second in agent_after["departments"]
    ok(admin.api.delete(f"/api/v1/departments/{second}/members/{agent.id}"))
    error = error_of(agent.api.get(f"/api/v1/departments/{second}/queue"), 403)
    assert error["code"] == "not_in_department"
    del ticket


def test_staff_and_admin_routes_refuse_customers_and_admin_routes_refuse_agents(stack, desk):
    department, agent, customer = desk
    ticket = open_ticket(customer, department)
    path = f"/api/v1/tickets/{ticket['ticket_id']}"
    customer.api.language = "en"
    for method, url, body in [
        ("GET", f"/api/v1/departments/{department}/queue", None),
        ("POST", f"{path}/claim", {}),
        ("POST", f"{path}/notes", {"body": "x"}),
        ("POST", f"{path}/transfer", {"to_department": "x"}),
        ("POST", f"{path}/priority", {"priority": "urgent"}),
        ("POST", f"{path}/merge", {"into_number": "1"}),
        ("GET", f"{path}/history", None),
        ("POST", "/api/v1/customers/search", {"phone": customer.phone}),
        ("POST", "/api/v1/departments", {"department_id": "hacked", "name": "نفوذ"}),
        ("POST", "/api/v1/agents", {"name": "نفوذی", "username": "mole", "password": "x" * 12}),
    ]:
        error = error_of(customer.api.request(method, url, json=body), 403)
        assert error["code"] == "not_permitted", url
    for method, url in [
        ("POST", "/api/v1/departments"),
        ("PUT", f"/api/v1/departments/{department}/members/{customer.id}"),
    ]:
        assert error_of(agent.api.request(method, url, json={}), 403)["code"] == "not_permitted"
    assert ok(customer.api.get(path))["version"] == 1  # nothing happened to the ticket
