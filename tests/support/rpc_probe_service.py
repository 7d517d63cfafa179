"""A test-only service with the project's own RPC entrypoint and proxy.

``echo`` answers through ``pasokh_common.rpc``'s responder; ``send_to_absent`` calls a
service nobody runs (the test declares its queue and reads the request from it), so
a test can look at both kinds of RPC message as RabbitMQ delivers them.
"""

from __future__ import annotations

from typing import Any

from pasokh_common.rpc import RpcProxy, rpc


class RpcProbeService:
    name = "rpcprobe"

    absent = RpcProxy("rpcabsent")

    @rpc
    def echo(self, value: Any) -> dict:
        return {"echo": value}

    @rpc
    def send_to_absent(self, value: Any) -> str:
        self.absent.ping.call_async(value)
        return "sent"
