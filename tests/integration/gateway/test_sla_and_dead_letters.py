"""The SLA and dead-letter routes through HTTP: deadlines for whoever may see the
ticket, a calendar's month, calendar and policy administration with its role rules,
and listing and replaying a dead letter.

The shared stack has no sla; this module starts one sla process of its own on the
stack's vhost and a fresh sla database, with its topology declared before any of
this module's tickets is opened (the deploy-time order).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common.consumer import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    FAILED_AT_HEADER,
    ORIGINAL_QUEUE_HEADER,
    declare_topology,
)

import amqp
import pytest
from kombu import Connection

from services.sla.service import SlaService
from tests.integration.gateway.client import (
    Api,
    Person,
    error_of,
    new_agent,
    new_department,
    ok,
    open_ticket,
    register_customer,
)
from tests.integration.gateway.stack import Stack
from tests.support import infra
from tests.support.processes import spawn, stop, wait_for_rpc_service, wait_until


@pytest.fixture(scope="module")
def sla_process(
    stack: Stack, pg_admin_url: str, run_id: str, app_role: str, tmp_path_factory
) -> Iterator[None]:
    queues = declare_topology(stack.amqp_uri, SlaService)
    logs = tmp_path_factory.mktemp("gateway-sla")
    tag = f"{run_id}_gwsla{uuid.uuid4().hex[:6]}_tpl"
    with (
        infra.migrated_template(pg_admin_url, tag, "sla", app_role) as template,
        infra.fresh_database(pg_admin_url, template, app_role) as db,
    ):
        env = {
            "AMQP_URI": stack.amqp_uri,
            "SLA_DATABASE_URL": db["url"],
            "SLA_TIMER_INTERVAL_SECONDS": "1",
        }
        process = spawn(
            ["-m", "pasokh_common.runner", "sla", "services.sla.service:SlaService"],
            env,
            logs / "sla.log",
        )
        try:
            wait_for_rpc_service(stack.amqp_uri, "sla", process)
            yield
        finally:
            stop(process)
            infra.delete_queues(stack.amqp_uri, queues)


@pytest.fixture(scope="module")
def sla_department(admin: Person, sla_process: None) -> str:
    return new_department(admin, "sla")


def _deadlines_when_known(customer: Person, ticket_id: str) -> dict:
    """sla learns of the ticket from its event a moment after it is opened."""
    path = f"/api/v1/tickets/{ticket_id}/deadlines"
    seen: list = []

    def known() -> bool:
        response = customer.api.get(path)
        seen.append(response)
        return response.status_code == 200

    assert wait_until(known, timeout=30, interval=0.2), seen[-1].text[:500]
    return seen[-1].json()


def test_the_customer_sees_the_deadlines_and_another_customer_gets_404(
    stack: Stack, admin: Person, sla_department: str
):
    customer = register_customer(stack)
    ticket = open_ticket(customer, sla_department)
    deadlines = _deadlines_when_known(customer, ticket["ticket_id"])
    assert deadlines["ticket_id"] == ticket["ticket_id"]
    assert deadlines["department"] == sla_department
    first = next(t for t in deadlines["targets"] if t["target"] == "first_response")
    assert first["deadline"]["utc"] and first["status"] == "running"
    shown = first["deadline_tehran"]
    assert shown["jalali_date"][:2] == "14" and len(shown["tehran_time"]) == 5
    assert shown["weekday_fa"]

    stranger = register_customer(stack)
    error = error_of(stranger.api.get(f"/api/v1/tickets/{ticket['ticket_id']}/deadlines"), 404)
    missing = error_of(customer.api.get(f"/api/v1/tickets/{uuid.uuid4()}/deadlines"), 404)
    assert error["code"] == missing["code"]  # nothing to tell apart

    path = f"/api/v1/tickets/{ticket['ticket_id']}/deadlines"
    agent = new_agent(stack, admin, [sla_department])
    assert ok(agent.api.get(path))["ticket_id"] == ticket["ticket_id"]
    outsider = new_agent(stack, admin, [new_department(admin, "other")])
    error_of(outsider.api.get(path), 404)
    error_of(Api(stack.base_url).get(f"/api/v1/tickets/{ticket['ticket_id']}/deadlines"), 401)


def test_a_month_of_the_default_calendar(stack: Stack, sla_process: None):
    customer = register_customer(stack)
    month = ok(customer.api.get("/api/v1/calendars/default/months/1405/1"))
    assert (month["jalali_year"], month["jalali_month"]) == (1405, 1)
    assert len(month["days"]) == 31
    assert not month["days"][0]["is_working_day"]  # Nowruz
    error_of(customer.api.get("/api/v1/calendars/no-such-calendar/months/1405/1"), 404)
    refused = error_of(customer.api.get("/api/v1/calendars/default/months/1405/x"), 400)
    assert set(refused["fields"]) == {"jalali_month"}
    error_of(customer.api.get("/api/v1/calendars/default/months/1300/1"), 400)
    error_of(Api(stack.base_url).get("/api/v1/calendars/default/months/1405/1"), 401)


def test_a_supervisor_sets_a_policy_for_their_department_and_a_customer_cannot(
    stack: Stack, admin: Person, sla_department: str
):
    supervisor = new_agent(stack, admin, [sla_department], role="supervisor")
    policy = {
        "priority": "high",
        "department": sla_department,
        "first_response_seconds": 4 * 3600,
        "follow_up_first_response_seconds": 8 * 3600,
        "next_reply_seconds": 4 * 3600,
        "resolution_seconds": 40 * 3600,
    }
    saved = ok(supervisor.api.put("/api/v1/sla/policies", policy))
    assert saved["department"] == sla_department and "recomputed_tickets" in saved
    listed = ok(supervisor.api.get("/api/v1/sla/policies"))
    assert any(
        p["priority"] == "high" and p["department"] == sla_department
        and p["first_response_seconds"] == 4 * 3600
        for p in listed
    )  # fmt: skip

    customer = register_customer(stack)
    assert error_of(customer.api.put("/api/v1/sla/policies", policy), 403)["code"] == (
        "not_permitted"
    )
    # The policy of every department is the admins' (sla's own check).
    everyone = {**policy, "department": None}
    error_of(supervisor.api.put("/api/v1/sla/policies", everyone), 403)
    error_of(supervisor.api.put("/api/v1/sla/policies", {**policy, "bogus": 1}), 400)

    ok(supervisor.api.delete(f"/api/v1/sla/policies/high/{sla_department}"))
    error_of(supervisor.api.delete(f"/api/v1/sla/policies/high/{sla_department}"), 404)


def test_an_admin_manages_calendars_holidays_and_bindings(
    stack: Stack, admin: Person, sla_department: str
):
    calendar_id = f"cal-{uuid.uuid4().hex[:8]}"
    body = {
        "name": "تقویم آزمون",
        "weekly_schedule": {"saturday": ["09:00-17:00"], "sunday": ["09:00-17:00"]},
    }
    path = f"/api/v1/calendars/{calendar_id}"
    assert ok(admin.api.put(path, body), 201)["calendar_id"] == calendar_id
    ok(admin.api.put(path, {**body, "horizon_days": 500}), 200)
    holiday = ok(admin.api.put(f"{path}/holidays/1405-05-07", {"name_fa": "تعطیلی اعلامی"}))
    assert holiday["date"] == "2026-07-29" and holiday["closed"] is True
    ok(
        admin.api.put(
            f"/api/v1/departments/{sla_department}/calendar", {"calendar_id": calendar_id}
        )
    )
    shown = ok(admin.api.get(path))
    assert sla_department in shown["departments"]
    assert [h["date"] for h in shown["holidays"]] == ["2026-07-29"]
    assert calendar_id in [c["calendar_id"] for c in ok(admin.api.get("/api/v1/calendars"))]
    cleared = ok(admin.api.delete(f"{path}/holidays/1405-05-07"))
    assert cleared["existed"] is True
    ok(admin.api.put(f"/api/v1/departments/{sla_department}/calendar", {"calendar_id": "default"}))

    supervisor = new_agent(stack, admin, [sla_department], role="supervisor")
    assert error_of(supervisor.api.put(path, body), 403)["code"] == "not_permitted"
    assert ok(supervisor.api.get(path))["calendar_id"] == calendar_id
    error_of(admin.api.put(f"{path}/holidays/not-a-date", {}), 400)


# -- dead letters -----------------------------------------------------------------------


@pytest.fixture
def parked(stack: Stack) -> Iterator[tuple[str, str]]:
    """A queue (nobody consumes it) with one message parked in its ``.dead``, as the
    consumer helper parks one."""
    queue = f"gwtest-{uuid.uuid4().hex[:8]}"
    message_id = str(uuid.uuid4())
    with Connection(stack.amqp_uri) as conn:
        channel = conn.channel()
        channel.queue_declare(queue, durable=True, auto_delete=False)
        channel.queue_declare(f"{queue}.dead", durable=True, auto_delete=False)
        headers = {
            ERROR_HEADER: "ValueError: not JSON",
            FAILED_AT_HEADER: "2026-11-25T09:00:00+00:00",
            ATTEMPTS_HEADER: 5,
            ORIGINAL_QUEUE_HEADER: queue,
        }
        channel.basic_publish(
            amqp.Message(
                b"{not json",
                message_id=message_id,
                content_type="application/json",
                delivery_mode=2,
                application_headers=headers,
            ),
            exchange="",
            routing_key=f"{queue}.dead",
        )
    try:
        yield queue, message_id
    finally:
        with Connection(stack.amqp_uri) as conn:
            channel = conn.channel()
            channel.queue_delete(queue)
            channel.queue_delete(f"{queue}.dead")


def _ready_messages(stack: Stack, queue: str) -> int:
    with Connection(stack.amqp_uri) as conn:
        return conn.channel().queue_declare(queue, passive=True)[1]


def test_an_admin_lists_and_replays_a_dead_letter(
    stack: Stack, admin: Person, parked: tuple[str, str]
):
    queue, message_id = parked
    listing = f"/api/v1/admin/dead-letters?queue={queue}"

    def parked_letters() -> list:
        return ok(admin.api.get(listing))

    assert wait_until(lambda: len(parked_letters()) == 1, timeout=10, interval=0.1)
    [letter] = parked_letters()  # listed twice: looking loses nothing
    assert letter["message_id"] == message_id and letter["original_queue"] == queue
    assert letter["error"] == "ValueError: not JSON" and letter["attempts"] == 5
    assert letter["body"] == "{not json"
    # The .dead name works as well.
    assert len(ok(admin.api.get(f"{listing}.dead"))) == 1

    customer = register_customer(stack)
    error_of(customer.api.get(listing), 403)
    error_of(customer.api.post("/api/v1/admin/dead-letters/replay", {"queue": queue}), 403)
    error_of(admin.api.get("/api/v1/admin/dead-letters"), 400)  # queue is required

    other = ok(
        admin.api.post(
            "/api/v1/admin/dead-letters/replay", {"queue": queue, "message_id": "not-this-one"}
        )
    )
    assert other == {"queue": queue, "replayed": 0}
    moved = ok(
        admin.api.post(
            "/api/v1/admin/dead-letters/replay", {"queue": queue, "message_id": message_id}
        )
    )
    assert moved == {"queue": queue, "replayed": 1}
    assert parked_letters() == []
    assert wait_until(lambda: _ready_messages(stack, queue) == 1, timeout=10, interval=0.1)


def test_dead_letters_of_a_queue_that_does_not_exist(stack: Stack, admin: Person):
    missing = f"gwtest-missing-{uuid.uuid4().hex[:8]}"
    error = error_of(admin.api.get(f"/api/v1/admin/dead-letters?queue={missing}"), 404)
    assert error["code"] == "dead_letter_queue_not_found"
    error_of(admin.api.post("/api/v1/admin/dead-letters/replay", {"queue": missing}), 404)
