"""The people of the e2e story: customers who register and verify with the code that
reached their phone (notify's console outbox), an admin made with the identity CLI,
agents the admin creates. The HTTP client itself is the gateway tests' one."""

from __future__ import annotations

from typing import Any

from tests.e2e.stack import PASSWORD, Stack
from tests.integration.gateway.client import Api, Person, login, new_phone, ok


def register(
    stack: Stack, name: str, phone: str, kind: str = "person", **extra: Any
) -> tuple[Api, dict]:
    """Register; the answer says whether the code was sent."""
    api = Api(stack.base_url)
    body = {"kind": kind, "name": name, "phone": phone, "password": PASSWORD, **extra}
    if kind == "company":
        body.setdefault("organisation_name", "شرکت نمونه")
    return api, ok(api.post("/api/v1/auth/register", body), 201)


def verify(stack: Stack, api: Api, phone: str) -> None:
    code = stack.latest_code(phone)
    ok(api.post("/api/v1/auth/verify-phone", {"phone": phone, "code": code}))


def register_customer(
    stack: Stack, name: str = "سارا کریمی", kind: str = "person", **extra: Any
) -> Person:
    """A verified, logged-in customer (the whole sign-up as a person does it)."""
    phone = new_phone()
    api, _ = register(stack, name, phone, kind, **extra)
    verify(stack, api, phone)
    return login(stack, phone, api)  # type: ignore[arg-type]
