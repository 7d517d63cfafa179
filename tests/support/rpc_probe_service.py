"""A test-only service with the project's own RPC entrypoint and proxy.

``echo`` answers through ``pasokh_common.rpc``'s responder; ``send_to_absent`` calls a
service nobody runs (the test declares its queue and reads the request from it), so
a test can look at both kinds of RPC message as RabbitMQ delivers them.
``call_unknown`` calls a service with no queue at all, ``fan_out`` calls this service
back from many greenthreads at once, and ``publish_pools`` reports this process's
publishing connections, so tests can watch the publisher pools of a real service.
"""

from __future__ import annotations

from typing import Any

from pasokh_common import rpc as pasokh_rpc
from pasokh_common.rpc import RpcProxy, rpc

import eventlet
from nameko.exceptions import UnknownService


class RpcProbeService:
    name = "rpcprobe"

    absent = RpcProxy("rpcabsent", expiration=30)
    nobody = RpcProxy("rpcnobody")
    itself = RpcProxy("rpcprobe")

    @rpc
    def echo(self, value: Any) -> dict:
        return {"echo": value}

    @rpc
    def unserializable(self) -> object:
        return object()

    @rpc
    def send_to_absent(self, value: Any) -> str:
        self.absent.ping.call_async(value)
        return "sent"

    @rpc
    def call_unknown(self) -> str:
        try:
            self.nobody.ping()
        except UnknownService as exc:
            return f"UnknownService: {exc}"
        return "answered"

    @rpc
    def fan_out(self, count: int, concurrency: int) -> list:
        """``echo(i)`` for every i below ``count`` from ``concurrency`` greenthreads
        sharing this worker's proxy; the answers in the order of i."""
        pool = eventlet.GreenPool(concurrency)
        return list(pool.imap(lambda i: self.itself.echo(i), range(count)))

    @rpc
    def publish_pools(self) -> list[dict]:
        return [pool.stats() for pool in pasokh_rpc.publish_pools()]
