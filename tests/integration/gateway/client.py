"""A small HTTP client for the gateway tests, and the people they need: customers who
register, verify with the code the notify double received, and log in; an admin made
with the identity CLI; agents the admin creates through the API."""

from __future__ import annotations

import itertools
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.integration.gateway.stack import PASSWORD, Stack
from tests.support.notify_double import latest_code

_numbers = itertools.count(1_000_000 + (os.getpid() % 1000) * 1000)


def new_phone() -> str:
    """A distinct mobile number in canonical form for each call."""
    return f"+98935{next(_numbers):07d}"


def new_address() -> str:
    """A client address of the caller's own, so no rate limit is shared between tests."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


@dataclass
class Api:
    base_url: str
    address: str = field(default_factory=new_address)
    token: str | None = None
    language: str | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        sent = {"X-Forwarded-For": self.address}
        bearer = token if token is not None else self.token
        if bearer:
            sent["Authorization"] = f"Bearer {bearer}"
        if self.language:
            sent["Accept-Language"] = self.language
        sent.update(headers or {})
        return requests.request(
            method, self.base_url + path, json=json, headers=sent, timeout=30, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@dataclass
class Person:
    api: Api
    user: dict
    phone: str
    refresh_token: str

    @property
    def id(self) -> str:
        return self.user["id"]


def ok(response: requests.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text[:500]}"
    return response.json() if response.content else None


def error_of(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, f"{response.status_code}: {response.text[:500]}"
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"]), body
    return body["error"]


def register_customer(
    stack: Stack, name: str = "سارا کریمی", kind: str = "person", **extra: Any
) -> Person:
    api = Api(stack.base_url)
    phone = new_phone()
    body = {"kind": kind, "name": name, "phone": phone, "password": PASSWORD, **extra}
    if kind == "company":
        body.setdefault("organisation_name", "شرکت نمونه")
    ok(api.post("/api/v1/auth/register", body), 201)
    code = latest_code(stack.outbox, phone)
    ok(api.post("/api/v1/auth/verify-phone", {"phone": phone, "code": code}))
    return login(stack, phone, api)


def login(stack: Stack, login_name: str, api: Api | None = None) -> Person:
    api = api or Api(stack.base_url)
    session = ok(api.post("/api/v1/auth/login", {"login": login_name, "password": PASSWORD}))
    api.token = session["access_token"]
    return Person(api, session["user"], login_name, session["refresh_token"])


def bootstrap_admin(stack: Stack) -> Person:
    username = f"admin.{uuid.uuid4().hex[:8]}"
    stack.create_admin(new_phone(), username)
    return login(stack, username)


def new_department(admin: Person, prefix: str = "dept") -> str:
    department_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    ok(
        admin.api.post(
            "/api/v1/departments", {"department_id": department_id, "name": "واحد آزمون"}
        ),
        201,
    )
    return department_id


def new_agent(stack: Stack, admin: Person, departments: list[str], role: str = "agent") -> Person:
    username = f"agent.{uuid.uuid4().hex[:8]}"
    body = {"name": "کارشناس پشتیبانی", "username": username, "password": PASSWORD,
            "role": role, "departments": departments}  # fmt: skip
    ok(admin.api.post("/api/v1/agents", body), 201)
    return login(stack, username)


def open_ticket(
    customer: Person, department: str, subject: str | None = None, **extra: Any
) -> dict:
    body = {
        "department": department,
        "subject": subject or f"موضوع آزمون {uuid.uuid4().hex[:10]}",
        "body": "متن درخواست",
        **extra,
    }
    return ok(customer.api.post("/api/v1/tickets", body), 201)
