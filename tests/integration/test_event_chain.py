"""The hash chain against real PostgreSQL: sealing concurrent appends, the sealing-only
UPDATE rule, and a superuser's tampering found by ``pasokh audit verify``."""

from __future__ import annotations

import subprocess
import sys
import threading

from pasokh_common.db import ConnectionPool
from pasokh_common.eventlog import EventMetadata, EventStore, NewEvent, chain_check
from pasokh_common.eventlog.chain import (
    CONTENT_CHANGED,
    HASH_CHANGED,
    MISSING_ROW,
    canonical_select,
    genesis_hash,
    link_hash,
)
from pasokh_common.eventlog.chain_check import check_chain, check_events
from pasokh_common.eventlog.sealer import Sealer

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.conftest import REPO_ROOT
from tests.support import infra
from tests.support.processes import free_port, http_get, spawn, stop, wait_until

pytestmark = pytest.mark.integration

STORE = EventStore("tickets")
ACTOR = EventMetadata(actor_id="agent-1", actor_role="agent", correlation_id="corr-1")


def append_events(pool: ConnectionPool, stream: str, count: int) -> None:
    for n in range(count):
        with pool.transaction() as conn:
            STORE.append(conn, stream, n, [NewEvent("Tick", {"n": n, "متن": "سلام"})], ACTOR)


def seal_all(db: dict, expected: int, sealer: Sealer | None = None) -> None:
    """Seal until ``expected`` rows are sealed: the horizon is cluster-wide, so another
    test run's open transaction may hold the newest rows back for a moment."""
    sealer = sealer or Sealer(db["url"], "tickets", batch_size=7)
    with sealer.connect() as conn:

        def done() -> bool:
            sealer.seal_available(conn)
            return sealed_count(db) == expected

        assert wait_until(done, timeout=60)


def sealed_count(db: dict) -> int:
    with psycopg.connect(db["admin_url"]) as conn:
        return conn.execute(
            "SELECT count(*) FROM tickets.events WHERE chain_seq IS NOT NULL"
        ).fetchone()[0]


def verify(db: dict, first: int = 1, last: int | None = None):
    with psycopg.connect(db["url"], autocommit=True) as conn:
        return check_chain(conn, "tickets", first, last)


