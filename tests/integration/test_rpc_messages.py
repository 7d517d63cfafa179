"""RPC requests and replies are transient messages; replies go unconfirmed.

``pasokh_common.rpc`` says why (an RPC message is worth something only while its
caller waits) and docs/benchmarks.md what it saves. This runs a real service through
the runner and reads, from real RabbitMQ queues, the request its proxy sent and the
reply its entrypoint gave.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from pasokh_common.rpc import TRANSIENT

import pytest
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from tests.support.processes import spawn, stop, wait_for_rpc_service

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
PROBE_SERVICE = "tests.support.rpc_probe_service:RpcProbeService"
RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)
PERSISTENT = 2


@pytest.fixture
def probe(amqp_uri: str, tmp_path: Path) -> Iterator[dict]:
    process = spawn(
        ["-m", "pasokh_common.runner", "rpcprobe", PROBE_SERVICE],
        {"AMQP_URI": amqp_uri},
        tmp_path / "rpcprobe.log",
    )
    try:
        wait_for_rpc_service(amqp_uri, "rpcprobe", process)
        yield {"AMQP_URI": amqp_uri}
    finally:
        stop(process)


def _get(conn: Connection, queue: Queue, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = queue(conn.default_channel).get(no_ack=True)
        if message is not None:
            return message
        time.sleep(0.05)
    pytest.fail(f"nothing arrived in {queue.name}")


def test_a_reply_is_transient_and_answers_the_call(probe: dict):
    # nameko replies through the rpc exchange with the caller's reply_to as routing key.
    name = f"rpcprobe-test-{uuid.uuid4().hex}"
    reply_queue = Queue(name, exchange=RPC_EXCHANGE, routing_key=name, exclusive=True)
    with Connection(probe["AMQP_URI"]) as conn:
        reply_queue(conn.default_channel).declare()
        # The caller's side published the nameko way: persistent, to the rpc exchange.
        correlation_id = str(uuid.uuid4())
        conn.Producer().publish(
            {"args": ["سلام"], "kwargs": {}},
            exchange=RPC_EXCHANGE,
            routing_key="rpcprobe.echo",
            reply_to=reply_queue.name,
            correlation_id=correlation_id,
            delivery_mode=PERSISTENT,
            serializer="json",
        )
        reply = _get(conn, reply_queue)
    assert reply.properties["correlation_id"] == correlation_id
    assert reply.payload == {"result": {"echo": "سلام"}, "error": None}
    assert reply.properties["delivery_mode"] == TRANSIENT


def test_a_request_is_transient(probe: dict):
    # The queue of a service that is not running: the probe's proxy can publish to it
    # (mandatory delivery succeeds) and the request stays there for the test to read.
    absent = Queue(
        "rpc-rpcabsent", exchange=RPC_EXCHANGE, routing_key="rpcabsent.*", auto_delete=True
    )
    with Connection(probe["AMQP_URI"]) as conn:
        absent(conn.default_channel).declare()
        with ClusterRpcProxy(probe, timeout=10) as cluster:
            assert cluster.rpcprobe.send_to_absent({"n": 1}) == "sent"
        request = _get(conn, absent)
    assert request.payload == {"args": [{"n": 1}], "kwargs": {}}
    assert request.properties["delivery_mode"] == TRANSIENT


def test_no_service_mixes_in_nameko_s_own_rpc_entrypoint():
    """nameko shares one ``rpc-<service>`` consumer per consumer class: a service with
    both ``nameko.rpc.rpc`` and ours would have two consumers taking each other's calls."""
    offenders = []
    for folder in ("services", "gateway", "pasokh_common"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            name = path.relative_to(REPO_ROOT).as_posix()
            if name != "pasokh_common/rpc.py" and "from nameko.rpc import" in path.read_text(
                encoding="utf-8"
            ):
                offenders.append(name)
    assert offenders == []
