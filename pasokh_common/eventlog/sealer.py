"""The sealer: hashes committed events into the chain (``pasokh_common.eventlog.chain``).

Why after commit: concurrent appends commit in an order nobody knows at INSERT time,
so a hash computed at INSERT would chain rows in an order readers never see. The
sealer takes rows in the order readers use, (xid, position) below the oldest running
transaction (``EventStore.read_committed``), which is final: no row can later appear
before one already sealed.

Each batch is one transaction under a transaction-level advisory lock (its own key,
not the relay's): it reads the last sealed row, hashes the next unsealed rows and
writes their ``chain_seq``/``chain_hash``. A crash rolls the batch back whole and the
next batch resumes from the last sealed row; a second sealer waits for the lock and
then continues the same chain (the unique ``chain_seq`` would refuse a fork anyway).
It runs inside the relay process (``relay_main``), so no deployment changes.
"""

from __future__ import annotations

import hashlib
import logging
import threading

import pasokh_common  # noqa: F401
from pasokh_common.eventlog.chain import CANONICAL_SELECT, genesis_hash, seal_rows

import psycopg
from prometheus_client import Counter, Gauge
from psycopg import sql
from psycopg.rows import dict_row

log = logging.getLogger("pasokh.sealer")

SEALED = Counter("pasokh_chain_sealed_total", "Events sealed into the hash chain.", ["source"])
SEALED_SEQ = Gauge(
    "pasokh_chain_sealed_seq",
    "chain_seq of the last sealed event (the chain's length).",
    ["source"],
)
UNSEALED = Gauge(
    "pasokh_chain_unsealed_events",
    "Events not yet sealed into the hash chain (counted up to a cap of 1,000,000).",
    ["source"],
)

UNSEALED_COUNT_CAP = 1_000_000


def sealer_lock_key(schema: str) -> int:
    """A stable signed 64-bit advisory lock key, distinct from every relay's key."""
    digest = hashlib.blake2b(f"pasokh.chain-sealer:{schema}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class Sealer:
    """Seals ``<schema>.events`` in batches; any number may run, one seals at a time."""

    def __init__(
        self,
        database_url: str,
        schema: str,
        source: str | None = None,
        batch_size: int = 500,
        idle_sleep: float = 0.5,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.database_url = database_url
        self.schema = schema
        self.batch_size = batch_size
        self.idle_sleep = idle_sleep
        self.lock_key = sealer_lock_key(schema)
        self.genesis = genesis_hash(schema)
        self._labels = {"source": source or schema}
        self._stop = threading.Event()
        events = sql.Identifier(schema, "events").as_string(None)
        self._sql_head = (
            f"SELECT chain_seq, chain_hash FROM {events} WHERE chain_seq IS NOT NULL"
            " ORDER BY chain_seq DESC LIMIT 1"
        )
        self._sql_next = (
            f"SELECT {CANONICAL_SELECT} FROM {events} WHERE chain_seq IS NULL"
            " AND xid < pg_snapshot_xmin(pg_current_snapshot())"
            " ORDER BY xid, position LIMIT %s"
        )
        self._sql_seal = (
            f"UPDATE {events} AS e SET chain_seq = v.seq, chain_hash = v.hash"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::bytea[]) AS v(position, seq, hash)"
            " WHERE e.position = v.position AND e.chain_seq IS NULL"
        )
        self._sql_unsealed = (
            f"SELECT count(*) AS n FROM (SELECT 1 FROM {events} WHERE chain_seq IS NULL"
            f" LIMIT {UNSEALED_COUNT_CAP}) AS u"
        )

    def stop(self) -> None:
        """End ``run`` after the batch in flight; safe from a signal handler."""
        self._stop.set()

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(
            self.database_url,
            autocommit=True,
            row_factory=dict_row,
            connect_timeout=10,
            application_name=f"pasokh-sealer-{self.schema}",
        )

    def seal_batch(self, conn: psycopg.Connection) -> int | None:
        """Seal up to ``batch_size`` rows in one transaction; the number sealed, or
        ``None`` when another sealer holds the lock."""
        with conn.transaction():
            locked = conn.execute(
                "SELECT pg_try_advisory_xact_lock(%s) AS locked", (self.lock_key,)
            ).fetchone()["locked"]
            if not locked:
                return None
            # Statements after the lock see every batch committed before it was taken.
            head = conn.execute(self._sql_head).fetchone()
            previous_seq, previous_hash = (
                (head["chain_seq"], bytes(head["chain_hash"])) if head else (0, self.genesis)
            )
            rows = conn.execute(self._sql_next, (self.batch_size,)).fetchall()
            if not rows:
                SEALED_SEQ.labels(**self._labels).set(previous_seq)
                return 0
            sealed = seal_rows(previous_hash, previous_seq, rows)
            result = conn.execute(
                self._sql_seal,
                ([p for p, _, _ in sealed], [s for _, s, _ in sealed], [h for _, _, h in sealed]),
            )
            if result.rowcount != len(sealed):
                raise RuntimeError("rows to seal changed under the sealer's lock")
        SEALED.labels(**self._labels).inc(len(sealed))
        SEALED_SEQ.labels(**self._labels).set(sealed[-1][1])
        return len(sealed)

    def seal_available(self, conn: psycopg.Connection) -> int:
        """Seal until nothing below the horizon is left (or another sealer has the
        lock); the number sealed. For tests and one-off runs."""
        total = 0
        while True:
            count = self.seal_batch(conn)
            if not count:
                return total
            total += count

    def report_unsealed(self, conn: psycopg.Connection) -> int:
        count = conn.execute(self._sql_unsealed).fetchone()["n"]
        UNSEALED.labels(**self._labels).set(count)
        return count

    def run(self) -> None:
        """Seal until ``stop()``; a database failure waits and starts over (the chain
        resumes from its last sealed row), so the relay beside it is never stopped."""
        delay = self.idle_sleep
        while not self._stop.is_set():
            try:
                with self.connect() as conn:
                    while not self._stop.is_set():
                        count = self.seal_batch(conn)
                        self.report_unsealed(conn)
                        delay = self.idle_sleep
                        if not count or count < self.batch_size:
                            self._stop.wait(self.idle_sleep)
            except (psycopg.Error, RuntimeError) as exc:
                log.warning(
                    "sealer interrupted; resuming from the last sealed row",
                    extra={"error": f"{type(exc).__name__}: {exc}", "retry_in": delay},
                )
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)
        log.info("sealer stopped", extra={"schema": self.schema})
