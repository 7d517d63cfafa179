"""The pure parts of replay: AMQP topic matching, the request rules, which events a job
takes and when it has caught up with the relay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pasokh_common  # noqa: F401
from pasokh_common.errors import ValidationFailed
from pasokh_common.eventlog.records import LogCursor, RecordedEvent
from pasokh_common.eventlog.replay_jobs import parse_request
from pasokh_common.eventlog.replayer import chunk_outcome, wanted
from pasokh_common.eventlog.topics import (
    binding_key_problem,
    matches_any,
    queue_name_problem,
    topic_matches,
)
from pasokh_common.replay_rpc import ReplayNotPermitted, require_admin

import pytest

T0 = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("binding", "routing", "expected"),
    [
        ("#", "TicketOpened", True),
        ("#", "", True),
        ("#", "a.b.c", True),
        ("*", "TicketOpened", True),
        ("*", "a.b", False),
        ("TicketOpened", "TicketOpened", True),
        ("TicketOpened", "TicketClosed", False),
        ("TicketOpened", "ticketopened", False),  # case matters, as in RabbitMQ
        ("a.*", "a.b", True),
        ("a.*", "a", False),
        ("a.*", "a.b.c", False),
        ("a.#", "a", True),  # '#' takes zero words
        ("a.#", "a.b.c", True),
        ("#.c", "a.b.c", True),
        ("#.c", "c", True),
        ("#.c", "a.b.d", False),
        ("a.#.c", "a.c", True),
        ("a.#.c", "a.x.y.c", True),
        ("a.#.c", "a.x.y.d", False),
        ("*.b.#", "a.b", True),
        ("*.b.#", "b", False),
        ("#.#", "a", True),
        ("a.*.#.d", "a.b.d", True),
        ("a.*.#.d", "a.d", False),
        ("Ticket*", "TicketOpened", False),  # a '*' inside a word is a literal
    ],
)
def test_topic_matching_follows_amqp(binding: str, routing: str, expected: bool) -> None:
    assert topic_matches(binding, routing) is expected


def test_a_queue_with_several_bindings_takes_an_event_if_any_matches() -> None:
    assert matches_any(["TicketOpened", "TicketClosed"], "TicketClosed")
    assert not matches_any(["TicketOpened", "TicketClosed"], "ReplyPosted")


@pytest.mark.parametrize("key", ["#", "*", "TicketOpened", "a.*.#", "sla.Breached"])
def test_good_binding_keys(key: str) -> None:
    assert binding_key_problem(key) is None


@pytest.mark.parametrize("key", ["", "Ticket*", "a..b", ".a", "a.", "x#", "a" * 256])
def test_bad_binding_keys(key: str) -> None:
    assert binding_key_problem(key)


@pytest.mark.parametrize("name", ["billing.tickets", "crm:identity-2", "a", "warehouse_sla"])
def test_queue_names_a_replay_may_fill(name: str) -> None:
    assert queue_name_problem(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        " billing",
        ".billing",
        "بیلینگ",
        "amq.gen-1",
        "rpc-tickets",
        "evt-tickets-TicketOpened--sla.on_opened",
        "billing.tickets.dead",
        "billing.tickets.retry.2",
        "x" * 201,
    ],
)
def test_queue_names_a_replay_may_not_fill(name: str) -> None:
    assert queue_name_problem(name)


def test_a_request_defaults_to_everything_from_the_beginning() -> None:
    assert parse_request({"queue": "billing.tickets"}) == {
        "queue": "billing.tickets",
        "from_position": None,
        "from_time": None,
        "binding_keys": ["#"],
    }


def test_a_request_from_a_time_takes_an_iso_time_with_a_zone() -> None:
    request = parse_request({"queue": "q1", "from_time": "2026-03-20T12:30:00+03:30"})
    assert request["from_time"] == datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "queue"),
        ({"queue": "rpc-tickets"}, "queue"),
        ({"queue": "q", "from_position": 0}, "from_position"),
        ({"queue": "q", "from_position": "12"}, "from_position"),
        ({"queue": "q", "from_time": "yesterday"}, "from_time"),
        ({"queue": "q", "from_time": "2026-03-20T09:00:00"}, "from_time"),  # no zone
        ({"queue": "q", "from_position": 3, "from_time": "2026-03-20T09:00:00Z"}, "from_time"),
        ({"queue": "q", "binding_keys": []}, "binding_keys"),
        ({"queue": "q", "binding_keys": ["Ticket*"]}, "binding_keys"),
        ({"queue": "q", "extra": 1}, "extra"),
    ],
)
def test_bad_requests_are_refused_with_bilingual_field_errors(payload: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_request(payload)
    messages = caught.value.fields[field]
    messages = messages if isinstance(messages, list) else [messages]
    for message in messages:
        assert set(message) == {"fa", "en"}
        assert message["fa"] != message["en"] or field == "extra"


def test_our_own_rules_are_explained_in_persian() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_request({"queue": "amq.x"})
    assert "صف" in caught.value.fields["queue"][0]["fa"]


def test_only_an_admin_may_replay() -> None:
    assert require_admin({"id": "u-1", "role": "admin", "departments": []}) == "u-1"
    with pytest.raises(ReplayNotPermitted):
        require_admin({"id": "u-2", "role": "supervisor"})
    with pytest.raises(ValidationFailed):
        require_admin({"role": "admin"})


def event(position: int, xid: int, type_: str = "TicketOpened", minutes: int = 0) -> RecordedEvent:
    return RecordedEvent(
        position=position,
        xid=xid,
        stream_id="ticket-1",
        version=position,
        event_id=uuid.uuid4(),
        type=type_,
        schema_version=1,
        data={},
        metadata={},
        recorded_at=T0 + timedelta(minutes=minutes),
    )


def job(**changes) -> dict:
    return {"from_position": None, "from_time": None, "binding_keys": ["#"], **changes}


def test_a_job_takes_events_from_its_start_that_its_bindings_route() -> None:
    assert wanted(job(), event(1, 10))
    assert not wanted(job(from_position=5), event(4, 10))
    assert wanted(job(from_position=5), event(5, 10))
    assert not wanted(job(from_time=T0 + timedelta(minutes=2)), event(9, 10, minutes=1))
    assert wanted(job(from_time=T0 + timedelta(minutes=2)), event(9, 10, minutes=2))
    assert not wanted(job(binding_keys=["TicketClosed"]), event(9, 10))
    assert wanted(job(binding_keys=["TicketClosed", "Ticket*", "*"]), event(9, 10))


def test_a_job_reaches_the_relay_when_a_read_ends_at_or_past_its_position() -> None:
    relay = LogCursor(20, 3)
    full = [event(1, 10), event(2, 11), event(3, 20)]
    assert chunk_outcome(full, 3, relay) == (full, False)  # a full read: maybe more before it
    assert chunk_outcome(full[:2], 3, relay) == (full[:2], True)  # a short read: the end
    past = [event(1, 10), event(5, 20), event(4, 21)]
    assert chunk_outcome(past, 3, relay) == (past[:1], True)  # stopped at the relay
    assert chunk_outcome([], 3, relay) == ([], True)


@pytest.mark.parametrize(
    "spec",
    [
        "services.tickets.service:TicketsService",
        "services.identity.service:IdentityService",
        "services.sla.service:SlaService",
        "services.notify.service:NotifyService",
    ],
)
def test_every_service_with_a_log_offers_the_replay_rpc(spec: str) -> None:
    import importlib

    from nameko.containers import ServiceContainer

    module, _, name = spec.partition(":")
    service = getattr(importlib.import_module(module), name)
    container = ServiceContainer(service, {"AMQP_URI": "memory://"})
    names = {entrypoint.method_name for entrypoint in container.entrypoints}
    assert {"start_replay", "replay_status", "cancel_replay"} <= names
    migrations = Path(__file__).resolve().parents[2] / "services" / service.name / "migrations"
    assert any(
        "-- pasokh:include replay_jobs" in path.read_text(encoding="utf-8")
        for path in migrations.glob("*.sql")
    )
