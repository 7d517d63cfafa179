"""The webhooks service as real processes (two replicas), on real RabbitMQ and
PostgreSQL, delivering to a local HTTPS server over verified TLS.

Each test registers its own endpoint (its own receiver path) and publishes events
of its own; waits are for outcomes, never for time.
"""

from __future__ import annotations

import time
import uuid

from pasokh_common.errors import ServiceError

import pytest

from services.webhooks.domain.signing import verify
from tests.integration.webhooks.conftest import ADMIN, WebhooksStack, routed
from tests.support.processes import wait_until

CONSUMER = "webhooks.on_tickets_event"


def new_path() -> str:
    return f"/hooks/{uuid.uuid4().hex[:10]}"


def ticket_event() -> dict:
    return {"ticket_id": str(uuid.uuid4()), "subject": "قطعی اینترنت", "priority": "high"}


def deliveries(stack: WebhooksStack, endpoint_id: str, **query) -> list[dict]:
    with stack.rpc() as webhooks:
        return webhooks.list_deliveries(ADMIN, endpoint_id, query)


def settled(stack: WebhooksStack, endpoint_id: str, count: int = 1) -> list[dict]:
    """The endpoint's deliveries once ``count`` of them have finished."""
    found: list[dict] = []

    def done() -> bool:
        found[:] = deliveries(stack, endpoint_id)
        finished = [d for d in found if d["state"] in ("delivered", "failed")]
        return len(finished) >= count

    assert wait_until(done, timeout=30), found
    return found


def test_a_matching_event_is_delivered_signed_as_a_cloud_event(stack: WebhooksStack):
    path = new_path()
    endpoint = stack.register(
        path, ["TicketOpened"], description="CRM", headers={"Authorization": "Bearer crm-7"}
    )
    assert endpoint["header_names"] == ["Authorization"]  # the value is never shown
    secret = endpoint["secret"]
    assert secret.startswith("whsec_") and endpoint["enabled"]
    data = ticket_event()
    (event_id,) = [stack.publish("tickets", "TicketOpened", data)]

    (delivery,) = settled(stack, endpoint["endpoint_id"])
    assert delivery["state"] == "delivered" and delivery["event_id"] == event_id
    (request,) = stack.receiver.received(path)
    headers = request.headers
    assert headers["content-type"].startswith("application/cloudevents+json")
    assert headers["x-pasokh-event-id"] == event_id
    assert headers["x-pasokh-event-type"] == "TicketOpened"
    assert headers["x-pasokh-delivery-id"] == delivery["delivery_id"]
    assert headers["authorization"] == "Bearer crm-7"
    assert verify(
        secret, headers["x-pasokh-signature"], headers["x-pasokh-timestamp"], request.body,
        now=time.time(),
    )  # fmt: skip
    assert not verify(
        "whsec_wrong", headers["x-pasokh-signature"], headers["x-pasokh-timestamp"],
        request.body, now=time.time(),
    )  # fmt: skip
    event = request.json()
    assert event["specversion"] == "1.0" and event["id"] == event_id
    assert event["type"] == "TicketOpened" and event["source"] == "pasokh/tickets"
    assert event["data"] == data
    (attempt,) = delivery["attempt_log"]
    assert attempt["status_code"] == 200 and attempt["outcome"] == "delivered"
    assert attempt["response_excerpt"] == '{"ok":true}'
    # The secret is shown once: never in a later view.
    with stack.rpc() as webhooks:
        assert "secret" not in webhooks.get_endpoint(ADMIN, endpoint["endpoint_id"])


def consumed(stack: WebhooksStack) -> float:
    return sum(
        stack.metric(name)
        for name in ("pasokh_consumer_processed_total", "pasokh_consumer_ignored_total")
    )


def test_an_event_routed_but_not_wanted_is_acknowledged_without_a_transaction(
    stack: WebhooksStack,
):
    """A glob binds its source with '#' (test_bindings.py): RabbitMQ then delivers
    events the filter does not want, and these must not cost a database round trip."""
    stack.register(new_path(), ["notify.Wanted*"])
    ignored_before = stack.metric("pasokh_consumer_ignored_total")
    event_id = stack.publish("notify", "NobodyWantsThis", {"n": 1})
    assert wait_until(lambda: stack.metric("pasokh_consumer_ignored_total") > ignored_before)
    assert (
        stack.sql("SELECT 1 FROM webhooks.processed_events WHERE event_id = %s", (event_id,)) == []
    )
    assert stack.sql("SELECT 1 FROM webhooks.deliveries WHERE event_id = %s", (event_id,)) == []


