"""The published event contract: JSON Schemas, an AsyncAPI document and the catalogue.

Other systems (billing, CRM, a data warehouse) integrate against files, not against
our Python: so the schemas are generated from the event classes themselves and a unit
test fails when a committed file differs from what this module produces. Run
``python -m tools.contracts`` after changing an event.

What an event looks like *on the wire* is what matters, not its dataclass: the SLA
service keeps instants as epoch seconds and a nested ``TicketRef``, but publishes ISO
strings and flat fields. The model below therefore starts from the dataclass fields and
type hints, applies the few wire rules of each service, and then keeps exactly the keys
that ``to_data`` of a sample instance emits, in that order (a declared field the wire
drops is dropped; a wire key no field declares is an error).

Versioning: ``docs/schemas/lock.json`` maps each (service, type, schema version) to a
hash of its field list. The lock is append-only: a changed field list under an existing
version is refused (bump ``SCHEMA_VERSION`` and add an upcaster); a new version adds an
entry, and the old version's schema file stays published for readers of old events.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import inspect
import json
import sys
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from services.identity.domain import events as identity_events
from services.notify.domain import events as notify_events
from services.sla.domain import events as sla_events
from services.tickets.domain import events as tickets_events

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SCHEMA_DIR = DOCS / "schemas"
LOCK_PATH = SCHEMA_DIR / "lock.json"
ASYNCAPI_PATH = DOCS / "asyncapi.yaml"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: Every published event class, by the service (and exchange ``<service>.events``)
#: that publishes it.
SERVICES: dict[str, tuple[type, ...]] = {
    "tickets": tickets_events.ALL_EVENT_CLASSES,
    "identity": identity_events.ALL_EVENT_CLASSES,
    "sla": (
        sla_events.SlaTargetsSet,
        sla_events.SlaWarning,
        sla_events.SlaBreached,
        sla_events.SlaMet,
        *sla_events.RULES_EVENT_CLASSES,
    ),
    "notify": (notify_events.SmsSent, notify_events.SmsFailed),
}

TITLES = {
    "tickets": "Ticket events",
    "identity": "Identity events",
    "sla": "SLA events",
    "notify": "Notify events",
}

_SCALARS: dict[type, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    bool: {"type": "boolean"},
    float: {"type": "number"},
    datetime: {"type": "string", "format": "date-time"},
}


class ContractError(Exception):
    """An event class whose wire shape cannot be described (fix the class, not this)."""


@dataclass(frozen=True)
class Field:
    name: str
    schema: dict[str, Any]  # JSON Schema of the non-null value
    nullable: bool

    def json_schema(self) -> dict[str, Any]:
        if not self.nullable:
            return self.schema
        if "enum" in self.schema:
            return {**self.schema, "type": ["string", "null"], "enum": [*self.schema["enum"], None]}
        return {**self.schema, "type": [self.schema["type"], "null"]}


@dataclass(frozen=True)
class Contract:
    service: str
    type: str
    version: int
    description: str
    fields: tuple[Field, ...]
    cls: type

    @property
    def exchange(self) -> str:
        return f"{self.service}.events"

    @property
    def key(self) -> str:
        return f"{self.service}.{self.type}.v{self.version}"

    @property
    def schema_path(self) -> Path:
        return SCHEMA_DIR / self.service / f"{self.type}.v{self.version}.json"

    def payload_schema(self) -> dict[str, Any]:
        """The body's schema without the document keywords (for AsyncAPI, inline)."""
        schema: dict[str, Any] = {"title": self.type, "type": "object"}
        if self.description:
            schema["description"] = self.description
        schema["properties"] = {f.name: f.json_schema() for f in self.fields}
        schema["required"] = [f.name for f in self.fields]
        schema["additionalProperties"] = False
        return schema

    def json_schema(self) -> dict[str, Any]:
        return {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": f"urn:pasokh:event:{self.service}:{self.type}:v{self.version}",
            **self.payload_schema(),
            "x-pasokh-exchange": self.exchange,
            "x-pasokh-routing-key": self.type,
            "x-pasokh-schema-version": self.version,
        }

    def fingerprint(self) -> str:
        """Hash of the field list (names, types, nullability, enum values, order);
        descriptions are left out so rewording a docstring needs no new version."""
        shape = [[f.name, f.schema, f.nullable] for f in self.fields]
        text = json.dumps(shape, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- from classes to contracts ----------------------------------------------------------


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = typing.get_args(hint)
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise ContractError(f"unsupported union {hint!r}")
        return rest[0], type(None) in args
    return hint, False


def _is_sla_instant(service: str, name: str, base: Any) -> bool:
    """SLA keeps instants as epoch seconds in the domain; its ``to_data`` sends them as
    ISO-8601 strings (see services/sla/domain/events.py)."""
    return service == "sla" and base is int and (name.endswith("_at") or name == "deadline")


def _value_schema(service: str, name: str, base: Any, owner: type) -> dict[str, Any]:
    if _is_sla_instant(service, name, base):
        return dict(_SCALARS[datetime])
    if base in _SCALARS:
        return dict(_SCALARS[base])
    if inspect.isclass(base) and issubclass(base, enum.Enum):
        return {"type": "string", "enum": [m.value for m in base]}
    origin = typing.get_origin(base)
    if origin is dict:
        key, value = typing.get_args(base)
        if key is not str:
            raise ContractError(f"{owner.__name__}.{name}: only string keys")
        item, _ = _unwrap_optional(value)
        return {"type": "object", "additionalProperties": _value_schema(service, name, item, owner)}
    if origin in (tuple, list):
        args = [a for a in typing.get_args(base) if a is not Ellipsis]
        if len(args) != 1:
            raise ContractError(f"{owner.__name__}.{name}: only homogeneous sequences")
        item, _ = _unwrap_optional(args[0])
        return {"type": "array", "items": _value_schema(service, name, item, owner)}
    if dataclasses.is_dataclass(base):
        fields = _class_fields(service, base)
        return {
            "type": "object",
            "properties": {f.name: f.json_schema() for f in fields},
            "required": [f.name for f in fields],
            "additionalProperties": False,
        }
    raise ContractError(f"{owner.__name__}.{name}: no wire type for {base!r}")


def _class_fields(service: str, cls: type) -> list[Field]:
    hints = typing.get_type_hints(cls)
    fields: list[Field] = []
    for f in dataclasses.fields(cls):
        base, nullable = _unwrap_optional(hints[f.name])
        if base is sla_events.TicketRef:
            # flattened into the event's own keys by SlaEvent.to_data
            fields.extend(_class_fields(service, base))
            continue
        fields.append(Field(f.name, _value_schema(service, f.name, base, cls), nullable))
    return fields


def _sample_value(base: Any) -> Any:
    """A valid non-null value of a declared type, to see what ``to_data`` emits."""
    if base is str:
        return "x"
    if base is bool:
        return True
    if base is int:
        return 1
    if base is float:
        return 1.0
    if base is datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)
    if inspect.isclass(base) and issubclass(base, enum.Enum):
        return next(iter(base))
    if typing.get_origin(base) in (tuple, list):
        item, _ = _unwrap_optional(typing.get_args(base)[0])
        return (_sample_value(item),)
    if typing.get_origin(base) is dict:
        item, _ = _unwrap_optional(typing.get_args(base)[1])
        return {"x": _sample_value(item)}
    if dataclasses.is_dataclass(base):
        return sample_instance(base, nulls=False)
    raise ContractError(f"no sample for {base!r}")


