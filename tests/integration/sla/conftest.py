"""SLA fixtures: a database with sla's migrations (fresh per test from a template), the
application in-process on a clock the test moves, and the sla service as two real
processes (plus the sla relay) for the module that needs them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common.db import ConnectionPool

import psycopg
import pytest
from psycopg.rows import dict_row

from services.sla.application import SlaApplication
from services.sla.config import ALLOW_OFFSET_VALUE, SlaConfig
from tests.integration.sla.support import MovableClock, delivered, tehran
from tests.support import infra
from tests.support.processes import free_port, spawn, stop, wait_for_rpc_service, wait_until

REPO_ROOT = Path(__file__).resolve().parents[3]
SLA_MIGRATIONS = REPO_ROOT / "services" / "sla" / "migrations"


@pytest.fixture(scope="session")
def sla_template(pg_admin_url: str, run_id: str, app_role: str) -> Iterator[str]:
    with infra.migrated_template(pg_admin_url, f"{run_id}_sla_tpl", "sla", app_role) as name:
        yield name


fresh_sla_db = infra.fresh_database


@pytest.fixture
def sla_db(pg_admin_url: str, sla_template: str, app_role: str) -> Iterator[dict]:
    with fresh_sla_db(pg_admin_url, sla_template, app_role) as db:
        yield db


@pytest.fixture
def sla_pool(sla_db: dict) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(sla_db["url"], max_size=10)
    yield pool
    pool.close()


def read_events(admin_url: str, event_type: str | None = None) -> list[dict]:
    """sla's log as stored, read as the owner, in log order."""
    with psycopg.connect(admin_url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "SELECT stream_id, version, event_type, data, metadata FROM sla.events"
            " ORDER BY position"
        ).fetchall()
    return [r for r in rows if event_type is None or r["event_type"] == event_type]


@dataclass
class AppUnderTest:
    app: SlaApplication
    clock: MovableClock
    pool: ConnectionPool
    db: dict

    def receive(self, event: tuple, event_id: str | None = None) -> str:
        with self.pool.transaction() as tx:
            return self.app.intake.receive(tx, delivered(event, event_id))

    def events(self, event_type: str | None = None) -> list[dict]:
        return read_events(self.db["admin_url"], event_type)

    def ticket_events(self, ticket_id: str, event_type: str | None = None) -> list[dict]:
        return [e for e in self.events(event_type) if e["stream_id"] == f"ticket-{ticket_id}"]


@pytest.fixture
def sla_app(sla_db: dict, sla_pool: ConnectionPool, tmp_path: Path) -> AppUnderTest:
    """The application on this test's database; the clock starts on Wednesday
    2026-03-18 18:00 Tehran (after hours, the day before the Nowruz 1405 break)."""
    overrides = tmp_path / "holiday-overrides.json"
    overrides.write_text('{"version": 1, "years": {}}', encoding="utf-8")
    config = SlaConfig(holiday_overrides_path=overrides, scan_batch_size=50)
    clock = MovableClock(tehran(2026, 3, 18, 18))
    return AppUnderTest(SlaApplication(sla_pool, config, clock), clock, sla_pool, sla_db)


# -- the service as real processes ----------------------------------------------------

# The stack's clock: Wednesday 2026-03-18 22:00 Tehran at start (after hours, the
# evening before the Nowruz 1405 break), so what happens at night can be seen.
STACK_START = tehran(2026, 3, 18, 22)
REPLICAS = 2


@dataclass
class SlaStack:
    amqp_uri: str
    db: dict
    offset: int
    metrics_ports: list[int]
    logs: Path
    env: dict
    processes: list

    def start_replica(self, index: int) -> None:
        """(Re)start replica ``index`` as its own process and wait until it consumes."""
        self.processes[index] = spawn(
            ["-m", "pasokh_common.runner", "sla", "services.sla.service:SlaService"],
            {**self.env, "SLA_METRICS_PORT": str(self.metrics_ports[index])},
            self.logs / f"sla-{index}-{time.monotonic_ns()}.log",
        )
        wait_for_rpc_service(self.amqp_uri, "sla", self.processes[index])

    def now(self) -> int:
        """The services' "now" (they run on the shifted test clock)."""
        return int(time.time()) + self.offset

    def events(self, event_type: str | None = None) -> list[dict]:
        return read_events(self.db["admin_url"], event_type)

    def ticket_events(self, ticket_id: str, event_type: str | None = None) -> list[dict]:
        return [e for e in self.events(event_type) if e["stream_id"] == f"ticket-{ticket_id}"]


def _consumers(amqp_uri: str, queue: str) -> int:
    from amqp.exceptions import NotFound
    from kombu import Connection

    try:
        with Connection(amqp_uri, connect_timeout=3) as conn:
            return conn.channel().queue_declare(queue, passive=True)[2]
    except (NotFound, OSError):
        return 0


@pytest.fixture(scope="module")
def sla_stack(
    pg_admin_url: str,
    sla_template: str,
    app_role: str,
    amqp_uri: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SlaStack]:
    """Two sla service processes and the sla relay, on a database of this module's, with
    the topology declared first as the deploy step does."""
    from pasokh_common.consumer import declare_topology

    from kombu import Connection

    from services.sla.service import SlaService

    logs = tmp_path_factory.mktemp("sla")
    # Declared exactly as `pasokh topology` declares them (the default retry delays,
    # which RabbitMQ would refuse to redeclare otherwise), and started empty.
    queues = declare_topology(amqp_uri, SlaService)
    with Connection(amqp_uri) as conn:
        conn.channel().queue_purge(queues[0])
    with fresh_sla_db(pg_admin_url, sla_template, app_role) as db:
        offset = STACK_START - int(time.time())
        ports = [free_port() for _ in range(REPLICAS)]
        env = {
            "AMQP_URI": amqp_uri,
            "SLA_DATABASE_URL": db["url"],
            "SLA_TIMER_INTERVAL_SECONDS": "0.3",
            "SLA_CLOCK_OFFSET_SECONDS": str(offset),
            "SLA_ALLOW_CLOCK_OFFSET": ALLOW_OFFSET_VALUE,
            "RELAY_IDLE_SLEEP": "0.05",
        }
        stack = SlaStack(amqp_uri, db, offset, ports, logs, env, [None] * REPLICAS)
        relay = spawn(
            ["-m", "pasokh_common.eventlog.relay_main", "--service", "sla"],
            env,
            logs / "sla-relay.log",
        )
        try:
            for index in range(REPLICAS):
                stack.start_replica(index)
            assert wait_until(lambda: _consumers(amqp_uri, "rpc-sla") == REPLICAS, timeout=60)
            assert wait_until(lambda: _consumers(amqp_uri, queues[0]) == REPLICAS, timeout=60)
            yield stack
        finally:
            for process in stack.processes:
                if process is not None:
                    stop(process)
            stop(relay)
            # Bound to every tickets event: left behind, it would collect the rest of
            # the run's events for a consumer that is gone.
            with Connection(amqp_uri) as conn:
                channel = conn.channel()
                for name in queues:
                    channel.queue_delete(name)
