"""Reads a sealed event log back and checks its hash chain (the database side of
``chain.verify_chain``): used by ``pasokh audit verify`` and the ticket audit export."""

from __future__ import annotations

from collections.abc import Iterator

import pasokh_common  # noqa: F401
from pasokh_common.eventlog.chain import (
    CANONICAL_SELECT,
    ChainReport,
    SealedRow,
    canonical_select,
    genesis_hash,
    link_hash,
    verify_chain,
)

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

PAGE = 1000


def _events(schema: str) -> str:
    return sql.Identifier(schema, "events").as_string(None)


def _sealed_rows(
    conn: psycopg.Connection, schema: str, first_seq: int, last_seq: int | None
) -> Iterator[SealedRow]:
    """Sealed rows from ``first_seq`` in chain order, a page at a time, plus the one after
    ``last_seq`` (the verifier uses it to tell a changed row from a changed hash)."""
    query = (
        f"SELECT chain_seq, chain_hash, {CANONICAL_SELECT} FROM {_events(schema)}"
        " WHERE chain_seq >= %s AND chain_seq <= %s ORDER BY chain_seq LIMIT %s"
    )
    ceiling = (last_seq + 1) if last_seq is not None else 2**62
    after = first_seq
    while True:
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query, (after, ceiling, PAGE)).fetchall()
        for row in rows:
            seq, stored = row.pop("chain_seq"), bytes(row.pop("chain_hash"))
            yield SealedRow(seq, stored, row)
        if len(rows) < PAGE:
            return
        after = seq + 1


def _stored_hash(conn: psycopg.Connection, schema: str, seq: int) -> bytes | None:
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(f"SELECT chain_hash FROM {_events(schema)} WHERE chain_seq = %s", (seq,))
        .fetchone()
    )
    return None if row is None else bytes(row["chain_hash"])


def count_unsealed_below_horizon(conn: psycopg.Connection, schema: str) -> int:
    """Committed rows old enough to be sealed that are not: the sealer is not running,
    is behind, or a sealed row was unsealed."""
    row = conn.execute(
        f"SELECT count(*) FROM {_events(schema)} WHERE chain_seq IS NULL"
        " AND xid < pg_snapshot_xmin(pg_current_snapshot())"
    ).fetchone()
    return row["count"] if isinstance(row, dict) else row[0]


def check_chain(
    conn: psycopg.Connection, schema: str, first_seq: int = 1, last_seq: int | None = None
) -> ChainReport:
    """Walk ``schema``'s chain from ``first_seq`` (to ``last_seq``), starting from the
    stored hash of ``first_seq - 1`` (the genesis hash for 1)."""
    if first_seq < 1 or (last_seq is not None and last_seq < first_seq):
        raise ValueError("the range must satisfy 1 <= from <= to")
    previous = genesis_hash(schema) if first_seq == 1 else _stored_hash(conn, schema, first_seq - 1)
    with conn.transaction():
        # One snapshot for the walk (REPEATABLE READ): a batch sealed meanwhile is
        # either wholly in it or wholly out.
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        report = verify_chain(
            _sealed_rows(conn, schema, first_seq, last_seq), previous, first_seq, last_seq
        )
    report.unsealed_below_horizon = count_unsealed_below_horizon(conn, schema)
    return report


def check_events(conn: psycopg.Connection, schema: str, positions: list[int]) -> list[dict]:
    """Per event (by position), whether its stored hash matches its columns and the
    stored hash of the row before it in the chain: the chain check of one ticket's
    events without walking the whole log (a deleted row elsewhere is only found by
    ``check_chain``). ``status`` is ``ok``, ``unsealed`` or ``mismatch``."""
    events = _events(schema)
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT e.chain_seq, e.chain_hash, p.chain_hash AS previous_hash,"
            f" {canonical_select('e')}"
            f" FROM {events} AS e LEFT JOIN {events} AS p ON p.chain_seq = e.chain_seq - 1"
            " WHERE e.position = ANY(%s) ORDER BY e.position",
            (positions,),
        )
        .fetchall()
    )
    genesis = genesis_hash(schema)
    out = []
    for row in rows:
        seq, stored = row.pop("chain_seq"), row.pop("chain_hash")
        previous = row.pop("previous_hash")
        if seq is None:
            status = "unsealed"
        else:
            prior = genesis if seq == 1 else (bytes(previous) if previous is not None else None)
            ok = prior is not None and link_hash(prior, row) == bytes(stored)
            status = "ok" if ok else "mismatch"
        out.append(
            {
                "position": int(row["position"]),
                "chain_seq": seq,
                "chain_hash": bytes(stored).hex() if stored is not None else None,
                "status": status,
            }
        )
    return out
