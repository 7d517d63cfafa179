"""notify fixtures: databases with notify's and identity's migrations, a local provider
server, and ``NotifyStack``: identity and notify as real processes on a RabbitMQ vhost
of their own, with events published to ``tickets.events`` / ``sla.events`` /
``identity.events`` exactly as the relays publish them.

Each test module builds its own stack (``make_stack``) with the provider and settings
it needs; tests inside a module use their own people and tickets, so they never meet.
"""

from __future__ import annotations

import json
import secrets
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common.db import ConnectionPool

import psycopg
import pytest
from kombu import Connection, Exchange, Producer
from nameko.standalone.rpc import ClusterRpcProxy
from psycopg.rows import dict_row

from tests.support import infra
from tests.support.processes import (
    free_port,
    http_get,
    metric_value,
    spawn,
    stop_all,
    wait_for_rpc_service,
    wait_until,
)
from tests.support.sms_providers import FakeKavenegar, FakeSmsProvider, FakeTwilio

REPO_ROOT = Path(__file__).resolve().parents[3]
NOTIFY_MIGRATIONS = REPO_ROOT / "services" / "notify" / "migrations"
IDENTITY_MIGRATIONS = REPO_ROOT / "services" / "identity" / "migrations"
PUBLIC_URL = "https://help.example.ir"
PASSWORD = "a long enough secret"
# Fast everything: seconds of backoff and leases become tenths.
FAST_NOTIFY = {
    "NOTIFY_PROVIDER_TIMEOUT_SECONDS": "2",
    "NOTIFY_SENDING_LEASE_SECONDS": "4",
    "NOTIFY_RETRY_BASE_SECONDS": "0.2",
    "NOTIFY_RETRY_MAX_SECONDS": "1",
    "NOTIFY_MAX_ATTEMPTS": "4",
    "NOTIFY_POLL_SECONDS": "0.05",
    "NOTIFY_DELIVERY_POLL_SECONDS": "0.5",
    "NOTIFY_RATE_LIMIT_PER_SECOND": "0",
    "NOTIFY_CODE_DEADLINE_SECONDS": "3",
    "PASOKH_CONSUMER_RETRY_DELAYS": "0.2,0.4",
    "PASOKH_PUBLIC_URL": PUBLIC_URL,
}
FAST_IDENTITY = {
    "IDENTITY_ARGON2_TIME_COST": "1",
    "IDENTITY_ARGON2_MEMORY_KIB": "8192",
    "IDENTITY_ARGON2_PARALLELISM": "1",
    "IDENTITY_CODES_PER_HOUR": "100",
    "IDENTITY_CODES_PER_HOUR_PER_ADDRESS": "100000",
    "IDENTITY_CODE_COOLDOWN_SECONDS": "0",
}
_numbers = iter(range(3_000_000, 9_999_999))


def new_phone() -> str:
    return f"+98935{next(_numbers):07d}"


# -- databases ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def notify_template(pg_admin_url: str, run_id: str, app_role: str) -> Iterator[str]:
    with infra.migrated_template(pg_admin_url, f"{run_id}_notify_tpl", "notify", app_role) as name:
        yield name


@pytest.fixture(scope="session")
def notify_identity_template(pg_admin_url: str, run_id: str, app_role: str) -> Iterator[str]:
    with infra.migrated_template(pg_admin_url, f"{run_id}_nid_tpl", "identity", app_role) as name:
        yield name


# PostgreSQL notices a SIGKILLed client within a second, releasing its locks.
_CHECK_DEAD_CLIENTS = "?" + urllib.parse.urlencode(
    {"options": "-c client_connection_check_interval=500"}, quote_via=urllib.parse.quote
)


def fresh_db(pg_admin_url: str, template: str, app_role: str):
    return infra.fresh_database(pg_admin_url, template, app_role, _CHECK_DEAD_CLIENTS)


@pytest.fixture
def notify_db(pg_admin_url: str, notify_template: str, app_role: str) -> Iterator[dict]:
    with fresh_db(pg_admin_url, notify_template, app_role) as db:
        yield db


@pytest.fixture
def notify_pool(notify_db: dict) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(notify_db["url"], max_size=5)
    yield pool
    pool.close()


# -- events as the relays publish them ----------------------------------------------------


def publish(
    amqp_uri: str, source: str, event_type: str, data: dict, event_id: str | None = None
) -> str:
    return publish_many(amqp_uri, source, event_type, [data], [event_id])[0]