def tamper(db: dict, statement: str, params: tuple = ()) -> None:
    """As a superuser with triggers off: what the append-only rules cannot stop."""
    with psycopg.connect(db["admin_url"], autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        result = conn.execute(statement, params)
        assert result.rowcount == 1


def row_at(db: dict, seq: int) -> dict:
    with psycopg.connect(db["admin_url"]) as conn:
        position, event_id = conn.execute(
            "SELECT position, event_id::text FROM tickets.events WHERE chain_seq = %s", (seq,)
        ).fetchone()
    return {"position": position, "event_id": event_id}


def cli_verify(db: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pasokh_common.cli",
            "audit",
            "verify",
            "--service",
            "tickets",
            *args,
        ],
        env={"TICKETS_DATABASE_URL": db["url"], "PATH": "/usr/bin:/bin"},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_concurrent_appends_sealed_in_committed_order_verify(
    tickets_pool: ConnectionPool, tickets_db: dict, monkeypatch
):
    monkeypatch.setattr(chain_check, "PAGE", 7)  # the walk reads several pages
    writers = [
        threading.Thread(target=append_events, args=(tickets_pool, f"w-{w}", 15)) for w in range(4)
    ]
    sealer = Sealer(tickets_db["url"], "tickets", batch_size=5, idle_sleep=0.01)
    sealing = threading.Thread(target=sealer.run)
    sealing.start()  # sealing while the writers write, as in production
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    seal_all(tickets_db, 60)
    sealer.stop()
    sealing.join()
    with psycopg.connect(tickets_db["admin_url"]) as conn:
        by_seq = conn.execute(
            "SELECT xid::text::bigint, position FROM tickets.events ORDER BY chain_seq"
        ).fetchall()
        seqs = [r[0] for r in conn.execute("SELECT chain_seq FROM tickets.events ORDER BY 1")]
    assert by_seq == sorted(by_seq)  # the order readers use
    assert seqs == list(range(1, 61))
    report = verify(tickets_db)
    assert report.ok and report.checked == 60 and report.unsealed_below_horizon == 0
    result = cli_verify(tickets_db)
    assert result.returncode == 0, result.stderr
    assert "OK, 60 events checked" in result.stdout and report.head_hash in result.stdout


def test_the_first_row_links_to_the_genesis_hash(tickets_pool: ConnectionPool, tickets_db: dict):
    append_events(tickets_pool, "g", 1)
    seal_all(tickets_db, 1)
    with psycopg.connect(tickets_db["admin_url"]) as conn:
        stored = bytes(conn.execute("SELECT chain_hash FROM tickets.events").fetchone()[0])
    with psycopg.connect(tickets_db["url"]) as conn:
        checked = check_events(conn, "tickets", [1])
    assert checked == [{"position": 1, "chain_seq": 1, "chain_hash": stored.hex(), "status": "ok"}]
    assert stored != genesis_hash("tickets") and len(stored) == 32


def test_changed_data_is_the_first_broken_link(tickets_pool: ConnectionPool, tickets_db: dict):
    append_events(tickets_pool, "t", 8)
    seal_all(tickets_db, 8)
    target = row_at(tickets_db, 5)
    tamper(
        tickets_db,
        "UPDATE tickets.events SET data = '{\"n\": 99}' WHERE chain_seq = 5",
    )
    report = verify(tickets_db)
    assert (report.broken.kind, report.broken.seq, report.checked) == (CONTENT_CHANGED, 5, 4)
    assert report.broken.position == target["position"]
    assert report.broken.event_id == target["event_id"]
    result = cli_verify(tickets_db)
    assert result.returncode == 1
    assert "first broken link: chain_seq 5 (content_changed)" in result.stdout
    assert target["event_id"] in result.stdout
    # A range before the change still checks out; one that covers it does not.
    assert verify(tickets_db, 1, 4).ok
    assert verify(tickets_db, 3, 8).broken.seq == 5
    assert cli_verify(tickets_db, "--from-seq", "6", "--to-seq", "8").returncode == 0


def test_a_deleted_row_is_a_missing_seq(tickets_pool: ConnectionPool, tickets_db: dict):
    append_events(tickets_pool, "t", 6)
    seal_all(tickets_db, 6)
    tamper(tickets_db, "DELETE FROM tickets.events WHERE chain_seq = 3")
    report = verify(tickets_db)
    assert (report.broken.kind, report.broken.seq, report.checked) == (MISSING_ROW, 3, 2)
    result = cli_verify(tickets_db, "--json")
    assert result.returncode == 1 and '"kind": "missing_row"' in result.stdout


def test_a_replaced_hash_is_found(tickets_pool: ConnectionPool, tickets_db: dict):
    append_events(tickets_pool, "t", 6)
    seal_all(tickets_db, 6)
    tamper(
        tickets_db,
        "UPDATE tickets.events SET chain_hash = %s WHERE chain_seq = 2",
        (b"\x00" * 32,),
    )
    report = verify(tickets_db)
    assert (report.broken.kind, report.broken.seq) == (HASH_CHANGED, 2)
    assert cli_verify(tickets_db).returncode == 1


def test_application_role_may_only_seal_once_and_nothing_else(
    tickets_pool: ConnectionPool, tickets_db: dict
):
    append_events(tickets_pool, "t", 2)
    with psycopg.connect(tickets_db["url"], autocommit=True) as conn:
        # Changing data while setting the hash is refused (no grant on data).
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "UPDATE tickets.events SET chain_seq = 1, chain_hash = '\\x00', data = '{}'"
                " WHERE position = 1"
            )
    seal_all(tickets_db, 2)
    with psycopg.connect(tickets_db["url"], autocommit=True) as conn:
        # A sealed hash cannot be changed, nor a row unsealed.
        for statement in (
            "UPDATE tickets.events SET chain_hash = '\\x00' WHERE position = 1",
            "UPDATE tickets.events SET chain_seq = NULL, chain_hash = NULL WHERE position = 1",
            "UPDATE tickets.events SET chain_seq = 99 WHERE position = 1",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    # The owner, who could grant itself anything, is held by the trigger: it may not
    # change a column while sealing, nor seal a sealed row again.
    with tickets_pool.transaction() as conn:
        STORE.append(conn, "t", 2, [NewEvent("Tick", {"n": 2})], ACTOR)
    with psycopg.connect(tickets_db["admin_url"], autocommit=True) as conn:
        for statement in (
            "UPDATE tickets.events SET chain_seq = 3, chain_hash = '\\x00', data = '{}'"
            " WHERE chain_seq IS NULL",
            "UPDATE tickets.events SET chain_seq = 3, chain_hash = '\\x00',"
            " recorded_at = now() WHERE chain_seq IS NULL",
            "UPDATE tickets.events SET chain_hash = '\\x00' WHERE chain_seq = 1",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    seal_all(tickets_db, 3)
    assert verify(tickets_db).ok


def test_sealer_restart_continues_the_chain(tickets_pool: ConnectionPool, tickets_db: dict):
    append_events(tickets_pool, "a", 5)
    seal_all(tickets_db, 5)
    with psycopg.connect(tickets_db["admin_url"]) as conn:
        head = bytes(
            conn.execute("SELECT chain_hash FROM tickets.events WHERE chain_seq = 5").fetchone()[0]
        )
    append_events(tickets_pool, "b", 4)
    seal_all(tickets_db, 9, Sealer(tickets_db["url"], "tickets", batch_size=3))  # a new sealer
    with psycopg.connect(tickets_db["admin_url"]) as conn:
        sixth = conn.execute(
            "SELECT chain_hash FROM tickets.events WHERE chain_seq = 6"
        ).fetchone()[0]
        columns = (
            conn.cursor(row_factory=psycopg.rows.dict_row)
            .execute(f"SELECT {canonical_select()} FROM tickets.events WHERE chain_seq = 6")
            .fetchone()
        )
    assert bytes(sixth) == link_hash(head, columns)
    assert verify(tickets_db).checked == 9


def test_a_batch_that_fails_seals_nothing(tickets_pool: ConnectionPool, tickets_db: dict):
    """A crash mid-batch: the transaction is the batch, so a rollback leaves no row
    half-sealed and the next sealer starts where the chain ends."""
    append_events(tickets_pool, "a", 4)
    sealer = Sealer(tickets_db["url"], "tickets", batch_size=10)
    with sealer.connect() as conn:
        with pytest.raises(RuntimeError), conn.transaction():
            assert wait_until(lambda: sealer.seal_batch(conn) == 4, timeout=60)
            raise RuntimeError("the process dies before the batch commits")
    assert sealed_count(tickets_db) == 0
    seal_all(tickets_db, 4)
    assert verify(tickets_db).ok


def test_two_sealers_at_once_make_one_chain(tickets_pool: ConnectionPool, tickets_db: dict):
    append_events(tickets_pool, "a", 30)
    sealers = [Sealer(tickets_db["url"], "tickets", batch_size=2, idle_sleep=0.01) for _ in "ab"]
    threads = [threading.Thread(target=s.run) for s in sealers]
    for t in threads:
        t.start()
    try:
        assert wait_until(lambda: sealed_count(tickets_db) == 30, timeout=60)
    finally:
        for s in sealers:
            s.stop()
        for t in threads:
            t.join()
    report = verify(tickets_db)
    assert report.ok and report.checked == 30


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_the_relay_process_seals_and_reports_it(
    tickets_pool: ConnectionPool, tickets_db: dict, amqp_uri: str, tmp_path
):
    port = free_port()
    env = {
        "TICKETS_DATABASE_URL": tickets_db["url"],
        "AMQP_URI": amqp_uri,
        "TICKETS_RELAY_METRICS_PORT": str(port),
        "CHAIN_SEAL_IDLE_SLEEP": "0.05",
    }
    relay = spawn(["-m", "pasokh_common.eventlog.relay_main"], env, tmp_path / "relay.log")
    try:
        append_events(tickets_pool, "r", 3)

        def sealed() -> bool:
            try:
                status, text = http_get(f"http://127.0.0.1:{port}/metrics", timeout=2)
            except OSError:  # not serving yet
                return False
            return (
                status == 200
                and metric(text, "pasokh_chain_sealed_seq") == 3
                and metric(text, "pasokh_chain_unsealed_events") == 0
            )

        assert wait_until(sealed, timeout=60)
    finally:
        assert stop(relay) == 0
    assert verify(tickets_db).checked == 3


@pytest.mark.parametrize("schema", ["identity", "sla", "notify"])
def test_every_service_log_is_chained(pg_admin_url: str, run_id: str, app_role: str, schema):
    """The same include in every service's migrations: seal, verify, tamper, find it."""
    with (
        infra.migrated_template(
            pg_admin_url, f"{run_id}_{schema}_chain_tpl", schema, app_role
        ) as tpl,
        infra.fresh_database(pg_admin_url, tpl, app_role) as db,
    ):
        store = EventStore(schema)
        with psycopg.connect(db["url"], autocommit=True, row_factory=dict_row) as conn:
            for n in range(3):
                store.append(conn, "s-1", n, [NewEvent("Tick", {"n": n})], ACTOR)
            for statement in ("UPDATE {}.events SET data = '{{}}'", "DELETE FROM {}.events"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement.format(schema))
        sealer = Sealer(db["url"], schema)
        with sealer.connect() as conn:
            assert wait_until(lambda: sealer.seal_available(conn) >= 0 and check(db, schema) == 3)
        with psycopg.connect(db["admin_url"], autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute(f"UPDATE {schema}.events SET stream_id = 'x' WHERE chain_seq = 1")
        with psycopg.connect(db["url"], autocommit=True) as conn:
            report = check_chain(conn, schema)
        assert (report.broken.kind, report.broken.seq) == (CONTENT_CHANGED, 1)


def check(db: dict, schema: str) -> int:
    with psycopg.connect(db["url"], autocommit=True) as conn:
        report = check_chain(conn, schema)
    assert report.ok
    return report.checked
