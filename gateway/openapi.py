"""The OpenAPI 3.0 document, generated from the route declarations (``gateway.api``)
and the same marshmallow schemas that validate the requests.

A small generator rather than apispec: it needs only the field types and validators
this API uses, and it adds no dependency (apispec's marshmallow-4 support would have
to be pinned and followed). Unknown field types fall back to an unconstrained schema,
so a new field never breaks the document, it is only less precise.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, fields, missing, validate

from gateway.api import ROUTES, Access, RouteSpec
from gateway.schemas.responses import ErrorBody

OPENAPI_VERSION = "3.0.3"
_PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
ERROR_TEXT = {
    "400": "Invalid input: `fields` names each problem",
    "401": "Missing, invalid or expired access token",
    "403": "Not allowed for this role",
    "404": "Not found (also: a ticket you may not see)",
    "409": "Conflict with the current state",
    "413": "Too large: refused before the body is read",
    "415": "Unsupported body type, or an attachment whose content contradicts its name",
    "429": "Rate limited: see Retry-After",
    "503": "A service behind the gateway is not answering",
}
# Served without a nameko worker (gateway.web), so they have no RouteSpec.
_STATIC_OPERATIONS = {
    "/healthz": ("healthz", "Liveness: the process answers", "application/json"),
    "/metrics": (
        "metrics",
        "Prometheus metrics (RED per route, and the process's own)",
        "text/plain",
    ),
}


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, schema: type[Schema] | Schema, strict: bool = False) -> dict[str, str]:
        cls = schema if isinstance(schema, type) else type(schema)
        name = cls.__name__
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder: stops recursion on self-reference
            self.schemas[name] = self.object_schema(cls(), strict)
        return {"$ref": f"#/components/schemas/{name}"}

    def object_schema(self, schema: Schema, strict: bool = False) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, field in schema.fields.items():
            key = field.data_key or name
            properties[key] = self.field_schema(field)
            if field.required:
                required.append(key)
        out: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            out["required"] = required
        if strict:
            out["additionalProperties"] = False
        if schema.__doc__ and schema.__doc__.strip():
            out["description"] = " ".join(schema.__doc__.split())
        return out

    def field_schema(self, field: fields.Field) -> dict[str, Any]:
        out = self._type_of(field)
        for validator in _validators(field):
            _apply(out, validator)
        if field.allow_none:
            out["nullable"] = True
        default = field.load_default
        if default is not missing and not callable(default) and default is not None:
            out["default"] = default
        for key in ("description", "example"):
            if key in field.metadata:
                out[key] = field.metadata[key]
        return out

    def _type_of(self, field: fields.Field) -> dict[str, Any]:
        if isinstance(field, fields.Nested):
            nested = field.nested
            if callable(nested) and not isinstance(nested, type):
                nested = nested()  # marshmallow allows a lambda returning the schema
            return dict(self.ref(nested))
        if isinstance(field, fields.List):
            return {"type": "array", "items": self.field_schema(field.inner)}
        if isinstance(field, fields.Dict):
            out: dict[str, Any] = {"type": "object"}
            if field.value_field is not None:
                out["additionalProperties"] = self.field_schema(field.value_field)
            return out
        if isinstance(field, fields.UUID):
            return {"type": "string", "format": "uuid"}
        if isinstance(field, fields.DateTime):
            return {"type": "string", "format": "date-time"}
        if isinstance(field, fields.String):
            return {"type": "string"}
        if isinstance(field, fields.Boolean):
            return {"type": "boolean"}
        if isinstance(field, fields.Integer):
            return {"type": "integer"}
        if isinstance(field, fields.Number):
            return {"type": "number"}
        return {}


def _validators(field: fields.Field) -> list[Any]:
    return list(field.validators)


def _apply(out: dict[str, Any], validator: Any) -> None:
    is_array = out.get("type") == "array"
    if isinstance(validator, validate.Length):
        low, high = ("minItems", "maxItems") if is_array else ("minLength", "maxLength")
        if validator.equal is not None:
            out[low] = out[high] = validator.equal
        if validator.min is not None:
            out[low] = validator.min
        if validator.max is not None:
            out[high] = validator.max
    elif isinstance(validator, validate.Range):
        if validator.min is not None:
            out["minimum"] = validator.min
        if validator.max is not None:
            out["maximum"] = validator.max
    elif isinstance(validator, validate.OneOf):
        out["enum"] = list(validator.choices)


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """``/tickets/<uuid:ticket_id>`` -> ``/tickets/{ticket_id}`` and its parameters."""
    parameters = []
    for converter, name in _PATH_PARAM.findall(rule):
        schema: dict[str, Any] = {"type": "string"}
        if converter == "uuid":
            schema["format"] = "uuid"
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _PATH_PARAM.sub(r"{\2}", rule), parameters


def _operation(spec: RouteSpec, components: _Components) -> dict[str, Any]:
    _, parameters = openapi_path(spec.path)
    if spec.query is not None:
        for name, field in spec.query().fields.items():
            parameters.append(
                {
                    "name": field.data_key or name,
                    "in": "query",
                    "required": bool(field.required),
                    "schema": components.field_schema(field),
                }
            )
    operation: dict[str, Any] = {
        "operationId": spec.name,
        "summary": spec.summary,
        "tags": list(spec.tags),
        "x-access": spec.access.value,
        "security": [] if spec.access is Access.PUBLIC else [{"bearerAuth": []}],
    }
    if spec.description:
        operation["description"] = spec.description
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None:
        content: dict[str, Any] = {"application/json": {"schema": components.ref(spec.body, True)}}
        if spec.multipart:
            form = components.object_schema(spec.body())
            form["properties"]["attachments"] = {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "description": "files, each at most 10 MB (PDF, images, ZIP, Office, text)",
            }
            content["multipart/form-data"] = {"schema": form}
        operation["requestBody"] = {"required": bool(spec.body().fields), "content": content}
    success: dict[str, Any] = {"description": "OK" if spec.status == 200 else "Created"}
    if spec.response is not None:
        schema = components.ref(spec.response)
        if spec.many:
            schema = {"type": "array", "items": schema}
        success["content"] = {spec.produces: {"schema": schema}}
    elif spec.produces != "application/json":
        success["content"] = {spec.produces: {"schema": {"type": "string", "format": "binary"}}}
    for media_type in spec.also_produces:
        success.setdefault("content", {})[media_type] = {"schema": {"type": "string"}}
    responses: dict[str, Any] = {str(spec.status): success}
    for status in _error_statuses(spec):
        responses[status] = {"$ref": f"#/components/responses/Error{status}"}
    operation["responses"] = responses
    return operation


def _error_statuses(spec: RouteSpec) -> list[str]:
    statuses = []
    if spec.body is not None or spec.query is not None:
        statuses.append("400")
    if spec.access is not Access.PUBLIC:
        statuses.append("401")
    if spec.access in (Access.STAFF, Access.ADMIN):
        statuses.append("403")
    if "<" in spec.path:
        statuses.append("404")
    if spec.multipart:
        statuses += ["413", "415"]
    if spec.rate is not None:
        statuses.append("429")
    statuses.append("503")
    return statuses


def build_document(routes: list[RouteSpec] | None = None) -> dict[str, Any]:
    components = _Components()
    error_schema = components.ref(ErrorBody)
    paths: dict[str, dict[str, Any]] = {}
    for spec in routes if routes is not None else ROUTES:
        path, _ = openapi_path(spec.path)
        paths.setdefault(path, {})[spec.method.lower()] = _operation(spec, components)
    for path, (name, summary, media) in _STATIC_OPERATIONS.items():
        paths[path] = {
            "get": {
                "operationId": name,
                "summary": summary,
                "tags": ["operations"],
                "x-access": Access.PUBLIC.value,
                "security": [],
                "responses": {"200": {"description": "OK", "content": {media: {"schema": {}}}}},
            }
        }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Pasokh API",
            "version": "1",
            "description": (
                'The help desk\'s HTTP API. Errors: `{"error": {"code", "message",'
                ' "fields"}}`, messages in Persian or English by Accept-Language (fa by'
                " default). Every answer carries X-Request-ID (yours, or a new one)."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "responses": {
                f"Error{status}": {
                    "description": text,
                    "content": {"application/json": {"schema": error_schema}},
                }
                for status, text in ERROR_TEXT.items()
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
