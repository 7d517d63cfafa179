"""Shared fixtures: one database server, role and vhost per run; one database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common import migrations
from pasokh_common.db import ConnectionPool

import pytest

from tests.support import infra

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def run_id() -> str:
    return f"pasokh_t{os.getpid()}_{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def backends() -> Iterator[infra.Backends]:
    try:
        found = infra.discover_backends()
    except infra.ServicesUnavailable as exc:
        pytest.exit(str(exc), returncode=3)
    yield found
    for stop in found.cleanup:
        stop()


@pytest.fixture(scope="session")
def pg_admin_url(backends: infra.Backends) -> str:
    return backends.database_url


@pytest.fixture(scope="session")
def app_role(pg_admin_url: str, run_id: str) -> Iterator[str]:
    """The unprivileged role services run as (no UPDATE/DELETE on the log)."""
    role = f"{run_id}_app"
    migrations.ensure_role(pg_admin_url, role)
    yield role
    infra.drop_role(pg_admin_url, role)


@pytest.fixture(scope="session")
def amqp_uri(backends: infra.Backends, run_id: str) -> Iterator[str]:
    """A RabbitMQ vhost of this run's own."""
    uri = infra.create_vhost(backends.amqp_uri, run_id)
    yield uri
    infra.delete_vhost(backends.amqp_uri, run_id)


@pytest.fixture(scope="session")
def tickets_template(pg_admin_url: str, run_id: str, app_role: str) -> Iterator[str]:
    """A database with the tickets migrations applied, cloned for each test."""
    with infra.migrated_template(
        pg_admin_url, f"{run_id}_tickets_tpl", "tickets", app_role
    ) as name:
        yield name


@pytest.fixture
def tickets_db(pg_admin_url: str, tickets_template: str, app_role: str) -> Iterator[dict]:
    """A fresh tickets database: ``url`` connects as the app role, ``admin_url`` as owner."""
    with infra.fresh_database(pg_admin_url, tickets_template, app_role) as db:
        yield db


@pytest.fixture
def tickets_pool(tickets_db: dict) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(tickets_db["url"], max_size=20)
    yield pool
    pool.close()
