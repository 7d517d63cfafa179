"""Identity's log is published by the shared relay unchanged, only pointed at the
``identity`` schema: proof that wiring it needs configuration, not code."""

from __future__ import annotations

import contextlib
import json
import uuid

from pasokh_common.context import CallContext
from pasokh_common.eventlog.relay import Relay

import kombu
import pytest
from nameko.events import get_event_exchange

from tests.integration.identity.support import PASSWORD, new_phone
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration


def test_the_shared_relay_publishes_identity_events(identity_app, amqp_uri):
    t = identity_app
    with kombu.Connection(amqp_uri) as connection:
        channel = connection.channel()
        exchange = get_event_exchange("identity", {})(channel)
        exchange.declare()
        queue = kombu.Queue(f"identity-test-{uuid.uuid4().hex[:8]}", exchange, routing_key="#")
        queue = queue(channel)
        queue.declare()
        received: list[kombu.Message] = []
        consumer = kombu.Consumer(channel, [queue], callbacks=[lambda b, m: received.append(m)])
        consumer.consume()

        phone = new_phone()
        registered = t.app.accounts.register(
            {"kind": "person", "name": "سارا", "phone": phone, "password": PASSWORD},
            "x",
            CallContext(),
        )
        t.app.accounts.verify_phone(
            {"phone": phone, "code": t.sender.last_code(phone)}, CallContext()
        )
        relay = Relay(
            t.db["url"], amqp_uri, schema="identity", source="identity", relay_name="identity"
        )
        assert relay.catch_up(minimum=2, timeout=60) == 2

        def drained() -> bool:
            with contextlib.suppress(TimeoutError):
                connection.drain_events(timeout=0.2)
            return len(received) >= 2

        assert wait_until(drained, timeout=30)
        queue.delete()
    assert [m.delivery_info["routing_key"] for m in received] == ["UserRegistered", "UserVerified"]
    verified = json.loads(received[1].body)
    assert verified["user_id"] == registered["user"]["id"]
    assert received[1].headers["cloudEvents_source"] == "pasokh/identity"
    assert all(phone not in str(m.body) for m in received)
