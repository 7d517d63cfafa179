"""The batch statements of sla and notify before and after ``pasokh_common.json_rows``:
client CPU, backend CPU and planning per batch, at batch sizes 1 and 50 and
varying (2 to 50).

Run (a few seconds; one scratch database, dropped afterwards)::

    python -m benchmarks.batch_statements [--rev 9a244e6] [--repeat 3]

"old" is each repository module as it was at ``--rev`` (read with ``git show``, loaded
under another name), "new" the working tree's. Workloads, each call in its own
transaction on one connection, old and new interleaved round by round:

* sla ``save_ticket_with_events``: per ticket of the batch a new ticket row, two
  clocks and one ``sla.events`` row (what a batch of TicketOpened writes);
* notify ``record_tickets_and_take_held``: per ticket its row and one message;
* notify ``record_outcomes("sent")``: per message its state change, one attempt
  record and its SmsSent (the messages are queued as ``sending`` beforehand, untimed).

Per batch: client CPU (``time.process_time`` around the call), backend CPU (the
server process's utime + stime from ``/proc``, so this must run on the database's
machine), and from ``pg_stat_statements`` (this database only) the plans per call and
the server's planning + execution time. psycopg's uncached conversions
(``_query2pg_nocache``) are counted too.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import cycle
from pathlib import Path
from types import ModuleType
from typing import Any

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common import migrations

import psycopg
from psycopg import _queries
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services.notify import repository as notify_new
from services.notify.domain.planning import TicketInfo
from services.sla import repository as sla_new
from services.sla.domain.targets import Clock, Target
from services.sla.domain.ticket import Phase, TicketSla
from tests.support import infra

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")


def old_module(rev: str, path: str, name: str) -> ModuleType:
    """``path`` as it was at ``rev``, imported as ``name``."""
    source = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)
    return module


class Uncached:
    """Counts psycopg's conversions that bypass its cache."""

    def __init__(self) -> None:
        self.count = 0
        self._original = _queries._query2pg_nocache

    def __enter__(self) -> Uncached:
        def counting(*args: Any) -> Any:
            self.count += 1
            return self._original(*args)

        _queries._query2pg_nocache = counting  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        _queries._query2pg_nocache = self._original


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def sla_batch(repo: ModuleType, sizes: Iterator[int]) -> Callable[[psycopg.Connection], None]:
    opened = 1_774_000_000

    def run(conn: psycopg.Connection) -> None:
        writes, rows = [], []
        size = next(sizes)
        for n in range(size):
            ticket_id = str(uuid.uuid4())
            clocks = tuple(
                Clock(target, 1, seconds, opened, 0, opened, opened + seconds, opened + 60)
                for target, seconds in ((Target.FIRST_RESPONSE, 3600), (Target.RESOLUTION, 7200))
            )
            state = TicketSla(
                ticket_id, "technical", "high", False, "default", Phase.AWAITING_US, False, 1,
                opened + n, None, f"P-{n}", clocks,
            )  # fmt: skip
            writes.append(repo.TicketWrite(state, 1, None))
            data = {"ticket_id": ticket_id, "targets": [{"target": "first_response"}]}
            meta = {"actor_id": "sla", "correlation_id": str(uuid.uuid4())}
            rows.append(
                (f"ticket-{ticket_id}", 1, str(uuid.uuid4()), "SlaTargetsSet", 1, Jsonb(data),
                 Jsonb(meta))
            )  # fmt: skip
        started = time.process_time()
        repo.save_ticket_with_events(conn, writes, rows)
        run.cpu += time.process_time() - started  # type: ignore[attr-defined]

    run.cpu = 0.0  # type: ignore[attr-defined]
    return run


def _message(n: int, ticket_id: str, now: datetime, state: str = "queued") -> dict:
    return {
        "message_id": uuid.uuid4(),
        "idempotency_key": str(uuid.uuid4()),
        "template": "ticket_opened",
        "language": None,
        "urgent": False,
        "user_id": f"user-{n}",
        "ticket_id": ticket_id,
        "cause_event_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
        "params": {"number": f"P-{n}", "ticket_url": "https://example.ir/t/1"},
        "recipient": None,
        "provider": None,
        "state": state,
        "attempts": 1 if state == "sending" else 0,
        "next_attempt_at": now,
        "lease_until": None,
        "expires_at": now + timedelta(days=1),
        "created_at": now,
    }


def notify_opened(repo: ModuleType, sizes: Iterator[int]) -> Callable[[psycopg.Connection], None]:
    def run(conn: psycopg.Connection) -> None:
        size = next(sizes)
        now = datetime.now(UTC)
        tickets = [
            (TicketInfo(str(uuid.uuid4()), f"P-{n}", f"c-{n}", "billing"), now.isoformat())
            for n in range(size)
        ]
        messages = [_message(n, t.ticket_id, now) for n, (t, _) in enumerate(tickets)]
        started = time.process_time()
        repo.record_tickets_and_take_held(conn, tickets, messages)
        run.cpu += time.process_time() - started  # type: ignore[attr-defined]

    run.cpu = 0.0  # type: ignore[attr-defined]
    return run


