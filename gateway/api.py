"""Declaring a route: one decorator states the method, path, who may call it, its
request schemas and its rate limit. The same declaration registers the nameko
entrypoint and feeds the OpenAPI document (``gateway.openapi``), so the document
cannot drift from what the code accepts.

A handler receives a ``Call`` (the authenticated actor, the validated body and query,
the checked files) and returns JSON-able data, a ``Reply`` or a werkzeug Response.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from marshmallow import Schema, fields
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

from gateway.uploads import UploadedFile
from gateway.web import OPEN_SIGNATURE, Route

# A werkzeug rule's variable: ``<name>`` or ``<converter:name>`` / ``<converter(...):name>``.
_PATH_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")


class Access(StrEnum):
    PUBLIC = "public"  # no token
    USER = "user"  # any logged-in account; the service decides per object
    STAFF = "staff"  # agents, supervisors, admins
    ADMIN = "admin"


STAFF_ROLES = frozenset({"agent", "supervisor", "admin", "system"})


class Limit(StrEnum):
    AUTH = "auth"  # keyed by client address
    OPEN_TICKET = "open_ticket"  # keyed by account


@dataclass(frozen=True)
class RouteSpec:
    name: str
    method: str
    path: str
    summary: str
    access: Access
    tags: tuple[str, ...]
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    multipart: bool = False
    status: int = 200
    response: type[Schema] | None = None
    many: bool = False
    rate: Limit | None = None
    description: str = ""
    produces: str = "application/json"
    also_produces: tuple[str, ...] = ()  # other media types the route answers (a query choice)


ROUTES: list[RouteSpec] = []


@dataclass
class Reply:
    data: Any
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    request: Request
    request_id: str
    language: str
    client_address: str
    actor: dict[str, Any] | None = None
    token: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)

    @property
    def actor_id(self) -> str:
        return str((self.actor or {}).get("id", ""))

    @property
    def is_staff(self) -> bool:
        return (self.actor or {}).get("role") in STAFF_ROLES

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)


def multidict_to_data(schema: Schema, values: MultiDict) -> dict[str, Any]:
    """Query strings and form fields as a dict for ``schema``: lists for List fields,
    the first value otherwise."""
    data: dict[str, Any] = {}
    for key in values:
        declared = schema.fields.get(key)
        data[key] = values.getlist(key) if isinstance(declared, fields.List) else values.get(key)
    return data


Handler = Callable[..., Any]


def api(
    method: str,
    path: str,
    *,
    summary: str,
    access: Access,
    tags: tuple[str, ...],
    body: type[Schema] | None = None,
    query: type[Schema] | None = None,
    multipart: bool = False,
    status: int = 200,
    response: type[Schema] | None = None,
    many: bool = False,
    rate: Limit | None = None,
    description: str = "",
    produces: str = "application/json",
    also_produces: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    clashing = {"self", "request"} & set(_PATH_VARIABLE.findall(path))
    if clashing:
        raise ValueError(f"{path}: a path variable may not be named {sorted(clashing)}")

    def decorate(handler: Handler) -> Handler:
        spec = RouteSpec(
            name=handler.__name__,
            method=method,
            path=path,
            summary=summary,
            access=access,
            tags=tags,
            body=body,
            query=query,
            multipart=multipart,
            status=status,
            response=response,
            many=many,
            rate=rate,
            description=description or (handler.__doc__ or "").strip(),
            produces=produces,
            also_produces=also_produces,
        )

        def endpoint(self, request: Request, **path_values: str):
            return self._serve(spec, handler, request, path_values)

        functools.update_wrapper(endpoint, handler)
        setattr(endpoint, OPEN_SIGNATURE, True)
        ROUTES.append(spec)
        return Route.decorator(method, path)(endpoint)

    return decorate
