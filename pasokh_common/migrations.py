"""Versioned schema migrations: numbered SQL files applied once each, in order.

Each service keeps ``migrations/NNNN_name.sql`` beside its code and its own
``<schema>.schema_migrations`` table. The runner takes an advisory lock so that two
deploy jobs racing each other apply nothing twice. ``{app_role}`` in a file is
replaced by the (quoted) role the service runs as, so grants are part of the
migration, not a manual step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pasokh_common  # noqa: F401

import psycopg
from psycopg import sql

_FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_INCLUDE = re.compile(r"^-- pasokh:include (\w+)\s*$", re.MULTILINE)


def _includes() -> dict[str, Callable[[str], str]]:
    """Shared DDL a migration may pull in with ``-- pasokh:include NAME``: written once,
    applied in each service's own schema."""
    from pasokh_common.consumer_sql import processed_events_ddl
    from pasokh_common.eventlog.ddl import event_chain_ddl, event_log_ddl
    from pasokh_common.eventlog.replay_jobs import replay_jobs_ddl

    return {
        "event_log": event_log_ddl,
        "event_chain": event_chain_ddl,
        "processed_events": processed_events_ddl,
        "replay_jobs": replay_jobs_ddl,
    }


def expand_includes(text: str, schema: str) -> str:
    includes = _includes()

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in includes:
            raise ValueError(f"unknown migration include {name!r}")
        return includes[name](schema)

    return _INCLUDE.sub(replace, text)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def discover(directory: Path) -> list[Migration]:
    found = []
    for path in sorted(directory.iterdir()):
        match = _FILE_PATTERN.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration numbers in {directory}")
    return found


def ensure_role(dsn: str, role: str) -> None:
    """Create the service's login role if missing (local runs and tests; production
    roles come from the operator's secret)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))


def apply(dsn: str, schema: str, directory: Path, app_role: str = "") -> list[Migration]:
    """Apply pending migrations; returns those applied now."""
    migrations = discover(directory)
    applied_now: list[Migration] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        role = app_role or conn.execute("SELECT current_user").fetchone()[0]
        lock_key = f"pasokh-migrations-{schema}"
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (lock_key,))
        try:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
                    " version integer PRIMARY KEY, name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                ).format(sql.Identifier(schema))
            )
            done = {
                row[0]
                for row in conn.execute(
                    sql.SQL("SELECT version FROM {}.schema_migrations").format(
                        sql.Identifier(schema)
                    )
                )
            }
            for migration in migrations:
                if migration.version in done:
                    continue
                text = expand_includes(migration.path.read_text(encoding="utf-8"), schema)
                text = text.replace("{app_role}", sql.Identifier(role).as_string(conn))
                with conn.transaction():
                    conn.execute(text)
                    conn.execute(
                        sql.SQL(
                            "INSERT INTO {}.schema_migrations (version, name) VALUES (%s, %s)"
                        ).format(sql.Identifier(schema)),
                        (migration.version, migration.name),
                    )
                applied_now.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lock_key,))
    return applied_now
