"""docs/examples/plain_amqp_subscriber.py, a subscriber with a plain AMQP client, reads
what the relay publishes: run as a process against the real broker."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pasokh_common  # noqa: F401
from pasokh_common.eventlog.publisher import ConfirmingPublisher
from pasokh_common.eventlog.records import RecordedEvent

import pytest

from services.tickets.domain.events import ReplyPosted, TicketClaimed, TicketOpened
from services.tickets.domain.values import Priority, Role

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "plain_amqp_subscriber.py"
T0 = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


def recorded(stream_id: str, version: int, position: int, event) -> RecordedEvent:
    """An event as the relay reads it from the log (see EventStore.read_committed)."""
    return RecordedEvent(
        position=position,
        xid=1000 + position,
        stream_id=stream_id,
        version=version,
        event_id=uuid.uuid4(),
        type=event.TYPE,
        schema_version=event.SCHEMA_VERSION,
        data=event.to_data(),
        metadata={"actor_id": "u-1", "actor_role": "agent", "correlation_id": "c-1"},
        recorded_at=T0 + timedelta(seconds=position),
    )


def ticket_story(ticket_id: str, first_position: int) -> list[RecordedEvent]:
    events = [
        TicketOpened(
            ticket_id=ticket_id,
            number="T-1",
            customer_id="c-1",
            organisation_id=None,
            department="support",
            subject="چاپگر کار نمی‌کند",
            priority=Priority.HIGH,
            message_id="m-1",
            body="سلام",
            needs_follow_up=False,
            opened_at=T0,
        ),
        TicketClaimed(ticket_id=ticket_id, agent_id="a-1", department="support", claimed_at=T0),
        ReplyPosted(
            ticket_id=ticket_id,
            message_id="m-2",
            author_id="a-1",
            author_role=Role.AGENT,
            body="در حال بررسی",
            posted_at=T0,
        ),
    ]
    return [
        recorded(f"ticket-{ticket_id}", version, first_position + version, event)
        for version, event in enumerate(events, start=1)
    ]


class Subscriber:
    """The example as a child process; ready once its queue is bound (it says so)."""

    def __init__(self, amqp_uri: str, queue: str, max_events: int) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(EXAMPLE),
                "--uri",
                amqp_uri,
                "--queue",
                queue,
                "--max",
                str(max_events),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        ready = self.process.stderr.readline()
        assert ready.startswith("listening on"), ready + self.process.stderr.read()

    def lines(self) -> list[str]:
        out, err = self.process.communicate(timeout=60)  # a safety net, not an assertion
        assert self.process.returncode == 0, err
        return out.splitlines()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def start_subscriber(amqp_uri: str) -> Iterator:
    started: list[Subscriber] = []

    def start(queue: str, max_events: int) -> Subscriber:
        started.append(Subscriber(amqp_uri, queue, max_events))
        return started[-1]

    yield start
    for subscriber in started:
        subscriber.stop()


def publish(amqp_uri: str, events: list[RecordedEvent]) -> None:
    """Exactly as the relay publishes: same publisher, exchange, properties, headers."""
    with ConfirmingPublisher(amqp_uri, exchange="tickets.events", source="tickets") as pub:
        assert pub.publish_batch(events) == len(events)
        assert pub.returned == 0  # the example's queue was bound: nothing unroutable


def assert_printed(line: str, event: RecordedEvent) -> None:
    event_id, event_type, stream_id, version, position, schema, body = line.split(" ", 6)
    assert event_id == str(event.event_id)
    assert event_type == event.type
    assert stream_id == event.stream_id
    assert version == f"v{event.version}"
    assert position == f"pos={event.position}"
    assert schema == f"schema=v{event.schema_version}"
    assert f'"ticket_id": "{event.data["ticket_id"]}"' in body


def test_the_plain_subscriber_prints_each_event_with_its_id_type_and_stream_version(
    amqp_uri: str, start_subscriber
):
    queue = f"example.{uuid.uuid4().hex[:8]}"
    subscriber = start_subscriber(queue, max_events=3)
    events = ticket_story("t1", first_position=0)
    publish(amqp_uri, events)
    lines = subscriber.lines()
    assert len(lines) == 3
    for line, event in zip(lines, events, strict=True):
        assert_printed(line, event)
    assert "چاپگر کار نمی‌کند" in lines[0]  # UTF-8 body, read as the JSON it is


def test_its_durable_queue_keeps_events_while_it_is_away_and_acked_ones_do_not_return(
    amqp_uri: str, start_subscriber
):
    queue = f"example.{uuid.uuid4().hex[:8]}"
    first, second = ticket_story("t2", first_position=10), ticket_story("t3", first_position=20)
    subscriber = start_subscriber(queue, max_events=3)
    publish(amqp_uri, first)
    assert len(subscriber.lines()) == 3  # handled, acknowledged, then it stopped

    publish(amqp_uri, second)  # nobody consuming: the durable queue holds them
    again = start_subscriber(queue, max_events=3).lines()
    for line, event in zip(again, second, strict=True):
        assert_printed(line, event)
