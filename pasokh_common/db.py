"""A small PostgreSQL connection pool that is safe under eventlet and plain threads.

psycopg_pool runs background worker threads; under eventlet's monkey patching they
become greenthreads whose scheduling we do not control. This pool has no background
work: it opens connections lazily, hands them out under a semaphore, and throws away
any connection that broke, so a database restart heals by itself.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pasokh_common  # noqa: F401  (chooses psycopg's wait function first)

import psycopg
from psycopg.rows import dict_row


class PoolTimeout(RuntimeError):
    """No connection became free in time: the service is overloaded or the DB is down."""


class ConnectionPool:
    def __init__(self, dsn: str, max_size: int = 10, acquire_timeout: float = 30.0) -> None:
        self._dsn = dsn
        self._slots = threading.BoundedSemaphore(max_size)
        self._idle: deque[psycopg.Connection] = deque()
        self._lock = threading.Lock()
        self._acquire_timeout = acquire_timeout
        self.max_size = max_size

    def _open(self) -> psycopg.Connection:
        return psycopg.connect(self._dsn, row_factory=dict_row, autocommit=True)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """An autocommit connection; use ``conn.transaction()`` for atomic work."""
        if not self._slots.acquire(timeout=self._acquire_timeout):
            raise PoolTimeout(f"no database connection free within {self._acquire_timeout}s")
        conn = None
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None or conn.closed:
                conn = self._open()
            yield conn
        except BaseException:
            if conn is not None and (conn.closed or conn.broken or not _is_idle(conn)):
                _close_quietly(conn)
                conn = None
            raise
        finally:
            if conn is not None:
                if conn.closed or conn.broken or not _is_idle(conn):
                    _close_quietly(conn)
                else:
                    with self._lock:
                        self._idle.append(conn)
            self._slots.release()

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A connection inside one transaction: commit on success, roll back on error."""
        with self.connection() as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        with self._lock:
            while self._idle:
                _close_quietly(self._idle.pop())


def _is_idle(conn: psycopg.Connection) -> bool:
    return conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def _close_quietly(conn: psycopg.Connection) -> None:
    with suppress(Exception):
        conn.close()
