"""Endpoint administration (admins only): register, list, get, update, enable,
disable, rotate the secret, delete, read deliveries and their attempts, ping, and
redeliver one delivery.

The secret is shown once, when made (register, rotate); no view returns it later.
Every change is written to ``webhooks.endpoint_log`` with who made it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pasokh_common  # noqa: F401

from services.webhooks import repository as repo
from services.webhooks import schemas
from services.webhooks.context import Dependencies
from services.webhooks.domain.filters import InvalidPattern, normalise
from services.webhooks.domain.headers import InvalidHeaders, check_headers
from services.webhooks.domain.payload import PING_TYPE
from services.webhooks.domain.signing import new_secret
from services.webhooks.errors import (
    DeliveryNotFinished,
    DeliveryNotFound,
    EndpointNotFound,
    NotPermitted,
    invalid,
)
from services.webhooks.intake import create_deliveries
from services.webhooks.metrics import ENDPOINTS_DISABLED
from services.webhooks.urls import check_url


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def endpoint_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "endpoint_id": str(row["endpoint_id"]),
        "url": row["url"],
        "description": row["description"],
        "event_filter": list(row["event_filter"]),
        "header_names": sorted(row["headers"] or {}),  # values may be credentials
        "enabled": row["enabled"],
        "consecutive_failures": row["consecutive_failures"],
        "disabled_reason": row["disabled_reason"],
        "disabled_at": _iso(row["disabled_at"]),
        "disabled_by": row["disabled_by"],
        "previous_secret_valid_until": _iso(row["previous_secret_until"]),
        "created_by": row["created_by"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
    }


def delivery_view(row: dict[str, Any], attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "delivery_id": str(row["delivery_id"]),
        "endpoint_id": str(row["endpoint_id"]),
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "source": row["source"],
        "state": row["state"],
        "attempts": row["attempts"],
        "next_attempt_at": _iso(row["next_attempt_at"]) if row["state"] == "pending" else None,
        "last_status": row["last_status"],
        "last_error": row["last_error"],
        "created_at": _iso(row["created_at"]),
        "finished_at": _iso(row["finished_at"]),
        "attempt_log": [
            {
                "number": a["number"],
                "started_at": _iso(a["started_at"]),
                "duration_ms": a["duration_ms"],
                "status_code": a["status_code"],
                "outcome": a["outcome"],
                "error": a["error"],
                "response_excerpt": a["response_excerpt"],
            }
            for a in attempts
        ],
    }


def _uuid(value: Any, error: type[Exception]) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise error(str(value)[:100]) from None


def _filter(patterns: list[str]) -> list[str]:
    try:
        return normalise(patterns)
    except InvalidPattern as exc:
        raise invalid(
            "event_filter",
            "الگوی رویداد نامعتبر است: " + str(exc),
            f"Invalid event pattern: {exc}",
        ) from None


def _headers(headers: dict[str, str]) -> dict[str, str]:
    try:
        return check_headers(headers)
    except InvalidHeaders as exc:
        raise invalid(
            "headers", "سرآیند نامعتبر است: " + str(exc), f"Invalid header: {exc}"
        ) from None


class Endpoints:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    def _admin(self, actor: Any) -> str:
        who = schemas.load(schemas.ActorSchema(), actor)
        if who["role"] != "admin":
            raise NotPermitted(f"{who['role']} may not manage webhooks")
        return who["id"]

    @contextmanager
    def _adding_interest(self, patterns: list[str] | None) -> Iterator[Any]:
        """The transaction of a change after which an enabled endpoint may want more
        events: the keys of ``patterns`` are bound before it starts, under the bindings
        lock, and it commits before the admin hears "done" (see ``bindings``)."""
        if self.deps.bindings is None:
            with self.deps.pool.transaction() as tx:
                yield tx
        else:
            with self.deps.bindings.change(patterns) as tx:
                yield tx

    def _reconcile(self) -> None:
        """After a commit: unbind what no enabled filter needs any more."""
        if self.deps.bindings is not None:
            self.deps.bindings.reconcile_quietly()

    def _load(self, conn, endpoint_id: Any, lock: bool = False) -> dict[str, Any]:
        row = repo.get_endpoint(conn, _uuid(endpoint_id, EndpointNotFound), lock)
        if row is None:
            raise EndpointNotFound(str(endpoint_id)[:100])
        return row

    # -- endpoints ---------------------------------------------------------------------

    def register(self, actor: Any, payload: Any) -> dict[str, Any]:
        who = self._admin(actor)
        values = schemas.load(schemas.RegisterSchema(), payload)
        url = check_url(values["url"], self.deps.config.allow_http_hosts)
        patterns = _filter(values["event_filter"])
        headers = _headers(values["headers"])
        endpoint_id, secret, now = str(uuid.uuid4()), new_secret(), self.deps.clock()
        with self._adding_interest(patterns) as tx:
            repo.insert_endpoint(
                tx,
                {
                    "endpoint_id": endpoint_id,
                    "url": url,
                    "description": values["description"],
                    "event_filter": patterns,
                    "headers": headers,
                    "secret": secret,
                    "actor": who,
                    "now": now,
                },
            )
            repo.log_endpoint(tx, endpoint_id, "registered", who, url, now)
            row = self._load(tx, endpoint_id)
        self._reconcile()
        return {**endpoint_view(row), "secret": secret}

    def list(self, actor: Any) -> list[dict[str, Any]]:
        self._admin(actor)
        with self.deps.pool.connection() as conn:
            return [endpoint_view(r) for r in repo.list_endpoints(conn)]

    def get(self, actor: Any, endpoint_id: Any) -> dict[str, Any]:
        self._admin(actor)
        with self.deps.pool.connection() as conn:
            row = self._load(conn, endpoint_id)
            log = repo.endpoint_log(conn, row["endpoint_id"])
        return {
            **endpoint_view(row),
            "log": [
                {
                    "action": e["action"],
                    "actor": e["actor"],
                    "detail": e["detail"],
                    "at": _iso(e["at"]),
                }
                for e in log
            ],
        }

    def update(self, actor: Any, endpoint_id: Any, payload: Any) -> dict[str, Any]:
        who = self._admin(actor)
        values = schemas.load(schemas.UpdateSchema(), payload)
        if "url" in values:
            values["url"] = check_url(values["url"], self.deps.config.allow_http_hosts)
        if "event_filter" in values:
            values["event_filter"] = _filter(values["event_filter"])
        if "headers" in values:
            values["headers"] = _headers(values["headers"])
        now = self.deps.clock()
        with self._adding_interest(values.get("event_filter")) as tx:
            row = self._load(tx, endpoint_id, lock=True)
            repo.update_endpoint(tx, row["endpoint_id"], values, now)
            changed = ", ".join(sorted(values)) or "nothing"
            repo.log_endpoint(tx, row["endpoint_id"], "updated", who, changed, now)
            view = endpoint_view(self._load(tx, row["endpoint_id"]))
        if "event_filter" in values:
            self._reconcile()  # the old filter's keys may be needed no more
        return view

    def enable(self, actor: Any, endpoint_id: Any) -> dict[str, Any]:
        """Also resets the failure count: the admin says the receiver is fixed."""
        who = self._admin(actor)
        now = self.deps.clock()
        with self.deps.pool.connection() as conn:
            before = self._load(conn, endpoint_id)
        with self._adding_interest(list(before["event_filter"])) as tx:
            row = self._load(tx, endpoint_id, lock=True)
            if row["event_filter"] != before["event_filter"] and self.deps.bindings:
                self.deps.bindings.need(tx, list(row["event_filter"]))  # changed meanwhile
            repo.enable(tx, row["endpoint_id"], now)
            repo.log_endpoint(tx, row["endpoint_id"], "enabled", who, None, now)
            view = endpoint_view(self._load(tx, row["endpoint_id"]))
        self._reconcile()
        return view

    def disable(self, actor: Any, endpoint_id: Any, payload: Any = None) -> dict[str, Any]:
        who = self._admin(actor)
        values = schemas.load(schemas.DisableSchema(), payload or {})
        reason = values["reason"] or "disabled by an administrator"
        now = self.deps.clock()
        with self.deps.pool.transaction() as tx:
            row = self._load(tx, endpoint_id, lock=True)
            if row["enabled"]:
                repo.disable(tx, row["endpoint_id"], reason, who, now)
                repo.log_endpoint(tx, row["endpoint_id"], "disabled", who, reason, now)
                ENDPOINTS_DISABLED.labels("admin").inc()
            view = endpoint_view(self._load(tx, row["endpoint_id"]))
        self._reconcile()  # unbound only after the commit
        return view

    def rotate_secret(self, actor: Any, endpoint_id: Any) -> dict[str, Any]:
        """A new secret; the old one keeps signing for WEBHOOKS_SECRET_GRACE_SECONDS."""
        who = self._admin(actor)
        now = self.deps.clock()
        grace = self.deps.config.secret_grace_seconds
        until = now + timedelta(seconds=grace) if grace > 0 else None
        secret = new_secret()
        with self.deps.pool.transaction() as tx:
            row = self._load(tx, endpoint_id, lock=True)
            repo.rotate_secret(tx, row["endpoint_id"], secret, until, now)
            repo.log_endpoint(tx, row["endpoint_id"], "secret_rotated", who, None, now)
            return {**endpoint_view(self._load(tx, row["endpoint_id"])), "secret": secret}

    def delete(self, actor: Any, endpoint_id: Any) -> dict[str, Any]:
        """Its deliveries and attempts go with it; the endpoint log stays."""
        who = self._admin(actor)
        now = self.deps.clock()
        with self.deps.pool.transaction() as tx:
            row = self._load(tx, endpoint_id, lock=True)
            repo.delete_endpoint(tx, row["endpoint_id"])
            repo.log_endpoint(tx, row["endpoint_id"], "deleted", who, row["url"], now)
        self._reconcile()  # unbound only after the commit
        return {"endpoint_id": str(row["endpoint_id"]), "deleted": True}

    # -- deliveries --------------------------------------------------------------------

    def deliveries(self, actor: Any, endpoint_id: Any, query: Any = None) -> list[dict[str, Any]]:
        self._admin(actor)
        values = schemas.load(schemas.DeliveriesQuery(), query or {})
        with self.deps.pool.connection() as conn:
            row = self._load(conn, endpoint_id)
            rows = repo.list_deliveries(conn, row["endpoint_id"], values["state"], values["limit"])
            attempts = repo.attempts_of(conn, [r["delivery_id"] for r in rows])
        by_delivery: dict[Any, list] = {}
        for attempt in attempts:
            by_delivery.setdefault(attempt["delivery_id"], []).append(attempt)
        return [delivery_view(r, by_delivery.get(r["delivery_id"], [])) for r in rows]

    def delivery(self, actor: Any, delivery_id: Any) -> dict[str, Any]:
        self._admin(actor)
        with self.deps.pool.connection() as conn:
            return self._delivery(conn, delivery_id)

    def _delivery(self, conn, delivery_id: Any) -> dict[str, Any]:
        row = repo.get_delivery(conn, _uuid(delivery_id, DeliveryNotFound))
        if row is None:
            raise DeliveryNotFound(str(delivery_id)[:100])
        return delivery_view(row, repo.attempts_of(conn, [row["delivery_id"]]))

    def ping(self, actor: Any, endpoint_id: Any) -> dict[str, Any]:
        """A WebhookPing delivery (sent even to a disabled endpoint, to test a fix)."""
        who = self._admin(actor)
        with self.deps.pool.transaction() as tx:
            row = self._load(tx, endpoint_id)
            event_id = str(uuid.uuid4())
            data = {"endpoint_id": str(row["endpoint_id"]), "requested_by": who}
            (delivery_id,) = create_deliveries(
                tx,
                self.deps,
                "webhooks",
                event_id,
                PING_TYPE,
                data,
                endpoints=[{"endpoint_id": row["endpoint_id"], "event_filter": ["*"]}],
            )
            return self._delivery(tx, delivery_id)

    def redeliver(self, actor: Any, delivery_id: Any) -> dict[str, Any]:
        """The same body and event id again, with a fresh attempt budget."""
        who = self._admin(actor)
        now = self.deps.clock()
        with self.deps.pool.transaction() as tx:
            current = self._delivery(tx, delivery_id)
            row = repo.redeliver(tx, current["delivery_id"], now)
            if row is None:
                raise DeliveryNotFinished(current["state"])
            repo.log_endpoint(
                tx, row["endpoint_id"], "redelivered", who, current["delivery_id"], now
            )
            return self._delivery(tx, current["delivery_id"])