def publish_many(
    amqp_uri: str,
    source: str,
    event_type: str,
    items: list[dict],
    event_ids: list[str | None] | None = None,
) -> list[str]:
    """Persistent, confirmed, with ``message_id`` = event id and a JSON body."""
    ids = [i or str(uuid.uuid4()) for i in (event_ids or [None] * len(items))]
    exchange = Exchange(f"{source}.events", type="topic", durable=True)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn)
        for data, event_id in zip(items, ids, strict=True):
            producer.publish(
                json.dumps(data),
                exchange=exchange,
                routing_key=event_type,
                content_type="application/json",
                delivery_mode=2,
                message_id=event_id,
                type=event_type,
                headers={
                    "cloudEvents_id": event_id,
                    "cloudEvents_type": event_type,
                    "pasokh_correlation_id": f"corr-{event_id}",
                },
                declare=[exchange],
            )
    return ids


def ticket_opened(customer_id: str, department: str = "billing") -> dict:
    ticket_id = str(uuid.uuid4())
    digits = f"{uuid.uuid4().int % 10**8:08d}"
    return {
        "ticket_id": ticket_id,
        "number": f"{digits[:4]}-{digits[4:]}",
        "customer_id": customer_id,
        "organisation_id": None,
        "department": department,
        "subject": "قطعی اینترنت",
        "priority": "normal",
        "message_id": str(uuid.uuid4()),
        "body": "سلام، اینترنت قطع است.",
        "needs_follow_up": False,
        "opened_at": "2026-11-21T09:00:00+00:00",
    }


def reply_posted(ticket_id: str, author_role: str = "agent") -> dict:
    return {
        "ticket_id": ticket_id,
        "message_id": str(uuid.uuid4()),
        "author_id": "agent-7" if author_role != "customer" else "cust",
        "author_role": author_role,
        "body": "مشکل برطرف شد.",
        "posted_at": "2026-11-21T10:00:00+00:00",
    }


def ticket_closed(ticket_id: str) -> dict:
    return {
        "ticket_id": ticket_id,
        "closed_by": "agent-7",
        "closed_by_role": "agent",
        "reason": None,
        "closed_at": "2026-11-21T11:00:00+00:00",
    }


# -- reading what happened ---------------------------------------------------------------


def ticket_sms(stack, phone: str) -> list:
    """SMS that reached ``phone`` other than verification codes."""
    return [m for m in stack.provider.messages_to(phone) if m.template is None]


def only_message(stack, ticket_id: str, template: str) -> dict:
    rows = [r for r in stack.messages(ticket_id=ticket_id) if r["template"] == template]
    assert len(rows) == 1, rows
    return rows[0]


def settled(stack, ticket_id: str, template: str, states=("sent", "delivered")) -> dict:
    def done() -> bool:
        rows = [r for r in stack.messages(ticket_id=ticket_id) if r["template"] == template]
        return len(rows) == 1 and rows[0]["state"] in states

    assert wait_until(done, timeout=30), stack.messages(ticket_id=ticket_id)
    return only_message(stack, ticket_id, template)


def attempts(stack, message_id) -> list[tuple]:
    rows = stack.sql(
        "SELECT attempt, action, outcome, reason FROM notify.attempts WHERE message_id = %s"
        " ORDER BY attempt, started_at",
        (message_id,),
    )
    return [(r["attempt"], r["action"], r["outcome"], r["reason"]) for r in rows]


def opened_ticket(stack) -> tuple[dict, str]:
    """A customer with a ticket whose 'opened' SMS has arrived."""
    customer, phone = stack.register("fa")
    ticket = ticket_opened(customer)
    stack.publish("tickets", "TicketOpened", ticket)
    settled(stack, ticket["ticket_id"], "ticket_opened")
    return ticket, phone


# -- the stack ----------------------------------------------------------------------------


