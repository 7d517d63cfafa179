"""Prepares the local database for ``bin/start`` and prints the environment to use.

Creates the ``pasokh`` database if missing and prints ``export`` lines so that each
service connects as its own unprivileged role while migrations run as the owner.
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
import urllib.parse
from pathlib import Path

import pasokh_common  # noqa: F401

import psycopg
from psycopg import sql

DATABASE = "pasokh"
SERVICES = {
    "tickets": "pasokh_tickets_app",
    "identity": "pasokh_identity_app",
    "sla": "pasokh_sla_app",
    "notify": "pasokh_notify_app",
    "webhooks": "pasokh_webhooks_app",
}
# Local secrets live in .run/ (git-ignored), made once per checkout: never in the repo.
SECRETS = ("IDENTITY_JWT_SECRET", "IDENTITY_CONTACT_SECRET")
RUN_DIR = Path(__file__).resolve().parent.parent / ".run"


def with_db(url: str, dbname: str, user: str | None = None) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    netloc = parts.netloc
    if user is not None:
        if "user" in query:
            query["user"] = [user]
        else:
            netloc = f"{user}@{netloc.rsplit('@', 1)[-1]}"
    return urllib.parse.urlunsplit(
        (parts.scheme, netloc, "/" + dbname, urllib.parse.urlencode(query, doseq=True), "")
    )


def main(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        query = "SELECT 1 FROM pg_database WHERE datname = %s"
        exists = conn.execute(query, (DATABASE,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    owner_url = with_db(admin_url, DATABASE)
    for service, role in SERVICES.items():
        prefix = service.upper()
        print(f"export {prefix}_MIGRATION_DATABASE_URL={shlex.quote(owner_url)}")
        print(f"export {prefix}_APP_ROLE={shlex.quote(role)}")
        print(f"export {prefix}_DATABASE_URL={shlex.quote(with_db(admin_url, DATABASE, role))}")
    RUN_DIR.mkdir(exist_ok=True)
    for name in SECRETS:
        if os.environ.get(name):
            continue
        path = RUN_DIR / name.lower()
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
            path.chmod(0o600)
        print(f"export {name}={shlex.quote(path.read_text(encoding='utf-8').strip())}")


if __name__ == "__main__":
    main(sys.argv[1])
