"""Where the tests get PostgreSQL and RabbitMQ, and how each run keeps its own.

Order of preference: the URLs in PASOKH_TEST_DATABASE_URL / PASOKH_TEST_AMQP_URI
(CI and developer machines), else testcontainers when a Docker engine answers,
else a clear message of what is missing. Every run creates its own databases, role
and RabbitMQ vhost and removes them afterwards, so two runs never meet.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pasokh_common  # noqa: F401

import psycopg
from psycopg import sql

MISSING_SERVICES = (
    "Pasokh's integration tests need PostgreSQL and RabbitMQ. Set PASOKH_TEST_DATABASE_URL "
    "(e.g. postgresql://postgres@127.0.0.1:5432/postgres, a role that may create databases "
    "and roles) and PASOKH_TEST_AMQP_URI (e.g. amqp://guest:guest@127.0.0.1:5672/), or run "
    "a Docker engine for testcontainers. `bin/test` sets both for local services."
)


class ServicesUnavailable(RuntimeError):
    pass


@dataclass
class Backends:
    database_url: str
    amqp_uri: str
    cleanup: list


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def discover_backends() -> Backends:
    database_url = os.environ.get("PASOKH_TEST_DATABASE_URL", "").strip()
    amqp_uri = os.environ.get("PASOKH_TEST_AMQP_URI", "").strip()
    cleanup: list = []
    if database_url and amqp_uri:
        return Backends(database_url, amqp_uri, cleanup)
    if not _docker_answers():
        raise ServicesUnavailable(MISSING_SERVICES)
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    if not database_url:
        pg = PostgresContainer("postgres:15", driver=None).start()
        cleanup.append(pg.stop)
        database_url = pg.get_connection_url()
    if not amqp_uri:
        mq = RabbitMqContainer("rabbitmq:3.10-management").start()
        cleanup.append(mq.stop)
        params = mq.get_connection_params()
        amqp_uri = f"amqp://guest:guest@{params.host}:{params.port}/"
    return Backends(database_url, amqp_uri, cleanup)


def with_database(url: str, dbname: str, user: str | None = None) -> str:
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        hostport = netloc.rsplit("@", 1)[-1]
        netloc = f"{user}@{hostport}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, "/" + dbname, parts.query, ""))


def create_database(admin_url: str, name: str, template: str | None = None) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        conn.execute(query)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def drop_role(admin_url: str, role: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


# -- RabbitMQ vhosts ---------------------------------------------------------------


def _management_request(amqp_uri: str, method: str, path: str, body: dict | None = None) -> None:
    parts = urllib.parse.urlsplit(amqp_uri)
    api = os.environ.get("PASOKH_TEST_RABBITMQ_API", f"http://{parts.hostname}:15672")
    user = urllib.parse.unquote(parts.username or "guest")
    password = urllib.parse.unquote(parts.password or "guest")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(api + path, data=data, method=method)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header("Content-Type", "application/json")
    urllib.request.urlopen(request, timeout=10).close()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def broker_connections(amqp_uri: str, *markers: str) -> list[str]:
    """The broker's ids of the connections to ``amqp_uri``'s vhost whose client
    properties (the connection name a client gives) contain any of ``markers``."""
    vhost = urllib.parse.unquote(urllib.parse.urlsplit(amqp_uri).path[1:]) or "/"
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "--no-table-headers",
         "pid", "vhost", "client_properties"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    found = []
    for line in listing.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[1] == vhost and any(m in fields[2] for m in markers):
            found.append(fields[0])
    return found


def close_broker_connections(ids: list[str], reason: str) -> None:
    """Have the broker close these connections, as a broker restart or a network cut
    would look to their clients."""
    for connection_id in ids:
        _rabbitmqctl("close_connection", connection_id, reason)


def create_vhost(amqp_uri: str, vhost: str) -> str:
    """Create ``vhost``; return the AMQP URI that points into it."""
    parts = urllib.parse.urlsplit(amqp_uri)
    user = urllib.parse.unquote(parts.username or "guest")
    quoted = urllib.parse.quote(vhost, safe="")
    try:
        _management_request(amqp_uri, "PUT", f"/api/vhosts/{quoted}")
        _management_request(
            amqp_uri,
            "PUT",
            f"/api/permissions/{quoted}/{urllib.parse.quote(user, safe='')}",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )
    except (urllib.error.URLError, OSError):
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + quoted, "", ""))


def delete_vhost(amqp_uri: str, vhost: str) -> None:
    quoted = urllib.parse.quote(vhost, safe="")
    try:
        _management_request(amqp_uri, "DELETE", f"/api/vhosts/{quoted}")
    except (urllib.error.URLError, OSError):
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            _rabbitmqctl("delete_vhost", vhost)


def delete_queues(amqp_uri: str, names: list[str]) -> None:
    """Remove a consumer's queues a test declared. Bound to every event of an exchange,
    a queue left behind would collect the rest of a shared vhost's events for a
    consumer that is gone."""
    from kombu import Connection

    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        for name in names:
            channel.queue_delete(name)


# -- per-service databases -------------------------------------------------------------

SERVICES_ROOT = Path(__file__).resolve().parents[2] / "services"


@contextmanager
def migrated_template(admin_url: str, name: str, service: str, app_role: str) -> Iterator[str]:
    """A database with ``service``'s migrations applied, to clone per test (cloning a
    template is much faster than migrating again)."""
    from pasokh_common import migrations

    create_database(admin_url, name)
    try:
        migrations.apply(
            with_database(admin_url, name),
            service,
            SERVICES_ROOT / service / "migrations",
            app_role,
        )
        yield name
    finally:
        drop_database(admin_url, name)


@contextmanager
def fresh_database(
    admin_url: str, template: str, app_role: str, url_suffix: str = ""
) -> Iterator[dict]:
    """A clone of ``template``: ``url`` connects as the app role, ``admin_url`` as the
    owner; dropped afterwards."""
    name = f"{template.removesuffix('_tpl')}_{uuid.uuid4().hex[:8]}"
    create_database(admin_url, name, template=template)
    try:
        yield {
            "name": name,
            "url": with_database(admin_url, name, user=app_role) + url_suffix,
            "admin_url": with_database(admin_url, name),
        }
    finally:
        drop_database(admin_url, name)


@contextmanager
def scratch_vhost(base_amqp_uri: str, name: str) -> Iterator[str]:
    """A vhost for one stack, deleted afterwards; yields its AMQP URI."""
    uri = create_vhost(base_amqp_uri, name)
    try:
        yield uri
    finally:
        delete_vhost(base_amqp_uri, name)
