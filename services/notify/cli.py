"""Show what the console provider "sent": the SMS a person would have on their phone.

    python -m services.notify.cli outbox [--limit 20] [--follow]

For local runs (``SMS_PROVIDER=console``, the default): ``bin/start`` can run it so a
developer reads the verification code and the ticket messages. Reads
``NOTIFY_DATABASE_URL``; numbers are shown in full because this is the outbox of a
machine that sends nothing, never production.
"""

from __future__ import annotations

import argparse
import sys
import time

import pasokh_common  # noqa: F401
from pasokh_common.settings import DEFAULT_DATABASE_URL, env_str

import psycopg
from psycopg.rows import dict_row


def _print(row: dict) -> None:
    when = row["created_at"].astimezone().strftime("%H:%M:%S")
    print(f"[{when}] to {row['recipient']} ({row['template']}, {row['parts']} part(s)):")
    for line in row["body"].splitlines():
        print(f"    {line}")
    sys.stdout.flush()


def show_outbox(database_url: str, limit: int, follow: bool, interval: float = 1.0) -> None:
    with psycopg.connect(database_url, row_factory=dict_row, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT * FROM (SELECT * FROM notify.outbox ORDER BY outbox_id DESC LIMIT %s) latest"
            " ORDER BY outbox_id",
            (limit,),
        ).fetchall()
        for row in rows:
            _print(row)
        last = rows[-1]["outbox_id"] if rows else 0
        while follow:
            time.sleep(interval)
            for row in conn.execute(
                "SELECT * FROM notify.outbox WHERE outbox_id > %s ORDER BY outbox_id", (last,)
            ).fetchall():
                _print(row)
                last = row["outbox_id"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.notify.cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    outbox = sub.add_parser("outbox", help="print the console provider's outbox")
    outbox.add_argument("--limit", type=int, default=20)
    outbox.add_argument("--follow", action="store_true", help="keep printing new messages")
    args = parser.parse_args(argv)
    url = env_str("NOTIFY_DATABASE_URL", DEFAULT_DATABASE_URL)
    try:
        show_outbox(url, args.limit, args.follow)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
