"""The replay routes through HTTP (admin only): a replay of the tickets log started,
followed to live and refused when asked twice; bad requests are 400 with bilingual
field messages and create nothing. The stack's tickets relay does the replay."""

from __future__ import annotations

import uuid

import pytest
from kombu import Connection

from tests.integration.gateway.client import Person, error_of, ok, register_customer
from tests.integration.gateway.stack import Stack
from tests.support.processes import wait_until

REPLAYS = "/api/v1/admin/replays/tickets"


@pytest.fixture
def queue(stack: Stack):
    name = f"gwtest-replay-{uuid.uuid4().hex[:8]}"
    yield name
    # Bound to every tickets event once live: left behind, it would collect the rest
    # of the package's events.
    with Connection(stack.amqp_uri) as conn:
        conn.channel().queue_delete(name)


def test_an_admin_replays_the_tickets_log_into_a_new_queue(stack: Stack, admin: Person, queue: str):
    response = admin.api.post(REPLAYS, {"queue": queue, "binding_keys": ["Ticket*.x", "#"]})
    error = error_of(response, 400)  # a wildcard inside a word: Persian by default
    assert error["fields"]["binding_keys"] == [
        "کلید اتصال معتبر نیست (کلمه‌های جداشده با نقطه، یا * یا #)."
    ]

    created = admin.api.post(REPLAYS, {"queue": queue, "from_time": "2020-01-01T00:00:00Z"})
    job = ok(created, 201)
    assert created.headers["Location"] == f"{REPLAYS}/{job['job_id']}"
    assert (job["queue"], job["binding_keys"], job["state"]) == (queue, ["#"], "pending")
    assert job["from_time"].startswith("2020-01-01T00:00:00")

    def live() -> bool:
        return ok(admin.api.get(f"{REPLAYS}/{job['job_id']}"))["state"] == "live"

    assert wait_until(live, timeout=30, interval=0.2)
    listed = ok(admin.api.get(REPLAYS))["jobs"]
    assert [j["job_id"] for j in listed if j["queue"] == queue] == [job["job_id"]]
    again = error_of(admin.api.post(REPLAYS, {"queue": queue}), 409)
    assert again["code"] == "replay_already_active"
    finished = error_of(admin.api.post(f"{REPLAYS}/{job['job_id']}/cancel"), 409)
    assert finished["code"] == "replay_finished"


def test_replay_requests_refused(stack: Stack, admin: Person):
    customer = register_customer(stack)
    error_of(customer.api.post(REPLAYS, {"queue": "mine"}), 403)
    error_of(customer.api.get(REPLAYS), 403)
    bad = [
        ({"queue": "amq.mine"}, "queue"),
        ({"queue": "gwtest-bad", "from_position": 0}, "from_position"),
        ({"queue": "gwtest-bad", "from_time": "2026-01-01T00:00:00"}, "from_time"),
        ({"queue": "gwtest-bad", "from_position": 1, "from_time": "2026-01-01T00:00:00Z"},
         "from_time"),
        ({"queue": "gwtest-bad", "colour": "red"}, "colour"),
    ]  # fmt: skip
    for body, field in bad:
        error = error_of(admin.api.post(REPLAYS, body), 400)
        assert error["code"] == "validation_failed" and field in error["fields"], body
    assert error_of(admin.api.get("/api/v1/admin/replays/billing"), 400)["fields"]["service"]
    assert error_of(admin.api.get(f"{REPLAYS}/x1"), 400)["fields"]["job_id"]
    assert error_of(admin.api.get(f"{REPLAYS}/999999"), 404)["code"] == "replay_not_found"
    assert not [j for j in ok(admin.api.get(REPLAYS))["jobs"] if j["queue"] == "gwtest-bad"]


def test_identity_replays_take_the_admins_token(stack: Stack, admin: Person, queue: str):
    """identity checks the access token itself (the gateway passes it through)."""
    path = "/api/v1/admin/replays/identity"
    job = ok(admin.api.post(path, {"queue": queue, "binding_keys": ["*"]}), 201)
    assert job["requested_by"] == f"admin:{admin.id}"

    def live() -> bool:
        return ok(admin.api.get(f"{path}/{job['job_id']}"))["state"] == "live"

    assert wait_until(live, timeout=30, interval=0.2)
    with Connection(stack.amqp_uri) as conn:
        channel = conn.channel()
        # The identity log has at least the admin's own account events.
        assert channel.queue_declare(queue, passive=True).message_count > 0
