"""Measure the SLA application's database paths (not a test: pytest does not collect it).

    python -m tests.integration.sla.bench_service [--tickets 5000]

On a scratch database (PASOKH_BENCH_DATABASE_URL, default the local superuser URL):
applies sla's migrations, then times, in one process on one connection,
1. the intake of N ``TicketOpened`` (lock, load, lay out, append, save; without the
   consumer helper's processed_events insert and the broker),
2. one calendar change (an announced closure) re-targeting the N open tickets in one
   transaction, the time the rules lock is held,
3. the scan that records the N tickets' warnings and breaches once they are all due.
Speed is reported, never asserted (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import pasokh_common  # noqa: F401
from pasokh_common import migrations
from pasokh_common.db import ConnectionPool

from services.sla.application import SlaApplication
from services.sla.config import SlaConfig
from tests.integration.sla.support import ADMIN, MovableClock, TicketStream, delivered, tehran
from tests.support import infra

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "sla" / "migrations"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=5000)
    args = parser.parse_args()
    admin = os.environ.get(
        "PASOKH_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"sla_bench_{uuid.uuid4().hex[:8]}"
    infra.create_database(admin, name)
    pool = None
    try:
        url = infra.with_database(admin, name)
        migrations.apply(url, "sla", MIGRATIONS)
        pool = ConnectionPool(url, max_size=2)
        holidays = Path(tempfile.mkdtemp()) / "holiday-overrides.json"
        holidays.write_text('{"version": 1, "years": {}}', encoding="utf-8")
        clock = MovableClock(tehran(2026, 3, 18, 18))
        app = SlaApplication(pool, SlaConfig(holiday_overrides_path=holidays), clock)
        n = args.tickets

        started = time.perf_counter()
        for i in range(n):
            with pool.transaction() as tx:
                opened = TicketStream().opened(tehran(2026, 3, 18, 10) + i % 20_000)
                app.intake.receive(tx, delivered(opened))
        took = time.perf_counter() - started
        print(f"intake:          {n:>7} TicketOpened  {took:6.2f} s  {n / took:8.0f} /s")

        started = time.perf_counter()
        answer = app.admin.set_holiday(
            ADMIN, {"calendar_id": "default", "date": "1405-01-05"}, None
        )
        took = time.perf_counter() - started
        changed = answer["recomputed_tickets"]
        print(
            f"calendar change: {changed:>7} open tickets  {took:6.2f} s  {changed / took:8.0f} /s"
        )

        clock.set(tehran(2026, 4, 6, 18))  # every first response overdue
        started = time.perf_counter()
        scanned = app.scanner.scan()
        took = time.perf_counter() - started
        print(
            f"scan:            {scanned:>7} due tickets   {took:6.2f} s  {scanned / took:8.0f} /s"
        )
    finally:
        if pool is not None:
            pool.close()
        infra.drop_database(admin, name)


if __name__ == "__main__":
    main()
