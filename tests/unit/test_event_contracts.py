"""The published event contract (docs/schemas, docs/asyncapi.yaml, docs/events.md) must
be what the code publishes, and a published version must never change shape."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any, ClassVar

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from services.tickets.domain.events import REGISTRY, DomainEvent, TicketClaimed
from tests.unit.tickets.test_events import ClaimedV2, registry_with_v2
from tools.contracts import (
    ASYNCAPI_PATH,
    LOCK_PATH,
    SCHEMA_DIR,
    SERVICES,
    all_contracts,
    contract_for,
    expected_files,
    lock_violations,
    read_lock,
    sample_instance,
    updated_lock,
)

CONTRACTS = all_contracts()
IDS = [c.key for c in CONTRACTS]


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FormatChecker())


def committed_schema(service: str, event_type: str, version: int) -> dict[str, Any]:
    path = SCHEMA_DIR / service / f"{event_type}.v{version}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def data_from_schema(schema: dict[str, Any]) -> Any:
    """A valid value of a committed schema, written without the event classes: what an
    old producer may have stored under that version."""
    kinds = schema.get("type")
    kind = next(k for k in kinds if k != "null") if isinstance(kinds, list) else kinds
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("format") == "date-time":
        return "2025-03-20T09:00:00+00:00"
    if kind == "object":
        return {name: data_from_schema(s) for name, s in schema["properties"].items()}
    if kind == "array":
        return [data_from_schema(schema["items"])]
    return {"string": "x", "integer": 1, "boolean": False, "number": 1.5}[kind]


# -- the files on disk are the generated ones -----------------------------------------


def test_every_generated_file_matches_what_is_committed():
    stale = [
        str(path)
        for path, text in expected_files(CONTRACTS).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"out of date: {stale}; run `python -m tools.contracts`"


def test_every_service_and_event_type_has_a_schema_file():
    assert (
        {c.service for c in CONTRACTS}
        == set(SERVICES)
        == {
            "tickets",
            "identity",
            "sla",
            "notify",
        }
    )
    for c in CONTRACTS:
        assert c.schema_path.exists(), c.key
    assert (SCHEMA_DIR / "tickets" / "TicketOpened.v1.json").exists()
    assert (SCHEMA_DIR / "notify" / "SmsFailed.v1.json").exists()


# -- versioning: the lock ------------------------------------------------------------


def test_no_event_changed_its_fields_without_a_schema_version_bump():
    lock = read_lock()
    missing = [c.key for c in CONTRACTS if c.key not in lock]
    assert not missing, f"{missing} not in {LOCK_PATH.name}: run `python -m tools.contracts`"
    problems = lock_violations(CONTRACTS, lock)
    assert not problems, "\n".join(problems)


@dataclasses.dataclass(frozen=True)
class ClaimedWithExtraField(DomainEvent):
    """TicketClaimed as a careless change would leave it: a new field, same version."""

    TYPE: ClassVar[str] = "TicketClaimed"
    SCHEMA_VERSION: ClassVar[int] = 1

    ticket_id: str
    agent_id: str
    department: str
    origin: str
    claimed_at: datetime


def test_a_field_change_under_the_same_version_is_refused_with_what_to_do():
    changed = contract_for("tickets", ClaimedWithExtraField)
    [problem] = lock_violations([changed], read_lock())
    assert "TicketClaimed" in problem
    assert "bump ClaimedWithExtraField.SCHEMA_VERSION to 2" in problem
    assert "register an upcaster from v1" in problem


def test_a_type_or_nullability_change_is_a_change_too():
    base = contract_for("tickets", TicketClaimed)
    fields = list(base.fields)
    fields[1] = dataclasses.replace(fields[1], nullable=True)
    nullable = dataclasses.replace(base, fields=tuple(fields))
    assert lock_violations([nullable], read_lock())
    assert lock_violations([base], read_lock()) == []


def test_a_new_version_adds_to_the_lock_and_keeps_the_old_entry():
    lock = read_lock()
    v2 = contract_for("tickets", ClaimedV2)
    assert lock_violations([v2], lock) == []
    new = updated_lock([v2], lock)
    assert new["tickets.TicketClaimed.v2"] == v2.fingerprint()
    assert new["tickets.TicketClaimed.v1"] == lock["tickets.TicketClaimed.v1"]


# -- the schemas describe what is published ----------------------------------------


@pytest.mark.parametrize("contract", CONTRACTS, ids=IDS)
def test_the_committed_schema_is_valid_and_accepts_what_the_class_publishes(contract):
    schema = committed_schema(contract.service, contract.type, contract.version)
    Draft202012Validator.check_schema(schema)
    for nulls in (False, True):
        data = json.loads(json.dumps(sample_instance(contract.cls, nulls=nulls).to_data()))
        errors = [e.message for e in validator(schema).iter_errors(data)]
        assert not errors, (nulls, errors)


def test_a_schema_rejects_a_wrong_enum_value_a_missing_field_and_an_extra_one():
    schema = committed_schema("tickets", "TicketOpened", 1)
    good = sample_instance(REGISTRY.types["TicketOpened"]).to_data()
    assert validator(schema).is_valid(good)
    assert not validator(schema).is_valid({**good, "priority": "whenever"})
    assert not validator(schema).is_valid({k: v for k, v in good.items() if k != "body"})
    assert not validator(schema).is_valid({**good, "extra": 1})
    assert not validator(schema).is_valid({**good, "organisation_id": None, "subject": None})


def test_sla_instants_are_strings_on_the_wire_and_the_ticket_reference_is_flat():
    schema = committed_schema("sla", "SlaBreached", 1)
    assert schema["properties"]["breached_at"]["format"] == "date-time"
    assert schema["properties"]["deadline"]["type"] == ["string", "null"]
    assert "ticket" not in schema["properties"]
    assert "ticket_id" in schema["required"]
    targets_set = committed_schema("sla", "SlaTargetsSet", 1)
    assert "assignee_id" not in targets_set["properties"]  # its to_data leaves it out
    item = targets_set["properties"]["targets"]["items"]
    assert item["properties"]["started_at"]["format"] == "date-time"


# -- old versions stay readable --------------------------------------------------------


def test_every_committed_tickets_version_is_still_readable():
    """Data shaped by any published tickets schema version decodes with today's code."""
    versions = [key.split(".") for key in read_lock() if key.startswith("tickets.")]
    assert versions
    for _service, event_type, version in versions:
        number = int(version.removeprefix("v"))
        data = data_from_schema(committed_schema("tickets", event_type, number))
        event = REGISTRY.decode(event_type, data, number)
        assert type(event) is REGISTRY.types[event_type]


