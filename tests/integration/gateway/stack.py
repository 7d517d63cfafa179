"""The whole system that exists today, as real processes, for tests through HTTP:
the notify double (identity sends codes to it), identity, tickets, both relays and
the gateway, on databases and a RabbitMQ vhost of their own.

Started once per test package (a gateway test module, the e2e suite): the services
take a few seconds to start, the tests themselves milliseconds. Tests stay
independent by using their own phone numbers, client addresses (X-Forwarded-For,
trusted with ``GATEWAY_TRUSTED_PROXY_HOPS=1``) and departments.
"""

from __future__ import annotations

import secrets
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common import migrations
from pasokh_common.consumer import declare_topology

from services.tickets.service import TicketsService
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

IDENTITY_MIGRATIONS = REPO_ROOT / "services" / "identity" / "migrations"
PASSWORD = "a long enough secret"
# argon2 at a cost fit for tests (production keeps the 64 MiB default).
FAST_ARGON2 = {
    "IDENTITY_ARGON2_TIME_COST": "1",
    "IDENTITY_ARGON2_MEMORY_KIB": "8192",
    "IDENTITY_ARGON2_PARALLELISM": "1",
}
SERVICES = {
    "notify": "tests.support.notify_double:NotifyDouble",
    "identity": "services.identity.service:IdentityService",
    "tickets": "services.tickets.service:TicketsService",
}


@dataclass
class Stack:
    base_url: str
    amqp_uri: str
    identity_db: dict
    tickets_db: dict
    outbox: Path
    logs: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def create_admin(self, phone: str, username: str, password: str = PASSWORD) -> None:
        create_first_admin(self.env, phone, username, password)


@contextmanager
def _database(admin_url: str, name: str, app_role: str, template: str | None = None):
    infra.create_database(admin_url, name, template=template)
    try:
        yield {
            "name": name,
            "url": infra.with_database(admin_url, name, user=app_role),
            "admin_url": infra.with_database(admin_url, name),
        }
    finally:
        infra.drop_database(admin_url, name)


@contextmanager
def running_stack(
    *,
    run_id: str,
    pg_admin_url: str,
    base_amqp_uri: str,
    app_role: str,
    tickets_template: str,
    logs: Path,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    tag = f"{run_id}_gw{uuid.uuid4().hex[:6]}"
    with ExitStack() as cleanup:
        amqp_uri = cleanup.enter_context(infra.scratch_vhost(base_amqp_uri, tag))
        identity_db = cleanup.enter_context(_database(pg_admin_url, f"{tag}_identity", app_role))
        migrations.apply(identity_db["admin_url"], "identity", IDENTITY_MIGRATIONS, app_role)
        tickets_db = cleanup.enter_context(
            _database(pg_admin_url, f"{tag}_tickets", app_role, template=tickets_template)
        )
        port = free_port()
        env = {
            "AMQP_URI": amqp_uri,
            "IDENTITY_DATABASE_URL": identity_db["url"],
            "TICKETS_DATABASE_URL": tickets_db["url"],
            "IDENTITY_JWT_SECRET": secrets.token_urlsafe(48),
            "IDENTITY_CONTACT_SECRET": secrets.token_urlsafe(24),
            "IDENTITY_CODE_COOLDOWN_SECONDS": "0",
            "NOTIFY_DOUBLE_OUTBOX": str(logs / "notify-outbox.jsonl"),
            "GATEWAY_HTTP_PORT": str(port),
            "GATEWAY_HTTP_ADDRESS": f"127.0.0.1:{port}",
            "GATEWAY_TRUSTED_PROXY_HOPS": "1",
            "NAMEKO_MAX_WORKERS": "20",
            "RELAY_IDLE_SLEEP": "0.02",
            **FAST_ARGON2,
            **(extra_env or {}),
        }
        stack = Stack(
            base_url=f"http://127.0.0.1:{port}",
            amqp_uri=amqp_uri,
            identity_db=identity_db,
            tickets_db=tickets_db,
            outbox=logs / "notify-outbox.jsonl",
            logs=logs,
            env=env,
        )

        cleanup.callback(lambda: stop_all(stack.processes.values()))

        def start(name: str, argv: list[str]) -> subprocess.Popen:
            process = spawn(argv, env, logs / f"{name}.log")
            stack.processes[name] = process
            return process

        for name, spec in SERVICES.items():
            start(name, ["-m", "pasokh_common.runner", name, spec])
        for name in SERVICES:
            wait_for_rpc_service(amqp_uri, name, stack.processes[name])
        # Consumers' queues exist before anything is published (the deploy-time step).
        declare_topology(amqp_uri, TicketsService)
        start("tickets-relay", ["-m", "pasokh_common.eventlog.relay_main"])
        start(
            "identity-relay", ["-m", "pasokh_common.eventlog.relay_main", "--service", "identity"]
        )
        gateway = start(
            "gateway", ["-m", "pasokh_common.runner", "gateway", "gateway.service:GatewayService"]
        )

        def gateway_ready() -> bool:
            if gateway.poll() is not None:
                raise RuntimeError(f"gateway exited with {gateway.returncode}; see {logs}")
            return http_status(stack.base_url + "/readyz") == 200

        if not wait_until(gateway_ready, timeout=60, interval=0.2):
            raise TimeoutError(f"the gateway did not become ready; see {logs}")
        yield stack
