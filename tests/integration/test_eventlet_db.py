"""Database calls inside a nameko service must not block the eventlet hub.

psycopg's default C wait function blocks the whole process while a query runs: eight
concurrent ``pg_sleep(1)`` calls then take eight seconds, and every other greenthread
(AMQP heartbeats, other workers) freezes meanwhile. The runner chooses a cooperative
wait function; this test runs a real service through the runner and proves it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nameko.exceptions import UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
CALLS = 8
SLEEP_SECONDS = 1.0
MAX_HUB_STALL_SECONDS = 0.1
START_TIMEOUT_SECONDS = 20


@pytest.fixture
def sleepy(amqp_uri: str, pg_admin_url: str, tmp_path: Path) -> Iterator[dict]:
    """The sleepy service as a runner subprocess; yields the nameko client config."""
    log_path = tmp_path / "sleepy.log"
    env = {**os.environ, "AMQP_URI": amqp_uri, "SLEEPY_DATABASE_URL": pg_admin_url}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pasokh_common.runner",
                "sleepy",
                "tests.support.sleepy_service:SleepyService",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    config = {"AMQP_URI": amqp_uri}
    try:
        _wait_until_serving(config, proc, log_path)
        yield config
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_serving(config: dict, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with ClusterRpcProxy(config, timeout=5) as cluster:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"sleepy service exited:\n{log_path.read_text()[-4000:]}")
            try:
                cluster.sleepy.max_hub_stall()
                return
            except UnknownService:
                time.sleep(0.1)
    pytest.fail(f"sleepy service did not start:\n{log_path.read_text()[-4000:]}")


def test_concurrent_queries_overlap_and_the_hub_keeps_ticking(sleepy: dict):
    with ClusterRpcProxy(sleepy, timeout=30) as cluster:
        cluster.sleepy.reset_hub_stall()
        began = time.monotonic()
        pending = [cluster.sleepy.sleep.call_async(SLEEP_SECONDS) for _ in range(CALLS)]
        spans = [reply.result() for reply in pending]
        wall = time.monotonic() - began
        stall = cluster.sleepy.max_hub_stall()

    # Every query was still running when the last one started (service-side clock):
    # with a blocking driver they would run one after another and never overlap.
    last_start = max(span["started"] for span in spans)
    first_end = min(span["ended"] for span in spans)
    assert last_start < first_end, spans
    # The same fact seen from outside: far less than the serial CALLS * SLEEP_SECONDS.
    assert wall < CALLS * SLEEP_SECONDS / 2, wall
    # Other greenthreads ran throughout: a 10 ms ticker never waited 100 ms.
    assert stall < MAX_HUB_STALL_SECONDS, stall


def test_the_service_waits_on_the_hub_and_large_statements_cross_both_ways(sleepy: dict):
    with ClusterRpcProxy(sleepy, timeout=30) as cluster:
        assert cluster.sleepy.wait_function() == "wait_on_hub"
        # 12 MB (an attachment is up to 10 MB) does not fit the socket buffer: psycopg
        # waits to write and to read at once while the server reads it.
        cluster.sleepy.reset_hub_stall()
        echoed = cluster.sleepy.round_trip(12 * 1024 * 1024)
        stall = cluster.sleepy.max_hub_stall()
    assert echoed == {"sent": 12 * 1024 * 1024, "same": True}
    assert stall < 1.0, stall