def test_the_filter_decides_which_events_go(stack: WebhooksStack):
    path = new_path()
    endpoint = stack.register(path, ["sla.Sla*", "identity.AgentAssigned*", "TicketMerged"])
    consumed_before = consumed(stack)
    # No filter of this module's tests binds it: RabbitMQ does not deliver it at all.
    assert not routed(stack.amqp_uri, "tickets", "SlaLookalike")
    unwanted = [  # routed (their sources are bound with '#' for the globs), not wanted
        stack.publish("identity", "AgentRemovedFromDepartment", {"user_id": "u1"}),
        stack.publish("sla", "CalendarSaved", {"calendar_id": "default"}),
    ]
    wanted = [
        stack.publish("sla", "SlaWarning", ticket_event()),
        stack.publish("identity", "AgentAssignedToDepartment", {"user_id": "u1"}),
        stack.publish("tickets", "TicketMerged", ticket_event()),
    ]
    found = settled(stack, endpoint["endpoint_id"], count=3)

    # Every one of the five routed was taken off its queue: processed (some endpoint of
    # this module's tests wants it) or ignored without a transaction (none does).
    assert wait_until(lambda: consumed(stack) >= consumed_before + 5)
    found = deliveries(stack, endpoint["endpoint_id"])
    assert sorted(d["event_id"] for d in found) == sorted(wanted)
    assert not set(unwanted) & {d["event_id"] for d in found}
    types = sorted(r.headers["x-pasokh-event-type"] for r in stack.receiver.received(path))
    assert types == ["AgentAssignedToDepartment", "SlaWarning", "TicketMerged"]


def test_server_errors_are_retried_until_delivered_once(stack: WebhooksStack):
    path = new_path()
    endpoint = stack.register(path, ["RetriedEvent"])
    stack.receiver.fail_next(path, 2, status=500)
    event_id = stack.publish("tickets", "RetriedEvent", ticket_event())

    (delivery,) = settled(stack, endpoint["endpoint_id"])
    assert delivery["state"] == "delivered" and delivery["attempts"] == 3
    log = [(a["number"], a["status_code"], a["outcome"]) for a in delivery["attempt_log"]]
    assert log == [(1, 500, "retry"), (2, 500, "retry"), (3, 200, "delivered")]
    requests = stack.receiver.received(path)
    assert len(requests) == 3
    assert {r.headers["x-pasokh-event-id"] for r in requests} == {event_id}
    assert {r.body for r in requests} == {requests[0].body}  # the same event each time
    assert stack.metric("pasokh_webhooks_attempts_total", outcome="retried") >= 1


def test_429_waits_for_retry_after(stack: WebhooksStack):
    path = new_path()
    endpoint = stack.register(path, ["ThrottledEvent"])
    stack.receiver.fail_next(path, 1, status=429, headers={"Retry-After": "1"})
    stack.publish("tickets", "ThrottledEvent", ticket_event())
    (delivery,) = settled(stack, endpoint["endpoint_id"])
    assert delivery["state"] == "delivered"
    first, second = delivery["attempt_log"]
    assert first["status_code"] == 429 and second["status_code"] == 200
    # Retry-After is a floor: the second attempt waited for it (the backoff alone
    # would have been at most 0.1 s).
    from datetime import datetime

    gap = datetime.fromisoformat(second["started_at"]) - datetime.fromisoformat(first["started_at"])
    assert gap.total_seconds() >= 1


def test_a_client_error_is_not_retried(stack: WebhooksStack):
    path = new_path()
    endpoint = stack.register(path, ["RefusedEvent"])
    stack.receiver.always(path, 410, b"gone")
    stack.publish("tickets", "RefusedEvent", ticket_event())
    (delivery,) = settled(stack, endpoint["endpoint_id"])
    assert delivery["state"] == "failed" and delivery["attempts"] == 1
    assert delivery["last_status"] == 410 and delivery["last_error"] == "HTTP 410"
    (attempt,) = delivery["attempt_log"]
    assert attempt["outcome"] == "failed" and attempt["response_excerpt"] == "gone"
    assert len(stack.receiver.received(path)) == 1
    with stack.rpc() as webhooks:
        shown = webhooks.get_endpoint(ADMIN, endpoint["endpoint_id"])
    assert shown["enabled"] and shown["consecutive_failures"] == 1