@dataclass
class NotifyStack:
    amqp_uri: str
    notify_db: dict
    identity_db: dict
    provider: FakeSmsProvider | None
    logs: Path
    env: dict
    metrics_port: int
    processes: dict = field(default_factory=dict)

    # processes ---------------------------------------------------------------------

    def start_notify(self) -> None:
        process = spawn(
            ["-m", "pasokh_common.runner", "notify", "services.notify.service:NotifyService"],
            self.env,
            self.logs / f"notify-{uuid.uuid4().hex[:6]}.log",
        )
        self.processes["notify"] = process
        wait_for_rpc_service(self.amqp_uri, "notify", process)

    def kill_notify(self) -> None:
        process = self.processes.pop("notify")
        process.kill()
        process.wait()

    def notify_log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs.glob("notify-*.log"))

    # talking to it -----------------------------------------------------------------

    @contextmanager
    def rpc(self) -> Iterator[Any]:
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=30) as cluster:
            yield cluster

    def publish(self, source: str, event_type: str, data: dict, event_id: str | None = None):
        return publish(self.amqp_uri, source, event_type, data, event_id)

    def register(self, language: str = "fa", phone: str | None = None) -> tuple[str, str]:
        """A customer registered through identity (whose code notify sends)."""
        phone = phone or new_phone()
        payload = {
            "kind": "person",
            "name": "سارا کریمی",
            "phone": phone,
            "password": PASSWORD,
            "language": language,
        }
        with self.rpc() as cluster:
            answer = cluster.identity.register(payload, client_address="2001:db8::1")
        return answer["user"]["id"], phone

    def sql(self, query: str, params: tuple = ()) -> list[dict]:
        with psycopg.connect(self.notify_db["admin_url"], row_factory=dict_row) as conn:
            return conn.execute(query, params).fetchall()

    def messages(self, **where: str) -> list[dict]:
        ((column, value),) = where.items()
        return self.sql(
            f"SELECT * FROM notify.messages WHERE {column} = %s ORDER BY created_at", (value,)
        )

    def metric(self, name: str, **labels: str) -> float:
        _, text = http_get(f"http://127.0.0.1:{self.metrics_port}/metrics")
        return metric_value(text, name, **labels)


def provider_env(provider: FakeSmsProvider | None, base_url: str) -> dict[str, str]:
    if provider is None:
        return {"SMS_PROVIDER": "console"}
    if isinstance(provider, FakeKavenegar):
        return {
            "SMS_PROVIDER": "kavenegar",
            "KAVENEGAR_API_KEY": provider.api_key,
            "KAVENEGAR_BASE_URL": base_url,
            "KAVENEGAR_SENDER": "10004346",
            "KAVENEGAR_VERIFY_TEMPLATE": "pasokh-verify",
            "KAVENEGAR_VERIFY_TEMPLATE_EN": "pasokh-verify-en",
        }
    if isinstance(provider, FakeTwilio):
        return {
            "SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": provider.account_sid,
            "TWILIO_AUTH_TOKEN": provider.auth_token,
            "TWILIO_FROM": "+15005550006",
            "TWILIO_BASE_URL": base_url,
        }
    raise ValueError(provider)


@contextmanager
def make_stack(
    backends: infra.Backends,
    run_id: str,
    pg_admin_url: str,
    app_role: str,
    notify_template: str,
    identity_template: str,
    logs: Path,
    provider: FakeSmsProvider | None,
    env: dict[str, str] | None = None,
) -> Iterator[NotifyStack]:
    vhost = f"{run_id}_{uuid.uuid4().hex[:6]}"
    amqp_uri = infra.create_vhost(backends.amqp_uri, vhost)
    base_url = provider.start() if provider else ""
    try:
        with (
            fresh_db(pg_admin_url, notify_template, app_role) as notify_db,
            fresh_db(pg_admin_url, identity_template, app_role) as identity_db,
        ):
            stack = NotifyStack(amqp_uri, notify_db, identity_db, provider, logs, {}, free_port())
            stack.env = {
                "AMQP_URI": amqp_uri,
                "IDENTITY_DATABASE_URL": identity_db["url"],
                "IDENTITY_JWT_SECRET": secrets.token_urlsafe(48),
                "IDENTITY_CONTACT_SECRET": secrets.token_urlsafe(24),
                "NOTIFY_DATABASE_URL": notify_db["url"],
                "NOTIFY_METRICS_PORT": str(stack.metrics_port),
                **FAST_IDENTITY,
                **FAST_NOTIFY,
                **provider_env(provider, base_url),
                **(env or {}),
            }
            identity = spawn(
                [
                    "-m",
                    "pasokh_common.runner",
                    "identity",
                    "services.identity.service:IdentityService",
                ],
                stack.env,
                logs / "identity.log",
            )
            stack.processes["identity"] = identity
            try:
                stack.start_notify()
                wait_for_rpc_service(amqp_uri, "identity", identity)
                yield stack
            finally:
                if provider:
                    provider.release_all()
                stop_all(list(stack.processes.values()))
    finally:
        if provider:
            provider.stop()
        infra.delete_vhost(backends.amqp_uri, vhost)


@pytest.fixture(scope="module")
def stack_factory(
    backends,
    run_id,
    pg_admin_url,
    app_role,
    notify_template,
    notify_identity_template,
    tmp_path_factory,
):
    """``with stack_factory(provider, env) as stack``: a module's own stack."""

    def build(provider: FakeSmsProvider | None, env: dict[str, str] | None = None):
        return make_stack(
            backends,
            run_id,
            pg_admin_url,
            app_role,
            notify_template,
            notify_identity_template,
            tmp_path_factory.mktemp("notify"),
            provider,
            env,
        )

    return build
