"""The pipelined transaction of ``idempotent_event_handler(pipeline=True)`` against a
real PostgreSQL: the same exactly-once and all-or-nothing guarantees as the plain
one, including when a write whose result nobody read fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import MappingProxyType, SimpleNamespace

import pasokh_common  # noqa: F401  (before psycopg)
from pasokh_common.consumer import DeliveredEvent, Outcome, _Delivery, _run_once
from pasokh_common.consumer_sql import create_processed_events
from pasokh_common.db import ConnectionPool

import psycopg
import pytest

from tests.support import infra

pytestmark = pytest.mark.integration

SCHEMA = "pipetest"
CONSUMER = "pipetest.handle"


@pytest.fixture
def pool(pg_admin_url: str, run_id: str, app_role: str) -> Iterator[ConnectionPool]:
    name = f"{run_id}_pipeline_{uuid.uuid4().hex[:8]}"
    infra.create_database(pg_admin_url, name)
    admin_url = infra.with_database(pg_admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        create_processed_events(conn, SCHEMA, app_role)
        conn.execute(
            f"CREATE TABLE {SCHEMA}.effects (event_id text PRIMARY KEY, step int NOT NULL)"
        )
        conn.execute(f'GRANT SELECT, INSERT ON {SCHEMA}.effects TO "{app_role}"')
    pool = ConnectionPool(infra.with_database(pg_admin_url, name, user=app_role), max_size=2)
    yield pool
    pool.close()
    infra.drop_database(pg_admin_url, name)


def delivery(event_id: str) -> _Delivery:
    event = DeliveredEvent(event_id, "TicketOpened", {}, MappingProxyType({}), 1, False)
    return _Delivery(event, CONSUMER, SCHEMA, "db", pipeline=True)


def write_read_write(service, tx: psycopg.Connection, event: DeliveredEvent) -> None:
    """Writes nobody reads around a read that depends on the first write."""
    tx.execute(f"INSERT INTO {SCHEMA}.effects VALUES (%s, 1)", (event.event_id,))
    seen = tx.execute(
        f"SELECT step FROM {SCHEMA}.effects WHERE event_id = %s", (event.event_id,)
    ).fetchone()
    assert seen == {"step": 1}
    tx.execute(f"INSERT INTO {SCHEMA}.effects VALUES (%s, 2)", (event.event_id + "-2",))


def clashing_write(service, tx: psycopg.Connection, event: DeliveredEvent) -> None:
    """An unread write that fails (duplicate key): the error arrives later."""
    tx.execute(f"INSERT INTO {SCHEMA}.effects VALUES (%s, 1)", ("taken",))
    tx.execute(f"INSERT INTO {SCHEMA}.effects VALUES (%s, 1)", (event.event_id,))


def state(pool: ConnectionPool, event_id: str) -> tuple[int, list[str]]:
    with pool.connection() as conn:
        claimed = conn.execute(
            f"SELECT count(*) AS n FROM {SCHEMA}.processed_events WHERE event_id = %s",
            (event_id,),
        ).fetchone()["n"]
        effects = conn.execute(
            f"SELECT event_id FROM {SCHEMA}.effects WHERE event_id LIKE %s ORDER BY 1",
            (event_id + "%",),
        ).fetchall()
    return claimed, [row["event_id"] for row in effects]


def test_a_pipelined_handler_applies_once_and_a_redelivery_is_a_duplicate(pool):
    service = SimpleNamespace(db=pool)
    event_id = str(uuid.uuid4())

    assert _run_once(service, write_read_write, delivery(event_id)) is Outcome.PROCESSED
    assert _run_once(service, write_read_write, delivery(event_id)) is Outcome.DUPLICATE
    assert state(pool, event_id) == (1, [event_id, event_id + "-2"])


def test_a_failed_unread_write_rolls_back_everything_and_the_retry_applies(pool):
    service = SimpleNamespace(db=pool)
    with pool.transaction() as tx:  # the row the handler's first write will clash with
        tx.execute(f"INSERT INTO {SCHEMA}.effects VALUES ('taken', 0)")
    event_id = str(uuid.uuid4())

    with pytest.raises(psycopg.errors.UniqueViolation):
        _run_once(service, clashing_write, delivery(event_id))
    assert state(pool, event_id) == (0, [])  # neither the claim nor any effect

    # The connections went back to the pool usable, and the next attempt goes through.
    for _ in range(3):
        assert _run_once(service, write_read_write, delivery(event_id)) is not None
    assert state(pool, event_id) == (1, [event_id, event_id + "-2"])


def test_a_handler_raising_after_its_writes_leaves_nothing(pool):
    service = SimpleNamespace(db=pool)
    event_id = str(uuid.uuid4())

    def write_then_fail(service, tx, event):
        tx.execute(f"INSERT INTO {SCHEMA}.effects VALUES (%s, 1)", (event.event_id,))
        raise RuntimeError("planned")

    with pytest.raises(RuntimeError, match="planned"):
        _run_once(service, write_then_fail, delivery(event_id))
    assert state(pool, event_id) == (0, [])
    assert _run_once(service, write_read_write, delivery(event_id)) is Outcome.PROCESSED