def test_an_endpoint_that_keeps_failing_is_disabled_with_its_reason(stack: WebhooksStack):
    path = new_path()
    endpoint = stack.register(path, ["DoomedEvent"])
    endpoint_id = endpoint["endpoint_id"]
    stack.receiver.always(path, 503)
    stack.publish("tickets", "DoomedEvent", ticket_event())
    stack.publish("tickets", "DoomedEvent", ticket_event())

    def disabled() -> bool:
        with stack.rpc() as webhooks:
            return not webhooks.get_endpoint(ADMIN, endpoint_id)["enabled"]

    assert wait_until(disabled, timeout=30)
    with stack.rpc() as webhooks:
        shown = webhooks.get_endpoint(ADMIN, endpoint_id)
    assert shown["disabled_by"] == "system"
    assert shown["disabled_reason"] == "2 deliveries in a row failed; the last: HTTP 503"
    assert shown["log"][0]["action"] == "auto_disabled"
    # Each delivery used its whole budget (3 attempts) before counting as failed.
    assert [d["attempts"] for d in deliveries(stack, endpoint_id)] == [3, 3]
    assert stack.metric("pasokh_webhooks_endpoints_disabled_total", by="auto") >= 1

    # Disabled: a new event makes no delivery.
    stack.publish("tickets", "DoomedEvent", ticket_event())
    # ...while a ping still goes (to test a fix), and enabling resets the count.
    stack.receiver.always(path, 200, b"fixed")
    with stack.rpc() as webhooks:
        ping = webhooks.ping_endpoint(ADMIN, endpoint_id)
        assert ping["event_type"] == "WebhookPing"
    assert wait_until(
        lambda: any(
            r.headers["x-pasokh-event-type"] == "WebhookPing" for r in stack.receiver.received(path)
        )
    )
    assert len(deliveries(stack, endpoint_id)) == 3  # two failed + the ping, no DoomedEvent
    with stack.rpc() as webhooks:
        enabled = webhooks.enable_endpoint(ADMIN, endpoint_id)
    assert enabled["enabled"] and enabled["consecutive_failures"] == 0
    assert enabled["disabled_reason"] is None


def test_the_same_message_twice_makes_one_delivery(stack: WebhooksStack):
    path = new_path()
    endpoint = stack.register(path, ["RepeatedEvent"])
    event_id = str(uuid.uuid4())
    data = ticket_event()
    skipped = stack.metric("pasokh_consumer_duplicates_total", consumer=CONSUMER)
    stack.publish("tickets", "RepeatedEvent", data, event_id=event_id)
    stack.publish("tickets", "RepeatedEvent", data, event_id=event_id)
    # The second copy was consumed, and skipped as already processed.
    assert wait_until(
        lambda: stack.metric("pasokh_consumer_duplicates_total", consumer=CONSUMER) > skipped
    )
    # A later event, published after both copies, marks when the copies were handled
    # (one queue per exchange: in order).
    marker = stack.publish("tickets", "RepeatedEvent", ticket_event())
    found = settled(stack, endpoint["endpoint_id"], count=2)
    assert sorted(d["event_id"] for d in found) == sorted([event_id, marker])
    ids = [r.headers["x-pasokh-event-id"] for r in stack.receiver.received(path)]
    assert sorted(ids) == sorted([event_id, marker])


def test_replicas_never_both_send(stack: WebhooksStack):
    path = new_path()
    endpoint = stack.register(path, ["BurstEvent"])
    ids = [stack.publish("tickets", "BurstEvent", {"n": n}) for n in range(30)]
    settled(stack, endpoint["endpoint_id"], count=30)
    received = [r.headers["x-pasokh-event-id"] for r in stack.receiver.received(path)]
    assert sorted(received) == sorted(ids)  # each once


def test_redeliver_sends_the_same_event_again(stack: WebhooksStack):
    path = new_path()
    endpoint = stack.register(path, ["AgainEvent"])
    event_id = stack.publish("tickets", "AgainEvent", ticket_event())
    (delivery,) = settled(stack, endpoint["endpoint_id"])
    with stack.rpc() as webhooks:
        again = webhooks.redeliver(ADMIN, delivery["delivery_id"])
    assert again["state"] == "pending" and again["delivery_id"] == delivery["delivery_id"]
    assert wait_until(lambda: len(stack.receiver.received(path)) == 2)
    first, second = stack.receiver.received(path)
    assert first.body == second.body
    assert second.headers["x-pasokh-event-id"] == event_id

    def two_attempts() -> bool:
        (shown,) = deliveries(stack, endpoint["endpoint_id"])
        return shown["state"] == "delivered" and len(shown["attempt_log"]) == 2

    assert wait_until(two_attempts)