def sample_instance(cls: type, nulls: bool = False) -> Any:
    """An instance with every field set (``nulls``: nullable fields None instead)."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        base, nullable = _unwrap_optional(hints[f.name])
        values[f.name] = None if (nullable and nulls) else _sample_value(base)
    return cls(**values)


def contract_for(service: str, cls: type) -> Contract:
    declared = {f.name: f for f in _class_fields(service, cls)}
    wire_keys = list(sample_instance(cls).to_data())
    undeclared = [k for k in wire_keys if k not in declared]
    if undeclared:
        raise ContractError(f"{cls.__name__}.to_data emits undeclared keys {undeclared}")
    doc = inspect.getdoc(cls) or ""
    if doc.startswith(cls.__name__ + "("):  # dataclass's generated signature
        doc = ""
    return Contract(
        service=service,
        type=cls.TYPE,
        version=cls.SCHEMA_VERSION,
        description=doc,
        fields=tuple(declared[k] for k in wire_keys),
        cls=cls,
    )


def all_contracts() -> list[Contract]:
    return [contract_for(service, cls) for service, classes in SERVICES.items() for cls in classes]


# -- the lock ---------------------------------------------------------------------------


def read_lock(path: Path = LOCK_PATH) -> dict[str, str]:
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def lock_violations(contracts: Iterable[Contract], lock: dict[str, str]) -> list[str]:
    """One message per event whose fields changed under a version already published."""
    problems = []
    for c in contracts:
        locked = lock.get(c.key)
        if locked is not None and locked != c.fingerprint():
            problems.append(
                f"{c.service} event {c.type}: its fields changed but SCHEMA_VERSION is still "
                f"{c.version}. Events of v{c.version} are already stored and published, so "
                f"bump {c.cls.__name__}.SCHEMA_VERSION to {c.version + 1}, register an "
                f"upcaster from v{c.version} (EventRegistry.register_upcaster("
                f"{c.type!r}, from_version={c.version})), then run `python -m tools.contracts`."
            )
    return problems


def updated_lock(contracts: Iterable[Contract], lock: dict[str, str]) -> dict[str, str]:
    """The lock with entries for new versions added; existing entries never change."""
    new = dict(lock)
    for c in contracts:
        new.setdefault(c.key, c.fingerprint())
    return dict(sorted(new.items()))


# -- rendering --------------------------------------------------------------------------


def dump_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


CLOUDEVENTS_HEADERS: dict[str, dict[str, Any]] = {
    "cloudEvents_id": {"type": "string", "format": "uuid", "description": "Event id."},
    "cloudEvents_type": {"type": "string", "description": "Event type (the routing key)."},
    "cloudEvents_source": {"type": "string", "description": "`pasokh/<service>`."},
    "cloudEvents_specversion": {"type": "string", "const": "1.0"},
    "cloudEvents_time": {
        "type": "string",
        "format": "date-time",
        "description": "When the event was recorded, RFC 3339 UTC.",
    },
    "cloudEvents_subject": {"type": "string", "description": "Stream id, e.g. `ticket-7`."},
    "pasokh_stream_id": {"type": "string", "description": "Stream id."},
    "pasokh_stream_version": {
        "type": "integer",
        "minimum": 1,
        "description": "Version in the stream; increases by one per event of a stream.",
    },
    "pasokh_position": {"type": "integer", "description": "Global position in the log."},
    "pasokh_schema_version": {
        "type": "integer",
        "minimum": 1,
        "description": "Schema version of the body (`docs/schemas/<service>/<type>.v<N>.json`).",
    },
    "pasokh_actor_role": {
        "type": "string",
        "description": "Who acted (`customer`, `agent`, ...); absent if unknown.",
    },
    "pasokh_correlation_id": {"type": "string", "description": "Absent if unknown."},
}
REQUIRED_HEADERS = [
    h for h in CLOUDEVENTS_HEADERS if h not in ("pasokh_actor_role", "pasokh_correlation_id")
]


def _channel_id(c: Contract) -> str:
    return f"{c.service}.{c.type}"


def asyncapi(contracts: list[Contract]) -> dict[str, Any]:
    """AsyncAPI 3.0: one channel per (exchange, routing key), one receive operation each."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for c in contracts:
        cid = _channel_id(c)
        messages[cid] = {
            "name": c.type,
            "title": f"{c.type} v{c.version}",
            "summary": (c.description.split("\n\n")[0].replace("\n", " ") or c.type),
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/CloudEventsHeaders"},
            "payload": c.payload_schema(),
            "correlationId": {"$ref": "#/components/correlationIds/messageId"},
            "bindings": {
                "amqp": {
                    "contentEncoding": "utf-8",
                    "messageType": c.type,
                    "bindingVersion": "0.3.0",
                }
            },
            "x-json-schema": f"schemas/{c.service}/{c.type}.v{c.version}.json",
            "x-schema-version": c.version,
        }
        channels[cid] = {
            "address": c.type,
            "title": f"{c.type} on {c.exchange}",
            "description": (
                f"Routing key `{c.type}` on the topic exchange `{c.exchange}`. "
                f"Bind your own durable queue (e.g. `<your-system>.{c.service}`) to the "
                "exchange with this key, or `#` for every event of the service."
            ),
            "servers": [{"$ref": "#/servers/rabbitmq"}],
            "messages": {c.type: {"$ref": f"#/components/messages/{cid}"}},
            "bindings": {"amqp": {"$ref": f"#/components/channelBindings/{c.service}Events"}},
        }
        operations[f"receive.{cid}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{cid}"},
            "messages": [{"$ref": f"#/channels/{cid}/messages/{c.type}"}],
            "bindings": {"amqp": {"$ref": "#/components/operationBindings/subscriberAck"}},
        }
    channel_bindings = {
        f"{service}Events": {
            "is": "routingKey",
            "exchange": {
                "name": f"{service}.events",
                "type": "topic",
                "durable": True,
                "autoDelete": False,
                "vhost": "/",
            },
            "bindingVersion": "0.3.0",
        }
        for service in SERVICES
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Pasokh events",
            "version": "1.0.0",
            "description": (
                "Generated by `python -m tools.contracts` from the event classes; do not "
                "edit by hand (a test compares them). Every service publishes its events "
                "on the topic exchange `<service>.events`, routing key = event type, body = "
                "the event's data as UTF-8 JSON, persistent, at least once, in order per "
                "stream. Properties: `content_type` application/json, `content_encoding` "
                "utf-8, `delivery_mode` 2, `message_id` (event id: deduplicate on it), "
                "`type` (event type), `timestamp` (recorded at, epoch seconds), `app_id` "
                "(the service), `correlation_id` when known. Headers: CloudEvents 1.0 "
                "attributes (AMQP binding `_` spelling) and Pasokh's stream coordinates. "
                "Subscribers declare their own durable queue named `<system>.<service>` "
                "(or `<system>.<service>.<purpose>`; quorum type on a cluster), bind it "
                "before relying on it, and acknowledge after processing. "
                "See docs/integration.md."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "rabbitmq": {
                "host": "rabbitmq:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "The broker of your Pasokh deployment (host and vhost vary).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {
                "CloudEventsHeaders": {
                    "type": "object",
                    "description": "AMQP application headers of every Pasokh event.",
                    "properties": CLOUDEVENTS_HEADERS,
                    "required": REQUIRED_HEADERS,
                }
            },
            "messages": messages,
            "correlationIds": {
                "messageId": {
                    "description": "The event id; the same on every redelivery.",
                    "location": "$message.header#/cloudEvents_id",
                }
            },
            "channelBindings": channel_bindings,
            "operationBindings": {
                "subscriberAck": {"ack": True, "bindingVersion": "0.3.0"},
            },
        },
    }


def render_asyncapi(contracts: list[Contract]) -> str:
    body = yaml.safe_dump(
        asyncapi(contracts),
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return "# Generated by `python -m tools.contracts`; do not edit by hand.\n" + body


def expected_files(contracts: list[Contract] | None = None) -> dict[Path, str]:
    """Every generated file (except the lock) and its content."""
    from tools.gen_events_doc import DOC_PATH, render  # the catalogue reads our model

    contracts = all_contracts() if contracts is None else contracts
    files = {c.schema_path: dump_json(c.json_schema()) for c in contracts}
    files[ASYNCAPI_PATH] = render_asyncapi(contracts)
    files[DOC_PATH] = render(contracts)
    return files


def main(argv: list[str] | None = None) -> int:
    contracts = all_contracts()
    lock = read_lock()
    problems = lock_violations(contracts, lock)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    for path, text in expected_files(contracts).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    new_lock = updated_lock(contracts, lock)
    if new_lock != lock or not LOCK_PATH.exists():
        LOCK_PATH.write_text(dump_json(new_lock), encoding="utf-8")
        print(f"wrote {LOCK_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
