"""Helpers for nameko RPC: the entrypoint and proxy every service uses, and error mapping.

``rpc`` and ``RpcProxy`` are nameko's, except that requests and replies travel as
transient messages and replies are published without publisher confirms. An RPC
message is useful only while its caller waits (the gateway's requests expire with
its deadline, see ``gateway.rpc``), so writing it to disk or waiting for the broker
to confirm a reply protects nothing a caller could use: a reply lost with the
broker is the timeout the caller already handles, and commands that must not run
twice carry idempotency keys. Requests keep confirms, because nameko's
``UnknownService`` (nobody consumes the method's queue) is detected through them.
Measured on the 2-core machine (``python -m benchmarks.rpc_messages``,
docs/benchmarks.md "RPC messages"): RabbitMQ's CPU per call fell from about 0.8 to
0.35 ms and the caller's, service's and broker's together from about 1.65 to 1.05 ms.

Every service must use these, never ``nameko.rpc.rpc`` beside them: nameko shares
one ``rpc-<service>`` queue consumer per consumer class, and two classes in one
service would each take the other's calls.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from pasokh_common.errors import PasokhError, ServiceError

import nameko.rpc
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)

F = TypeVar("F", bound=Callable[..., Any])

# AMQP delivery mode 1: kept in memory by the broker, not written to disk.
TRANSIENT = 1


class ReplyPublisher(Publisher):
    use_confirms = False
    delivery_mode = TRANSIENT


class Responder(nameko.rpc.Responder):
    publisher_cls = ReplyPublisher


class RpcConsumer(nameko.rpc.RpcConsumer):
    def handle_result(self, message: Any, result: Any, exc_info: Any) -> tuple:
        # nameko's own handle_result, with the unconfirmed transient reply.
        config = self.container.config
        responder = Responder(
            config[AMQP_URI_CONFIG_KEY],
            nameko.rpc.get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER),
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class Rpc(nameko.rpc.Rpc):
    rpc_consumer = RpcConsumer()


rpc = Rpc.decorator


def RpcProxy(target_service: str, **options: Any) -> nameko.rpc.RpcProxy:
    """nameko's ``RpcProxy`` whose requests are transient (see the module docstring)."""
    options.setdefault("delivery_mode", TRANSIENT)
    return nameko.rpc.RpcProxy(target_service, **options)


def domain_errors(method: F) -> F:
    """Turn the errors callers should see into ServiceError; anything else stays a bug
    and is logged by nameko as one."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except PasokhError as error:
            raise ServiceError.from_error(error) from error

    return wrapper  # type: ignore[return-value]
