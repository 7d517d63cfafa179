"""RPC requests and replies are transient messages; replies go unconfirmed; both
are published through long-lived pooled connections.

``pasokh_common.rpc`` says why (an RPC message is worth something only while its
caller waits) and docs/benchmarks.md what it saves. This runs a real service through
the runner and reads, from real RabbitMQ queues, the request its proxy sent and the
reply its entrypoint gave; then it calls it concurrently, closes its publishing
connections from the broker's side and watches its pools.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from pasokh_common.rpc import TRANSIENT

import pytest
from kombu import Connection, Exchange, Queue
from nameko.exceptions import IncorrectSignature, RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from tests.support.infra import broker_connections, close_broker_connections
from tests.support.processes import spawn, stop, wait_for_rpc_service, wait_until

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
PROBE_SERVICE = "tests.support.rpc_probe_service:RpcProbeService"
RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)
PERSISTENT = 2


@pytest.fixture
def start_probe(amqp_uri: str, tmp_path: Path) -> Iterator[Callable[..., dict]]:
    """Start the probe service (with extra environment); it stops after the test."""
    processes = []

    def start(**env: str) -> dict:
        process = spawn(
            ["-m", "pasokh_common.runner", "rpcprobe", PROBE_SERVICE],
            {"AMQP_URI": amqp_uri, **env},
            tmp_path / f"rpcprobe-{len(processes)}.log",
        )
        processes.append(process)
        wait_for_rpc_service(amqp_uri, "rpcprobe", process)
        return {"AMQP_URI": amqp_uri, "pid": process.pid}

    yield start
    for process in processes:
        stop(process)


@pytest.fixture
def probe(start_probe: Callable[..., dict]) -> dict:
    return start_probe()


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
    # What nameko's proxy sends, and the gateway's deadline (RpcProxy(expiration=30)).
    assert request.properties["expiration"] == "30000"
    assert request.properties["reply_to"]
    assert uuid.UUID(request.properties["correlation_id"])
    assert request.properties["content_type"] == "application/json"
    call_ids = request.headers["nameko.call_id_stack"]
    assert call_ids[0].startswith("standalone_rpc_proxy.call.")
    assert call_ids[1].startswith("rpcprobe.send_to_absent.")


def test_an_unserializable_result_is_still_answered(probe: dict):
    with ClusterRpcProxy(probe, timeout=10) as cluster:
        with pytest.raises(RemoteError) as raised:
            cluster.rpcprobe.unserializable()
    assert raised.value.exc_type == "UnserializableValueError"


def test_a_call_whose_arguments_do_not_bind_is_refused_every_time(probe: dict):
    # The entrypoint remembers the shapes of calls that bound (pasokh_common.rpc.Rpc).
    with ClusterRpcProxy(probe, timeout=10) as cluster:
        for _ in range(2):
            assert cluster.rpcprobe.echo(1) == {"echo": 1}
            assert cluster.rpcprobe.echo(value=2) == {"echo": 2}
            for bad in (lambda: cluster.rpcprobe.echo(1, 2), lambda: cluster.rpcprobe.echo(v=1)):
                with pytest.raises(IncorrectSignature):
                    bad()


def test_a_call_to_a_service_nobody_runs_raises_unknown_service(start_probe):
    # One publishing connection: every request goes through the same confirm channel,
    # so a returned request followed by its confirm must leave it in step for the next.
    config = start_probe(PASOKH_RPC_PUBLISH_CONNECTIONS="1")
    with ClusterRpcProxy(config, timeout=10) as cluster:
        for _ in range(3):
            assert cluster.rpcprobe.call_unknown() == "UnknownService: Unknown service `rpcnobody`"
            assert cluster.rpcprobe.fan_out(3, 3) == [{"echo": i} for i in range(3)]
        pools = cluster.rpcprobe.publish_pools()
    requests = _pool(pools, confirms=True)
    assert requests["connects"] == 1


def test_concurrent_calls_each_get_their_own_answer_through_a_bounded_pool(start_probe):
    config = start_probe(PASOKH_RPC_PUBLISH_CONNECTIONS="3")
    count = 300
    with ClusterRpcProxy(config, timeout=60) as cluster:
        answers = cluster.rpcprobe.fan_out(count, 60)
        pools = cluster.rpcprobe.publish_pools()
        published = _publishing_connections(config)
    assert answers == [{"echo": i} for i in range(count)]
    requests = _pool(pools, confirms=True)
    replies = _pool(pools, confirms=False)
    # 60 greenthreads publishing at once used every connection and opened no more.
    assert requests["peak"] == requests["size"] == 3
    assert requests["connects"] == requests["open"] == 3
    assert 1 <= replies["open"] <= 3 and replies["connects"] == replies["open"]
    assert len(published) == requests["open"] + replies["open"]


def test_publishing_recovers_after_the_broker_closed_the_connections(probe: dict):
    with ClusterRpcProxy(probe, timeout=10) as cluster:
        assert cluster.rpcprobe.fan_out(20, 10) == [{"echo": i} for i in range(20)]
        before = cluster.rpcprobe.publish_pools()
        closed = _publishing_connections(probe)
        assert len(closed) == _pool(before, True)["open"] + _pool(before, False)["open"] >= 2
        close_broker_connections(closed, "test: forced close")
        assert wait_until(lambda: not set(closed) & set(_publishing_connections(probe)))
        # Each call is answered at its first attempt: the reply and the requests are
        # published through new connections, none through the closed ones.
        assert cluster.rpcprobe.echo("after") == {"echo": "after"}
        assert cluster.rpcprobe.fan_out(20, 10) == [{"echo": i} for i in range(20)]
        after = cluster.rpcprobe.publish_pools()
    for confirms in (True, False):
        assert _pool(after, confirms)["connects"] > _pool(before, confirms)["connects"]
    assert _pool(after, True)["open"] <= _pool(after, True)["size"]
    assert not set(closed) & set(_publishing_connections(probe))


def _pool(pools: list[dict], confirms: bool) -> dict:
    (pool,) = [pool for pool in pools if pool["confirms"] is confirms]
    return pool


def _publishing_connections(config: dict) -> list[str]:
    """The broker's ids of the probe process's publishing connections."""
    names = (f"pasokh-rpc-{kind}-{config['pid']}" for kind in ("requests", "replies"))
    return broker_connections(config["AMQP_URI"], *names)


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
