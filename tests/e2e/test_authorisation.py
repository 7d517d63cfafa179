"""Who sees what, end to end: two customers, a company, two departments, agents in
each. Enforced by the gateway (roles) and again by the tickets service (objects);
whatever a caller may not see answers 404, as if it did not exist."""

from __future__ import annotations

import pytest

from tests.e2e.people import register_customer
from tests.e2e.stack import PASSWORD
from tests.integration.gateway.client import (
    Api,
    error_of,
    login,
    new_agent,
    new_department,
    new_phone,
    ok,
    open_ticket,
)
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e
NOT_FOUND = ("not_found", "ticket_not_found")


def ids(page: dict) -> list[str]:
    return [t["ticket_id"] for t in page["items"]]


def test_two_customers_two_departments_and_their_agents(stack, admin):
    sales, repairs = new_department(admin, "sales"), new_department(admin, "repairs")
    sales_agent = new_agent(stack, admin, [sales])
    repairs_agent = new_agent(stack, admin, [repairs])
    alice, bob = register_customer(stack, "آلیس"), register_customer(stack, "باب")

    contract = ("قرارداد.txt", "متن قرارداد".encode(), "text/plain")
    uploaded = ok(alice.api.post("/api/v1/attachments", files={"attachments": contract}), 201)
    uploaded = uploaded["attachments"][0]
    alices = open_ticket(alice, sales, attachment_ids=[uploaded["attachment_id"]])
    bobs = open_ticket(bob, repairs)
    a_path, b_path = (
        f"/api/v1/tickets/{alices['ticket_id']}",
        f"/api/v1/tickets/{bobs['ticket_id']}",
    )
    download = f"/api/v1/attachments/{uploaded['attachment_id']}"

    # Customers: their own only.
    assert ids(ok(alice.api.get("/api/v1/tickets"))) == [alices["ticket_id"]]
    assert ids(ok(bob.api.get("/api/v1/tickets"))) == [bobs["ticket_id"]]
    assert error_of(bob.api.get(a_path), 404)["code"] in NOT_FOUND
    assert error_of(bob.api.get(f"/api/v1/tickets/by-number/{alices['number']}"), 404)
    assert error_of(bob.api.get(download), 404)
    assert error_of(alice.api.post(f"{b_path}/replies", {"body": "سلام"}), 404)
    assert error_of(alice.api.get(f"{a_path}/history"), 403)["code"] == "not_permitted"
    assert error_of(alice.api.get(f"/api/v1/departments/{sales}/queue"), 403)

    # Agents: their departments only.
    assert ids(ok(sales_agent.api.get(f"/api/v1/departments/{sales}/queue"))) == [
        alices["ticket_id"]
    ]
    refused = error_of(sales_agent.api.get(f"/api/v1/departments/{repairs}/queue"), 403)
    assert refused["code"] == "not_in_department"
    assert error_of(sales_agent.api.get(b_path), 404)["code"] in NOT_FOUND
    assert error_of(sales_agent.api.post(f"{b_path}/claim", {}), 404)["code"] in NOT_FOUND
    assert error_of(repairs_agent.api.get(a_path), 404)["code"] in NOT_FOUND
    assert sales_agent.api.get(download).status_code == 200
    assert error_of(repairs_agent.api.get(download), 404)

    # Internal notes never reach the customer.
    ok(sales_agent.api.post(f"{a_path}/notes", {"body": "یادداشت داخلی"}), 201)
    assert [m["kind"] for m in ok(alice.api.get(a_path))["messages"]] == ["opening"]

    # A transfer moves the ticket, and who may see it, to the other department.
    ok(sales_agent.api.post(f"{a_path}/transfer", {"to_department": repairs}))
    assert error_of(sales_agent.api.get(a_path), 404)["code"] in NOT_FOUND
    assert error_of(sales_agent.api.get(download), 404)
    assert ok(repairs_agent.api.post(f"{a_path}/claim", {}))["assignee_id"] == repairs_agent.id
    assert repairs_agent.api.get(download).status_code == 200
    assert ok(alice.api.get(a_path))["department"] == repairs

    # Removing an agent from a department takes effect while their token still lists it
    # (tickets learns it from identity's event, a moment later).
    bobs_second = open_ticket(bob, repairs, "درخواست دوم")
    ok(admin.api.delete(f"/api/v1/departments/{repairs}/members/{repairs_agent.id}"))
    stale = repairs_agent.api.token

    def removed() -> bool:
        return (
            repairs_agent.api.get(f"/api/v1/tickets/{bobs_second['ticket_id']}").status_code == 404
        )

    assert wait_until(removed, timeout=30)
    assert (
        error_of(
            repairs_agent.api.post(
                f"/api/v1/tickets/{bobs_second['ticket_id']}/claim", {}, token=stale
            ),
            404,
        )["code"]
        in NOT_FOUND
    )


def test_company_members_share_their_companys_tickets_and_nobody_elses(stack, admin):
    department = new_department(admin, "accounts")
    owner = register_customer(stack, "مدیر شرکت", kind="company", organisation_name="شرکت بتا")
    colleague_phone = new_phone()
    ok(
        owner.api.post(
            "/api/v1/organisation/members",
            {"name": "کارمند", "phone": colleague_phone, "password": PASSWORD},
        ),
        201,
    )
    api = Api(stack.base_url)
    code = stack.latest_code(colleague_phone)
    ok(api.post("/api/v1/auth/verify-phone", {"phone": colleague_phone, "code": code}))
    colleague = login(stack, colleague_phone, api)
    outsider = register_customer(stack, "بیرونی")

    shared = open_ticket(owner, department)
    path = f"/api/v1/tickets/{shared['ticket_id']}"
    assert ids(ok(colleague.api.get("/api/v1/tickets"))) == [shared["ticket_id"]]
    ok(colleague.api.post(f"{path}/replies", {"body": "من هم پیگیری می‌کنم"}), 201)
    assert error_of(outsider.api.get(path), 404)["code"] in NOT_FOUND
    assert ok(outsider.api.get("/api/v1/tickets"))["total"] == 0
    # Rating stays with the one who opened it.
    ok(owner.api.post(f"{path}/close", {}))
    assert (
        error_of(colleague.api.post(f"{path}/rating", {"score": 2}), 403)["code"] == "not_permitted"
    )
    assert ok(owner.api.post(f"{path}/rating", {"score": 4}))["rating"] == 4
