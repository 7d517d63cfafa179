"""The whole of Pasokh as real processes, for the end-to-end story: identity, tickets,
sla, notify (console provider), the relays of all four and the gateway, each on a
database of its own and all on a RabbitMQ vhost of their own.

Started once for the e2e package, the way an operator starts it: migrations, then the
consumers' topology (``python -m pasokh_common.cli topology``, so every queue exists
before a relay publishes), then the services, the relays and the gateway. Tests speak
HTTP to the gateway; what a phone would receive is read from notify's console outbox
(``notify.outbox``), and sla is asked over RPC (the gateway has no SLA route yet).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pasokh_common  # noqa: F401  (before psycopg)

import psycopg
from nameko.standalone.rpc import ClusterRpcProxy
from psycopg.rows import dict_row

from tests.support import infra
from tests.support.processes import (
    REPO_ROOT,
    create_first_admin,
    free_port,
    http_status,
    spawn,
    stop_all,
    wait_for_rpc_service,
    wait_until,
)

PASSWORD = "a long enough secret"
MIGRATED = ("identity", "tickets", "sla", "notify")
SERVICES = {
    "identity": "services.identity.service:IdentityService",
    "tickets": "services.tickets.service:TicketsService",
    "sla": "services.sla.service:SlaService",
    "notify": "services.notify.service:NotifyService",
}
RELAYS = ("tickets", "identity", "sla", "notify")
# Test-speed settings only: argon2 at a cost fit for tests, notify polling often and
# without a rate limit. Retry delays stay the defaults the topology is declared with.
FAST = {
    "IDENTITY_ARGON2_TIME_COST": "1",
    "IDENTITY_ARGON2_MEMORY_KIB": "8192",
    "IDENTITY_ARGON2_PARALLELISM": "1",
    "IDENTITY_CODE_COOLDOWN_SECONDS": "0",
    "NOTIFY_POLL_SECONDS": "0.05",
    "NOTIFY_RATE_LIMIT_PER_SECOND": "0",
    "NOTIFY_DELIVERY_POLL_SECONDS": "0",
    "SLA_TIMER_INTERVAL_SECONDS": "0.5",
    "NAMEKO_MAX_WORKERS": "20",
    "RELAY_IDLE_SLEEP": "0.02",
}
_CODE = re.compile(r"\b(\d{4,10})\b")


@dataclass
class Stack:
    base_url: str
    amqp_uri: str
    databases: dict[str, dict]
    logs: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def create_admin(self, phone: str, username: str, password: str = PASSWORD) -> None:
        create_first_admin(self.env, phone, username, password)

    # what a phone received: the console provider's outbox ---------------------------

    def sql(self, service: str, query: str, params: tuple = ()) -> list[dict]:
        with psycopg.connect(self.databases[service]["admin_url"], row_factory=dict_row) as conn:
            return conn.execute(query, params).fetchall()

    def sms_to(self, phone: str, template: str | None = None) -> list[dict]:
        """Every SMS the console provider 'sent' to ``phone``, oldest first."""
        rows = self.sql(
            "notify",
            "SELECT outbox_id, template, body, created_at FROM notify.outbox"
            " WHERE recipient = %s ORDER BY outbox_id",
            (phone,),
        )
        return [r for r in rows if template is None or r["template"] == template]

    def wait_for_sms(self, phone: str, template: str, count: int = 1) -> list[dict]:
        assert wait_until(lambda: len(self.sms_to(phone, template)) >= count, timeout=30), (
            f"no {template} SMS to {phone}: {self.sms_to(phone)}"
        )
        return self.sms_to(phone, template)

    def latest_code(self, phone: str, template: str = "verification_code") -> str:
        """The code in the newest verification SMS to ``phone``, as its owner reads it."""
        body = self.wait_for_sms(phone, template)[-1]["body"]
        match = _CODE.search(body)
        assert match, body
        return match.group(1)

    # asking sla -----------------------------------------------------------------------

    def sla(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=30) as cluster:
            return getattr(cluster.sla, method)(*args, **kwargs)


@contextmanager
def _database(admin_url: str, name: str, service: str, app_role: str) -> Iterator[dict]:
    from pasokh_common import migrations

    infra.create_database(admin_url, name)
    try:
        owner_url = infra.with_database(admin_url, name)
        migrations.apply(owner_url, service, REPO_ROOT / "services" / service / "migrations",
                         app_role)  # fmt: skip
        yield {
            "name": name,
            "url": infra.with_database(admin_url, name, user=app_role),
            "admin_url": owner_url,
        }
    finally:
        infra.drop_database(admin_url, name)


def _run(argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, cwd=REPO_ROOT,
        env={**os.environ, **env}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@contextmanager
def running_stack(
    *, run_id: str, pg_admin_url: str, base_amqp_uri: str, app_role: str, logs: Path
) -> Iterator[Stack]:
    tag = f"{run_id}_e2e{uuid.uuid4().hex[:6]}"
    with ExitStack() as cleanup:
        amqp_uri = cleanup.enter_context(infra.scratch_vhost(base_amqp_uri, tag))
        databases = {
            service: cleanup.enter_context(
                _database(pg_admin_url, f"{tag}_{service}", service, app_role)
            )
            for service in MIGRATED
        }
        port = free_port()
        env = {
            "AMQP_URI": amqp_uri,
            **{f"{s.upper()}_DATABASE_URL": db["url"] for s, db in databases.items()},
            "IDENTITY_JWT_SECRET": secrets.token_urlsafe(48),
            # identity answers notify's get_contact only with this shared secret.
            "IDENTITY_CONTACT_SECRET": secrets.token_urlsafe(24),
            "SMS_PROVIDER": "console",
            "PASOKH_PUBLIC_URL": "https://help.example.ir",
            "GATEWAY_HTTP_PORT": str(port),
            "GATEWAY_HTTP_ADDRESS": f"127.0.0.1:{port}",
            "GATEWAY_TRUSTED_PROXY_HOPS": "1",
            **FAST,
        }
        stack = Stack(f"http://127.0.0.1:{port}", amqp_uri, databases, logs, env)
        cleanup.callback(lambda: stop_all(stack.processes.values()))

        def start(name: str, argv: list[str]) -> subprocess.Popen:
            process = spawn(argv, env, logs / f"{name}.log")
            stack.processes[name] = process
            return process

        # The deploy-time step: every consumer's queue exists before anything publishes.
        _run(["-m", "pasokh_common.cli", "topology"], env)
        for name, spec in SERVICES.items():
            start(name, ["-m", "pasokh_common.runner", name, spec])
        for name in RELAYS:
            start(f"{name}-relay", ["-m", "pasokh_common.eventlog.relay_main", "--service", name])
        gateway = start(
            "gateway", ["-m", "pasokh_common.runner", "gateway", "gateway.service:GatewayService"]
        )
        for name in SERVICES:
            wait_for_rpc_service(amqp_uri, name, stack.processes[name])

        def gateway_ready() -> bool:
            if gateway.poll() is not None:
                raise RuntimeError(f"gateway exited with {gateway.returncode}; see {logs}")
            return http_status(stack.base_url + "/readyz") == 200

        if not wait_until(gateway_ready, timeout=60, interval=0.2):
            raise TimeoutError(f"the gateway did not become ready; see {logs}")
        for name, process in stack.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {logs}")
        yield stack
