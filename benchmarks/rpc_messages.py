"""CPU per RPC call with nameko's own messages against ``pasokh_common.rpc``'s.

nameko publishes requests and replies as persistent messages and waits for the
broker to confirm each; ``pasokh_common.rpc`` sends them transient and replies
unconfirmed (its docstring says why). For each variant this starts the service of
``benchmarks.rpc_probe`` (``nameko run``), makes ``--calls`` calls from ``--clients``
concurrent callers, and prints calls/s and the CPU per call of the client, the service
and RabbitMQ (its whole VM: other users of the broker count too).

Variants: ``nameko`` (nameko's entrypoint, standalone proxies), ``pasokh`` (ours,
standalone proxies sending transient requests) and ``proxy`` (ours, called the way the
gateway calls: ``pasokh_common.rpc.RpcProxy`` in a nameko container of this process,
one worker per client).

    python -m benchmarks.rpc_messages [--calls 4000] [--clients 8] [--repeat 2]
        [--variants nameko,pasokh,proxy]
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from pasokh_common.rpc import TRANSIENT, RpcProxy  # noqa: E402

import nameko.amqp.publish  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from nameko.exceptions import UnknownService  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from nameko.testing.services import dummy, entrypoint_hook  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PERSISTENT = 2


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def broker_pid() -> int | None:
    out = subprocess.run(["pgrep", "-f", "beam.smp"], capture_output=True, text=True).stdout
    return int(out.split()[0]) if out.split() else None


class BenchClient:
    """The caller of the ``proxy`` variant: each ``run`` is one worker calling in a loop."""

    name = "rpcbenchclient"
    bench = RpcProxy("rpcbench")

    @dummy
    def run(self, count: int) -> None:
        for i in range(count):
            self.bench.echo(i)


class ContainerCaller:
    """``clients`` workers of one ``BenchClient`` container."""

    def __init__(self, config: dict, clients: int) -> None:
        self.container = ServiceContainer(BenchClient, {**config, "max_workers": clients + 1})
        self.clients = clients

    def start(self) -> None:
        self.container.start()

    def call_once(self) -> None:
        with entrypoint_hook(self.container, "run") as run:
            run(1)

    def spawn(self, pool: eventlet.GreenPool, each: int) -> None:
        def one() -> None:
            with entrypoint_hook(self.container, "run", timeout=300) as run:
                run(each)

        for _ in range(self.clients):
            pool.spawn(one)

    def stop(self) -> None:
        self.container.stop()


class StandaloneCaller:
    """``clients`` standalone proxies, one greenthread each."""

    def __init__(self, config: dict, clients: int) -> None:
        self.proxies = [ClusterRpcProxy(config, timeout=30) for _ in range(clients)]
        self.started: list = []

    def start(self) -> None:
        self.started = [proxy.start() for proxy in self.proxies]

    def call_once(self) -> None:
        self.started[0].rpcbench.echo("ready")

    def spawn(self, pool: eventlet.GreenPool, each: int) -> None:
        for proxy in self.started:
            pool.spawn(lambda p: [p.rpcbench.echo(i) for i in range(each)], proxy)

    def stop(self) -> None:
        for proxy in self.proxies:
            proxy.stop()


def run_variant(variant: str, amqp_uri: str, calls: int, clients: int) -> dict:
    env = {**os.environ, "RPC_BENCH_VARIANT": "nameko" if variant == "nameko" else "pasokh"}
    service = subprocess.Popen(
        [sys.executable, "-m", "nameko", "run", "benchmarks.rpc_probe", "--broker", amqp_uri],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The standalone proxy stands in for the gateway: its requests are transient when
    # the gateway's would be (pasokh_common.rpc.RpcProxy).
    nameko.amqp.publish.Publisher.delivery_mode = TRANSIENT if variant == "pasokh" else PERSISTENT
    config = {"AMQP_URI": amqp_uri}
    caller_cls = ContainerCaller if variant == "proxy" else StandaloneCaller
    caller = caller_cls(config, clients)
    try:
        caller.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                caller.call_once()
                break
            except UnknownService:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        broker = broker_pid()
        before = (cpu_seconds(service.pid), cpu_seconds(broker) if broker else 0.0)
        client_before = time.process_time()
        began = time.monotonic()
        pool = eventlet.GreenPool(clients)
        each = calls // clients
        caller.spawn(pool, each)
        pool.waitall()
        wall = time.monotonic() - began
        done = each * clients
        return {
            "variant": variant,
            "calls_per_second": done / wall,
            "client_ms": 1000 * (time.process_time() - client_before) / done,
            "service_ms": 1000 * (cpu_seconds(service.pid) - before[0]) / done,
            "broker_ms": 1000 * ((cpu_seconds(broker) if broker else 0.0) - before[1]) / done,
        }
    finally:
        caller.stop()
        service.terminate()
        service.wait(timeout=15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--amqp-uri",
        default=os.environ.get("PASOKH_BENCH_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
    )
    parser.add_argument("--variants", default="nameko,pasokh,proxy")
    args = parser.parse_args(argv)
    print(f"{args.calls} calls from {args.clients} clients, variants interleaved")
    print(f"{'variant':<8} {'calls/s':>8} {'client ms':>10} {'service ms':>11} {'broker ms':>10}")
    for _ in range(args.repeat):
        for variant in args.variants.split(","):
            r = run_variant(variant, args.amqp_uri, args.calls, args.clients)
            print(
                f"{r['variant']:<8} {r['calls_per_second']:>8.0f} {r['client_ms']:>10.3f}"
                f" {r['service_ms']:>11.3f} {r['broker_ms']:>10.3f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
