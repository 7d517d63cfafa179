"""Loop benchmark of the tickets command path: openings and customers' replies through
``TicketCommands`` with a real pool, on a scratch database of its own.

Reports the process's CPU and the wall time per command (one client, sequential, so
the CPU is the command path's own), and the statements PostgreSQL ran per command
(``pg_stat_statements`` of the scratch database, BEGIN and COMMIT included).

    PASOKH_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python -m benchmarks.tickets_commands_bench --count 500

``BENCH_EVENTLET=1`` monkey-patches with eventlet first, as the services run.
"""

from __future__ import annotations

import os

if os.environ.get("BENCH_EVENTLET"):
    import eventlet

    eventlet.monkey_patch()

import argparse
import time
import uuid

import pasokh_common  # noqa: F401
from pasokh_common import migrations
from pasokh_common.db import ConnectionPool

import psycopg

from services.tickets.aggregate_cache import TicketCache
from services.tickets.application import TicketCommands
from tests.support import infra

# The app role's statements in the scratch database (this query runs as the admin,
# so it does not count itself). Client round trips: the statements are prepared by
# then, so the planner never runs a SQL function's body as an entry of its own.
STATEMENTS = (
    "SELECT coalesce(sum(calls), 0)::bigint AS n FROM pg_stat_statements"
    " WHERE toplevel AND dbid = (SELECT oid FROM pg_database WHERE datname = %s)"
    " AND userid = (SELECT oid FROM pg_roles WHERE rolname = %s)"
)


def opening(customer: str) -> tuple[dict, dict, dict]:
    subject = f"درخواست بار {uuid.uuid4().hex}"
    payload = {
        "department": "technical",
        "subject": subject,
        "priority": "normal",
        "body": "از دیروز اینترنت ندارم.",
    }
    similar = {"department": "technical", "subject": subject}
    return {"id": customer, "role": "customer"}, payload, similar


def run(admin_url: str, count: int, customers: int) -> dict[str, float]:
    role = f"bench_onestmt_{uuid.uuid4().hex[:6]}_app"
    migrations.ensure_role(admin_url, role)
    try:
        with infra.migrated_template(admin_url, f"{role}_tpl", "tickets", role) as template:
            with infra.fresh_database(admin_url, template, role) as db:
                with psycopg.connect(db["admin_url"], autocommit=True) as admin:
                    admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                return _measure(db, role, count, customers)
    finally:
        infra.drop_role(admin_url, role)


def _measure(db: dict, role: str, count: int, customers: int) -> dict[str, float]:
    pool = ConnectionPool(db["url"], max_size=4)
    commands = TicketCommands(pool, cache=TicketCache(10_000))
    people = [f"cust-{n}" for n in range(customers)]

    def statements() -> int:
        with psycopg.connect(db["admin_url"]) as conn:
            return conn.execute(STATEMENTS, (db["name"], role)).fetchone()[0]

    # Warm up: every customer's key exists and is cached, statements are prepared.
    for n in range(max(customers, 50)):
        actor, payload, similar = opening(people[n % customers])
        commands.open_ticket_unless_similar(actor, payload, similar)
    out: dict[str, float] = {}
    opened: list[tuple[dict, str]] = []
    before = statements()
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(count):
        actor, payload, similar = opening(people[n % customers])
        answer = commands.open_ticket_unless_similar(actor, payload, similar)
        opened.append((actor, answer["ticket"]["ticket_id"]))
    out["open_cpu_ms"] = (time.process_time() - cpu) * 1000 / count
    out["open_wall_ms"] = (time.perf_counter() - wall) * 1000 / count
    out["open_statements"] = (statements() - before) / count
    before = statements()
    cpu, wall = time.process_time(), time.perf_counter()
    for actor, ticket_id in opened:
        commands.post_reply(actor, {"ticket_id": ticket_id, "body": "هنوز قطع است."})
    out["reply_cpu_ms"] = (time.process_time() - cpu) * 1000 / count
    out["reply_wall_ms"] = (time.perf_counter() - wall) * 1000 / count
    out["reply_statements"] = (statements() - before) / count
    pool.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--customers", type=int, default=64)
    args = parser.parse_args()
    admin_url = os.environ.get(
        "PASOKH_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    result = run(admin_url, args.count, args.customers)
    for name, value in result.items():
        print(f"{name:18} {value:8.3f}")


if __name__ == "__main__":
    main()