def test_rotated_secret_signs_with_both_during_the_grace_period(stack: WebhooksStack):
    path = new_path()
    endpoint = stack.register(path, ["RotatedEvent"])
    with stack.rpc() as webhooks:
        rotated = webhooks.rotate_secret(ADMIN, endpoint["endpoint_id"])
    assert rotated["secret"] != endpoint["secret"]
    assert rotated["previous_secret_valid_until"] is not None
    stack.publish("tickets", "RotatedEvent", ticket_event())
    settled(stack, endpoint["endpoint_id"])
    (request,) = stack.receiver.received(path)
    for secret in (endpoint["secret"], rotated["secret"]):
        assert verify(
            secret, request.headers["x-pasokh-signature"],
            request.headers["x-pasokh-timestamp"], request.body, now=time.time(),
        )  # fmt: skip


def test_admin_rules(stack: WebhooksStack):
    with stack.rpc() as webhooks:
        with pytest.raises(ServiceError) as refused:
            webhooks.register_endpoint(
                ADMIN, {"url": "http://hooks.example.com/x", "event_filter": ["*"]}
            )
        assert refused.value.code == "validation_failed"
        (message,) = refused.value.payload["fields"]["url"]
        assert "https" in message["en"] and message["fa"]
        with pytest.raises(ServiceError) as bad_filter:
            webhooks.register_endpoint(
                ADMIN, {"url": "https://hooks.example.com/x", "event_filter": ["billing.*"]}
            )
        assert "event_filter" in bad_filter.value.payload["fields"]
        with pytest.raises(ServiceError) as forged:
            webhooks.register_endpoint(
                ADMIN,
                {
                    "url": "https://hooks.example.com/x",
                    "event_filter": ["*"],
                    "headers": {"X-Pasokh-Signature": "v1=0"},
                },
            )
        assert "headers" in forged.value.payload["fields"]
        with pytest.raises(ServiceError) as agent:
            webhooks.list_endpoints({"id": "a-1", "role": "agent"})
        assert agent.value.code == "not_permitted"
        with pytest.raises(ServiceError) as missing:
            webhooks.get_endpoint(ADMIN, str(uuid.uuid4()))
        assert missing.value.code == "webhook_not_found"
        with pytest.raises(ServiceError):
            webhooks.get_endpoint(ADMIN, "not-a-uuid")
    assert not stack.sql(
        "SELECT 1 FROM webhooks.endpoints WHERE url LIKE 'http://hooks.example.com%%'"
    )

    path = new_path()
    endpoint = stack.register(path, ["AdminEvent"])
    endpoint_id = endpoint["endpoint_id"]
    with stack.rpc() as webhooks:
        updated = webhooks.update_endpoint(
            ADMIN,
            endpoint_id,
            {"event_filter": ["Other*"], "description": "دفتر مالی", "headers": {"X-Team": "7"}},
        )
        assert updated["event_filter"] == ["Other*"] and updated["description"] == "دفتر مالی"
        assert updated["header_names"] == ["X-Team"]
        off = webhooks.disable_endpoint(ADMIN, endpoint_id, {"reason": "maintenance"})
        assert not off["enabled"] and off["disabled_reason"] == "maintenance"
        assert endpoint_id in [e["endpoint_id"] for e in webhooks.list_endpoints(ADMIN)]
        actions = [e["action"] for e in webhooks.get_endpoint(ADMIN, endpoint_id)["log"]]
        assert actions == ["disabled", "updated", "registered"]
        assert webhooks.delete_endpoint(ADMIN, endpoint_id)["deleted"]
        assert endpoint_id not in [e["endpoint_id"] for e in webhooks.list_endpoints(ADMIN)]


# Last in the module: it kills both replicas and starts a new one.
def test_a_sender_that_dies_mid_request_means_a_resend_not_a_loss(stack: WebhooksStack):
    path = new_path()
    endpoint = stack.register(path, ["InterruptedEvent"])
    stack.receiver.hold_next(path, 20)
    event_id = stack.publish("tickets", "InterruptedEvent", ticket_event())
    assert wait_until(lambda: stack.receiver.received(path))
    stack.kill_all()
    stack.start_replica("webhooks-3")

    (delivery,) = settled(stack, endpoint["endpoint_id"])
    assert delivery["state"] == "delivered"
    # Claimed twice (the lease of the dead sender ran out); the first answer was
    # never recorded, so one attempt is logged.
    assert delivery["attempts"] == 2 and len(delivery["attempt_log"]) == 1
    requests = stack.receiver.received(path)
    assert [r.headers["x-pasokh-event-id"] for r in requests] == [event_id, event_id]
    assert requests[0].body == requests[1].body
