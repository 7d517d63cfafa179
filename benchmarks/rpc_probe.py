"""The service ``benchmarks.rpc_messages`` calls: one trivial RPC method, built with
nameko's own ``rpc`` or with ``pasokh_common.rpc``'s (``RPC_BENCH_VARIANT``)."""

from __future__ import annotations

import os
from typing import Any

import pasokh_common.rpc

import nameko.rpc

VARIANT = os.environ.get("RPC_BENCH_VARIANT", "pasokh")
entrypoint = pasokh_common.rpc.rpc if VARIANT == "pasokh" else nameko.rpc.rpc


class RpcBenchService:
    name = "rpcbench"

    @entrypoint
    def echo(self, value: Any) -> dict:
        return {"echo": value, "status": "answered"}
