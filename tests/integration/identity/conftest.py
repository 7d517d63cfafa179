"""Identity fixtures: a database with identity's migrations (fresh per test, or one per
module for a running service), and the identity service with the notify double as
real processes, started once per test module.

A module may set ``IDENTITY_ENV`` (a dict of environment variables) to run its
service with other settings, e.g. a short code lifetime.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common.db import ConnectionPool

import psycopg
import pytest
from psycopg.rows import dict_row

from services.identity.application import IdentityApplication
from services.identity.config import Argon2Params, IdentityConfig
from tests.integration.identity.support import Clock, RecordingSender
from tests.support import infra
from tests.support.processes import free_port, spawn, stop, wait_for_rpc_service

REPO_ROOT = Path(__file__).resolve().parents[3]
IDENTITY_MIGRATIONS = REPO_ROOT / "services" / "identity" / "migrations"
# argon2 at a cost fit for tests (production keeps the 64 MiB default).
FAST_ARGON2 = {
    "IDENTITY_ARGON2_TIME_COST": "1",
    "IDENTITY_ARGON2_MEMORY_KIB": "8192",
    "IDENTITY_ARGON2_PARALLELISM": "1",
}


@pytest.fixture(scope="session")
def identity_template(pg_admin_url: str, run_id: str, app_role: str) -> Iterator[str]:
    """A database with the identity migrations applied, cloned for each test."""
    with infra.migrated_template(
        pg_admin_url, f"{run_id}_identity_tpl", "identity", app_role
    ) as name:
        yield name


fresh_identity_db = infra.fresh_database


@pytest.fixture
def identity_db(pg_admin_url: str, identity_template: str, app_role: str) -> Iterator[dict]:
    """A fresh identity database: ``url`` as the app role, ``admin_url`` as owner."""
    with fresh_identity_db(pg_admin_url, identity_template, app_role) as db:
        yield db


@pytest.fixture
def identity_pool(identity_db: dict) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(identity_db["url"], max_size=10)
    yield pool
    pool.close()


@dataclass
class IdentityStack:
    amqp_uri: str
    db: dict
    outbox: Path
    jwt_secret: str
    contact_secret: str
    metrics_port: int
    logs: Path
    env: dict


@pytest.fixture(scope="module")
def identity_stack(
    request: pytest.FixtureRequest,
    pg_admin_url: str,
    identity_template: str,
    app_role: str,
    amqp_uri: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[IdentityStack]:
    """identity and the notify double as processes, on a database of this module's."""
    logs = tmp_path_factory.mktemp("identity")
    with fresh_identity_db(pg_admin_url, identity_template, app_role) as db:
        stack = IdentityStack(
            amqp_uri=amqp_uri,
            db=db,
            outbox=logs / "notify-outbox.jsonl",
            jwt_secret=secrets.token_urlsafe(48),
            contact_secret=secrets.token_urlsafe(24),
            metrics_port=free_port(),
            logs=logs,
            env={},
        )
        stack.env = {
            "AMQP_URI": amqp_uri,
            "IDENTITY_DATABASE_URL": db["url"],
            "IDENTITY_JWT_SECRET": stack.jwt_secret,
            "IDENTITY_CONTACT_SECRET": stack.contact_secret,
            "IDENTITY_METRICS_PORT": str(stack.metrics_port),
            "NOTIFY_DOUBLE_OUTBOX": str(stack.outbox),
            **FAST_ARGON2,
            **getattr(request.module, "IDENTITY_ENV", {}),
        }
        notify = spawn(
            ["-m", "pasokh_common.runner", "notify", "tests.support.notify_double:NotifyDouble"],
            stack.env,
            logs / "notify.log",
        )
        identity = spawn(
            ["-m", "pasokh_common.runner", "identity", "services.identity.service:IdentityService"],
            stack.env,
            logs / "identity.log",
        )
        try:
            wait_for_rpc_service(amqp_uri, "notify", notify)
            wait_for_rpc_service(amqp_uri, "identity", identity)
            yield stack
        finally:
            stop(identity)
            stop(notify)


# -- the application layer in-process, with a movable clock ----------------------------


@dataclass
class AppUnderTest:
    app: IdentityApplication
    clock: Clock
    sender: RecordingSender
    pool: ConnectionPool
    db: dict

    def events(self, event_type: str | None = None) -> list[dict]:
        """Identity's log as stored, read as the owner."""
        with psycopg.connect(self.db["admin_url"], row_factory=dict_row) as conn:
            rows = conn.execute(
                "SELECT stream_id, version, event_type, data, metadata"
                " FROM identity.events ORDER BY position"
            ).fetchall()
        return [r for r in rows if event_type is None or r["event_type"] == event_type]


@pytest.fixture
def make_identity_app(identity_db: dict, identity_pool: ConnectionPool):
    """Builds the application on this test's database; keyword arguments replace
    fields of the IdentityConfig (e.g. ``code_policy=CodePolicy(...)``)."""

    def make(**overrides) -> AppUnderTest:
        settings = {
            "jwt_secret": secrets.token_urlsafe(48),
            "argon2": Argon2Params(time_cost=1, memory_kib=8192, parallelism=1),
            "contact_secret": "notify-only-secret-for-tests",
            **overrides,
        }
        config = IdentityConfig(**settings)
        clock, sender = Clock(), RecordingSender()
        app = IdentityApplication(identity_pool, config, sender, clock=clock)
        return AppUnderTest(app, clock, sender, identity_pool, identity_db)

    return make


@pytest.fixture
def identity_app(make_identity_app) -> AppUnderTest:
    return make_identity_app()
