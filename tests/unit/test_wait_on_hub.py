"""``wait_on_hub``: psycopg's wait protocol driven by eventlet's hub (no database:
a socket pair stands in for the connection's socket)."""

from __future__ import annotations

import socket
import time
from collections.abc import Generator

from pasokh_common.green import wait_on_hub

import eventlet
import pytest
from psycopg.errors import _WaitTimeout
from psycopg.waiting import READY_R, READY_W, WAIT_R, WAIT_RW, WAIT_W


def _protocol(states: list[int], seen: list[int]) -> Generator[int, int, str]:
    for state in states:
        seen.append((yield state))
    return "done"


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    yield ours, theirs
    ours.close()
    theirs.close()


def test_read_waits_until_the_other_side_writes(pair):
    ours, theirs = pair
    seen: list[int] = []
    eventlet.spawn_after(0.05, theirs.send, b"x")
    began = time.monotonic()
    result = eventlet.spawn(wait_on_hub, _protocol([WAIT_R], seen), ours.fileno()).wait()
    assert result == "done"
    assert seen == [READY_R]
    assert time.monotonic() - began >= 0.04


def test_write_and_both_report_what_is_ready(pair):
    ours, _ = pair
    seen: list[int] = []
    assert eventlet.spawn(wait_on_hub, _protocol([WAIT_W, WAIT_RW], seen), ours.fileno()).wait()
    # Nothing to read: writable only, both times.
    assert seen == [READY_W, READY_W]


def test_a_deadline_is_psycopgs_wait_timeout(pair):
    ours, _ = pair
    with pytest.raises(_WaitTimeout):
        eventlet.spawn(wait_on_hub, _protocol([WAIT_R], []), ours.fileno(), 0.1, 0.05).wait()


def test_a_closed_socket_is_an_operational_error():
    import psycopg

    def gone() -> Generator[int, int, None]:
        yield WAIT_R

    with pytest.raises(psycopg.OperationalError):
        eventlet.spawn(wait_on_hub, gone(), 10_000).wait()