def notify_sent(repo: ModuleType, sizes: Iterator[int]) -> Callable[[psycopg.Connection], None]:
    def run(conn: psycopg.Connection) -> None:
        size = next(sizes)
        now = datetime.now(UTC)
        messages = [_message(n, str(uuid.uuid4()), now, "sending") for n in range(size)]
        notify_new.insert_messages(conn, messages)  # untimed setup
        outcomes = []
        for n, m in enumerate(messages):
            values = {
                "message_id": m["message_id"], "fence": 1, "attempts": 1, "now": now,
                "error": None, "provider_id": f"p-{n}", "recipient": "+989120000000",
                "language": "fa", "encoding": "ucs2", "parts": 1,
            }  # fmt: skip
            attempt = {
                "message_id": m["message_id"], "attempt": 1, "provider": "console",
                "action": "send", "outcome": "accepted", "reason": None, "detail": None,
                "started_at": now, "finished_at": now,
            }  # fmt: skip
            event = {
                "message_id": m["message_id"], "stream_id": f"sms-{m['message_id']}",
                "event_id": uuid.uuid4(), "event_type": "SmsSent", "schema_version": 1,
                "data": Jsonb({"message_id": str(m["message_id"]), "parts": 1}),
                "metadata": Jsonb({"correlation_id": m["correlation_id"]}),
            }  # fmt: skip
            outcomes.append({"values": values, "attempts": [attempt], "event": event})
        started = time.process_time()
        repo.record_outcomes(conn, "sent", outcomes)
        run.cpu += time.process_time() - started  # type: ignore[attr-defined]

    run.cpu = 0.0  # type: ignore[attr-defined]
    return run


# Batch sizes: one, fifty, and a different size every batch (as consumers see them),
# where a text per size is prepared late or never.
SIZES = {"1": [1], "50": [50], "2-50": list(range(2, 51))}
WORKLOADS = {
    "sla save_ticket_with_events": (sla_batch, "%sla.%"),
    "notify record_tickets_and_take_held": (notify_opened, "%notify.tickets%"),
    "notify record_outcomes(sent)": (notify_sent, "%changed AS (UPDATE notify.messages%"),
}


def statements(conn: psycopg.Connection, pattern: str) -> tuple[int, int, float]:
    """Calls, plans and server milliseconds (planning + execution) of this database's
    statements matching ``pattern``."""
    row = conn.execute(
        "SELECT coalesce(sum(calls), 0) AS calls, coalesce(sum(plans), 0) AS plans,"
        " coalesce(sum(total_exec_time + total_plan_time), 0) AS ms FROM pg_stat_statements"
        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND query LIKE %s AND query NOT LIKE '%%pg_stat_statements%%'",
        (pattern,),
    ).fetchone()
    return int(row["calls"]), int(row["plans"]), float(row["ms"])


def measure(conn: psycopg.Connection, run: Any, pattern: str, iterations: int) -> dict[str, float]:
    pid = conn.info.backend_pid
    calls0, plans0, ms0 = statements(conn, pattern)
    cpu0 = backend_cpu(pid)
    run.cpu = 0.0
    with Uncached() as uncached:
        for _ in range(iterations):
            with conn.transaction():
                run(conn)
    cpu1 = backend_cpu(pid)
    calls1, plans1, ms1 = statements(conn, pattern)
    return {
        "client_us": run.cpu / iterations * 1e6,
        "backend_us": (cpu1 - cpu0) / iterations * 1e6,  # includes the untimed setup
        "server_us": (ms1 - ms0) / max(calls1 - calls0, 1) * 1e3,
        "plans_per_call": (plans1 - plans0) / max(calls1 - calls0, 1),
        "uncached_per_batch": uncached.count / iterations,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default="9a244e6", help="the commit of the old statements")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (old, new interleaved)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "PASOKH_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    old = {
        "sla": old_module(args.rev, "services/sla/repository.py", "_old_sla_repository"),
        "notify": old_module(args.rev, "services/notify/repository.py", "_old_notify_repository"),
    }
    new = {"sla": sla_new, "notify": notify_new}
    name = f"bench_batchsql_{uuid.uuid4().hex[:8]}"
    infra.create_database(args.database_url, name)
    try:
        url = infra.with_database(args.database_url, name)
        for service in ("sla", "notify"):
            migrations.apply(url, service, ROOT / "services" / service / "migrations")
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            # The view of the server's statistics (shared by the cluster; read for this
            # database only, never reset).
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            print(f"psycopg {psycopg.__version__}, prepare_threshold {conn.prepare_threshold}")
            print(
                f"{'workload':38} {'size':>5} {'code':4} {'client us':>10} {'backend us':>11}"
                f" {'server us':>10} {'plans/call':>10} {'uncached':>8}"
            )
            for label, (make, pattern) in WORKLOADS.items():
                module = label.split()[0]
                for label_size, sizes in SIZES.items():
                    iterations = 400 if label_size == "1" else 100
                    results: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
                    for round_ in range(args.repeat):
                        order = ("old", "new") if round_ % 2 == 0 else ("new", "old")
                        for code in order:
                            repos = old if code == "old" else new
                            # Dead rows of earlier rounds would slow the later ones.
                            conn.execute("VACUUM")
                            run = make(repos[module], cycle(sizes))
                            results[code].append(measure(conn, run, pattern, iterations))
                    for code in ("old", "new"):
                        median = {
                            key: statistics.median(r[key] for r in results[code])
                            for key in results[code][0]
                        }
                        print(
                            f"{label:38} {label_size:>5} {code:4} {median['client_us']:10.0f}"
                            f" {median['backend_us']:11.0f} {median['server_us']:10.0f}"
                            f" {median['plans_per_call']:10.2f}"
                            f" {median['uncached_per_batch']:8.2f}"
                        )
    finally:
        infra.drop_database(args.database_url, name)


if __name__ == "__main__":
    main()