def test_an_upcaster_reads_data_of_the_published_v1_schema_as_v2():
    old = data_from_schema(committed_schema("tickets", "TicketClaimed", 1))
    event = registry_with_v2().decode("TicketClaimed", old, 1)
    assert isinstance(event, ClaimedV2)
    assert event.origin == "manual"
    v2_schema = contract_for("tickets", ClaimedV2).json_schema()
    assert validator(v2_schema).is_valid(event.to_data())
    assert not validator(v2_schema).is_valid(old)  # v1 data is not v2 data unupcast


# -- AsyncAPI ----------------------------------------------------------------------------


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_asyncapi_names_the_exchange_routing_key_and_properties_of_every_event():
    document = yaml.safe_load(ASYNCAPI_PATH.read_text(encoding="utf-8"))
    assert document["asyncapi"] == "3.0.0"
    for c in CONTRACTS:
        channel = document["channels"][f"{c.service}.{c.type}"]
        assert channel["address"] == c.type
        binding = _resolve(document, channel["bindings"]["amqp"]["$ref"])
        assert binding["is"] == "routingKey"
        assert binding["exchange"] == {
            "name": f"{c.service}.events",
            "type": "topic",
            "durable": True,
            "autoDelete": False,
            "vhost": "/",
        }
        message = _resolve(document, channel["messages"][c.type]["$ref"])
        assert message["payload"]["required"] == [f.name for f in c.fields]
        headers = _resolve(document, message["headers"]["$ref"])
        for name in (
            "cloudEvents_id",
            "cloudEvents_type",
            "cloudEvents_source",
            "cloudEvents_specversion",
            "cloudEvents_time",
            "pasokh_stream_version",
        ):
            assert name in headers["required"]
        operation = document["operations"][f"receive.{c.service}.{c.type}"]
        assert operation["action"] == "receive"
        assert _resolve(document, operation["channel"]["$ref"]) is channel
        for ref in operation["messages"]:
            assert _resolve(document, ref["$ref"]) == channel["messages"][c.type]
