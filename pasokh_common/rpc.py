"""Helpers for nameko RPC: the entrypoint and proxy every service uses, and error mapping.

``rpc`` and ``RpcProxy`` are nameko's, except that requests and replies travel as
transient messages, replies are published without publisher confirms, and both are
published through ``LeanPublisher`` (below) instead of nameko's ``Publisher``. An RPC
message is useful only while its caller waits (the gateway's requests expire with
its deadline, see ``gateway.rpc``), so writing it to disk or waiting for the broker
to confirm a reply protects nothing a caller could use: a reply lost with the
broker is the timeout the caller already handles, and commands that must not run
twice carry idempotency keys. Requests keep confirms, because nameko's
``UnknownService`` (nobody consumes the method's queue) is detected through them.
Measured on the 2-core machine (``python -m benchmarks.rpc_messages``,
docs/benchmarks.md "RPC messages"): RabbitMQ's CPU per call fell from about 0.8 to
0.35 ms and the caller's, service's and broker's together from about 1.65 to 1.05 ms.

Both are published through ``LeanPublisher``: process-wide pools of long-lived
connections (``PublishPool``, which says how a broken connection is recovered), one
publisher per ``RpcProxy`` and per service's consumer, replies serialized once.
nameko's ``Publisher`` built a ``kombu.Connection`` per publish and went through
kombu's retry wrapper. Measured (docs/benchmarks.md "RPC publishing"): about a third
less CPU per request publish and 40 % less per reply, and the caller's, service's and
broker's CPU per call together from 1.5 to 1.1 ms.

Every service must use these, never ``nameko.rpc.rpc`` beside them: nameko shares
one ``rpc-<service>`` queue consumer per consumer class, and two classes in one
service would each take the other's calls.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import uuid
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from pasokh_common.errors import PasokhError, ServiceError
from pasokh_common.settings import env_int

import amqp
import eventlet.semaphore
import kombu
import kombu.serialization
import nameko.rpc
from amqp import spec
from amqp.exceptions import AMQPError, MessageNacked
from kombu.compression import compress
from kombu.entity import maybe_delivery_mode
from kombu.exceptions import OperationalError
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import UnknownService, UnserializableValueError, serialize

F = TypeVar("F", bound=Callable[..., Any])

# AMQP delivery mode 1: kept in memory by the broker, not written to disk.
TRANSIENT = 1

# Connections per pool, i.e. per (broker, confirms) in one process: the most publishes
# in flight at once. kombu's producer pool, which nameko used, has the same bound.
POOL_SIZE = env_int("PASOKH_RPC_PUBLISH_CONNECTIONS", 10)

_CONFIRM_METHODS = [spec.Basic.Ack, spec.Basic.Nack]


class _Line:
    """One broker connection with one channel, used by one greenthread at a time.

    A connection each rather than channels sharing one: py-amqp reads a connection's
    socket from whichever greenthread waits, and two greenthreads waiting for their
    confirms on one socket is an error under eventlet.
    """

    __slots__ = ("channel", "connection", "returned")

    def __init__(self, pool: PublishPool) -> None:
        purpose = "requests" if pool.confirms else "replies"
        self.connection = kombu.Connection(
            pool.amqp_uri,
            ssl=pool.ssl,
            login_method=pool.login_method,
            transport_options={
                "client_properties": {"connection_name": f"pasokh-rpc-{purpose}-{os.getpid()}"}
            },
        )
        self.returned = False
        try:
            self.connection.connect()
            self.channel = self.connection.channel()
            if pool.confirms:
                self.channel.confirm_select()
                # Registered, a basic.return no longer raises in the middle of the
                # wait for the confirm that follows it; the wait consumes that
                # confirm, so the channel stays in step for the next publish.
                self.channel.events["basic_return"].add(self._on_return)
        except BaseException:
            self.close()
            raise

    def _on_return(self, *_: Any) -> None:
        self.returned = True

    def close(self) -> None:
        """Drop the socket without the close handshake: a broken connection would
        only answer it with a timeout, and a healthy one loses nothing."""
        with contextlib.suppress(Exception):
            self.connection.collect()


def _refuse_nack(method: Any, *_: Any) -> None:
    if method == spec.Basic.Nack:
        raise MessageNacked()


class PublishPool:
    """Long-lived publishing connections to one broker, with or without confirms.

    At most ``size`` connections are open (in use plus idle); a publish beyond that
    waits for one to come back. A connection is used by one greenthread at a time
    and, with confirms, until its message is confirmed. One that failed in any way,
    or whose publish was interrupted (a caller's ``eventlet.Timeout``), is closed,
    never reused: its channel may still owe a confirm.

    Recovery (``publish``). py-amqp reads what the broker sent an idle connection
    (a ``connection.close`` after a broker restart or a forced close, a
    ``channel.close``) before it writes, and raises instead of writing; a failed
    write leaves an incomplete message the broker drops. An error while *sending*
    therefore means the message did not reach the broker, so it is sent once more on
    a new connection (the other idle connections, probably broken by the same
    event, are closed too); that is as safe for a request as for a reply. An error
    while *waiting for the confirm* of a request is different: the broker may have
    routed the request and a service may act on it, so it is not sent again (a
    second copy would run the command twice); the caller gets the error
    (``OperationalError``: the gateway's 503) as it gets a timeout. A reply is never
    confirmed: one written into a socket the broker no longer reads is lost
    silently, and its caller times out, as the module docstring accepts.
    Connecting is tried once, without nameko's retries with pauses of seconds: the
    caller's deadline is the retry policy.
    """

    def __init__(
        self, amqp_uri: str, confirms: bool, ssl: Any = None, login_method: str | None = None
    ) -> None:
        self.amqp_uri = amqp_uri
        self.confirms = confirms
        self.ssl = ssl
        self.login_method = login_method
        self.size = POOL_SIZE
        self.connects = 0
        self.peak = 0
        self._idle: list[_Line] = []
        self._in_use = 0
        self._free = eventlet.semaphore.Semaphore(self.size)

    @property
    def open(self) -> int:
        return len(self._idle) + self._in_use

    def stats(self) -> dict[str, Any]:
        return {
            "confirms": self.confirms,
            "size": self.size,
            "open": self.open,
            "idle": len(self._idle),
            "connects": self.connects,
            "peak": self.peak,
        }

    def publish(
        self, message: amqp.Message, exchange: str, routing_key: str, mandatory: bool
    ) -> None:
        """Publish; with confirms, return once the broker confirmed the message.

        Raises ``UndeliverableMessage`` for a mandatory message no queue takes."""
        try:
            try:
                self._publish(message, exchange, routing_key, mandatory, fresh=False)
            except _NotSent:
                self._publish(message, exchange, routing_key, mandatory, fresh=True)
        except _NotSent as failed:
            raise _broker_error(failed.__cause__) from failed.__cause__
        except amqp.exceptions.ConnectionError as exc:
            raise _broker_error(exc) from exc

    def close(self) -> None:
        """Close the idle connections (those in use close when they come back broken,
        or stay for the next publish)."""
        idle, self._idle = self._idle, []
        for line in idle:
            line.close()

    def _publish(
        self,
        message: amqp.Message,
        exchange: str,
        routing_key: str,
        mandatory: bool,
        fresh: bool,
    ) -> None:
        self._free.acquire()
        try:
            if fresh:
                self.close()
            line = self._idle.pop() if self._idle else self._connect()
            self._in_use += 1
            if self._in_use > self.peak:
                self.peak = self._in_use
            try:
                line.returned = False
                try:
                    line.channel.basic_publish(
                        message, exchange=exchange, routing_key=routing_key, mandatory=mandatory
                    )
                except (OSError, AMQPError) as exc:
                    raise _NotSent() from exc
                if self.confirms:
                    line.channel.wait(_CONFIRM_METHODS, callback=_refuse_nack)
            except BaseException:
                self._in_use -= 1
                line.close()
                raise
            self._in_use -= 1
            self._idle.append(line)
            if line.returned:
                # The broker sends basic.return before the confirm of the same message.
                raise UndeliverableMessage()
        finally:
            self._free.release()

    def _connect(self) -> _Line:
        line = _Line(self)
        self.connects += 1
        return line


class _NotSent(Exception):
    """The message did not reach the broker (its ``__cause__`` says why)."""


def _broker_error(exc: BaseException | None) -> Exception:
    if isinstance(exc, OSError | OperationalError):
        return exc
    return OperationalError(f"broker connection failed: {exc!r}")


_pools: dict[tuple[str, bool, str, str | None], PublishPool] = {}


def publish_pool(
    amqp_uri: str, confirms: bool, ssl: Any = None, login_method: str | None = None
) -> PublishPool:
    """The process's pool for this broker and confirm mode (made on first use; no
    connection is opened until the first publish)."""
    key = (amqp_uri, confirms, repr(ssl), login_method)
    pool = _pools.get(key)
    if pool is None:
        pool = _pools[key] = PublishPool(amqp_uri, confirms, ssl, login_method)
    return pool


def publish_pools() -> list[PublishPool]:
    return list(_pools.values())


class LeanPublisher(Publisher):
    """nameko's ``Publisher`` (same options, same ``publish`` arguments) publishing
    through the process's ``PublishPool`` rather than kombu's producer pool.

    nameko's builds a ``kombu.Connection`` per publish to look its pool up and
    publishes through ``Connection.ensure``: a quarter of the gateway's CPU at 150
    tickets/s went to publishing requests. The message is the same one kombu's
    ``Producer.publish`` builds (headers, ``extra_headers``, delivery mode,
    priority, ``expiration`` in seconds, serializer, compression, any other property
    such as ``reply_to``/``correlation_id``); a body with ``content_type`` given is
    sent as it is, as in kombu. ``retry``/``retry_policy``/``transport_options`` do
    not apply (``PublishPool`` says how failures are handled); a publisher with
    ``declare`` falls back to nameko's ``publish``.
    """

    def __init__(self, amqp_uri: str, **options: Any) -> None:
        super().__init__(amqp_uri, **options)
        self.pool = publish_pool(amqp_uri, self.use_confirms, self.ssl, self.login_method)

    def publish(self, payload: Any, **kwargs: Any) -> None:
        if self.declare or kwargs.get("declare"):
            return super().publish(payload, **kwargs)
        properties = self.publish_kwargs.copy()
        headers = properties.pop("headers", {}).copy()
        headers.update(kwargs.pop("headers", {}))
        headers.update(kwargs.pop("extra_headers", {}))
        use_confirms = kwargs.pop("use_confirms", self.use_confirms)
        for ignored in ("transport_options", "retry", "retry_policy", "declare"):
            kwargs.pop(ignored, None)
        delivery_mode = kwargs.pop("delivery_mode", self.delivery_mode)
        mandatory = kwargs.pop("mandatory", self.mandatory)
        priority = kwargs.pop("priority", self.priority)
        expiration = kwargs.pop("expiration", self.expiration)
        serializer = kwargs.pop("serializer", self.serializer)
        compression = kwargs.pop("compression", self.compression)
        properties.update(kwargs)

        exchange = properties.pop("exchange", None) or ""
        if isinstance(exchange, kombu.Exchange):
            exchange = exchange.name
        routing_key = properties.pop("routing_key", None) or ""
        content_type = properties.pop("content_type", None)
        content_encoding = properties.pop("content_encoding", None)
        if content_type is None:
            content_type, content_encoding, body = kombu.serialization.dumps(
                payload, serializer=serializer
            )
        else:
            body = payload
        if compression:
            body, headers["compression"] = compress(body, compression)
        if expiration is not None:
            properties["expiration"] = str(int(expiration * 1000))
        message = amqp.Message(
            body,
            priority=priority,
            content_type=content_type,
            content_encoding=content_encoding,
            application_headers=headers,
            delivery_mode=maybe_delivery_mode(delivery_mode),
            **properties,
        )
        pool = self.pool
        if use_confirms != self.use_confirms:
            pool = publish_pool(self.amqp_uri, use_confirms, self.ssl, self.login_method)
        if mandatory and not use_confirms:
            warnings.warn(
                "Mandatory delivery was requested, but unroutable messages cannot be "
                "detected without publish confirms enabled.",
                stacklevel=2,
            )
        pool.publish(message, exchange, routing_key, mandatory)
        return None


class RequestPublisher(LeanPublisher):
    """Requests: transient, confirmed (so a mandatory request no queue takes is
    reported, which is nameko's ``UnknownService``)."""

    delivery_mode = TRANSIENT


class ReplyPublisher(LeanPublisher):
    use_confirms = False
    delivery_mode = TRANSIENT


def _rpc_exchange_name(config: dict) -> str:
    return nameko.rpc.get_rpc_exchange(config).name


class RpcConsumer(nameko.rpc.RpcConsumer):
    """nameko's, replying through one ``ReplyPublisher`` made at set-up."""

    def setup(self) -> None:
        super().setup()
        config = self.container.config
        self.reply_publisher = ReplyPublisher(
            config[AMQP_URI_CONFIG_KEY],
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        self.reply_exchange = _rpc_exchange_name(config)

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> tuple:
        result, exc_info = self.send_reply(message, result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def send_reply(self, message: Any, result: Any, exc_info: Any) -> tuple:
        """nameko's ``Responder.send_response``, serializing the reply once: nameko
        serializes the result to check it can, then again to publish it."""
        error = serialize(exc_info[1]) if exc_info is not None else None
        # The reply is encoded the way the request was.
        serializer = kombu.serialization.registry.type_to_name[message.properties["content_type"]]
        try:
            content_type, content_encoding, body = kombu.serialization.dumps(
                {"result": result, "error": error}, serializer=serializer
            )
        except Exception:
            # An unserializable result must not kill the container (nameko would then
            # requeue the message for another victim); ``error`` always serializes.
            exc_info = sys.exc_info()
            error = serialize(UnserializableValueError(result))
            result = None
            content_type, content_encoding, body = kombu.serialization.dumps(
                {"result": None, "error": error}, serializer=serializer
            )
        self.reply_publisher.publish(
            body,
            content_type=content_type,
            content_encoding=content_encoding,
            exchange=self.reply_exchange,
            routing_key=message.properties["reply_to"],
            correlation_id=message.properties.get("correlation_id"),
        )
        return result, exc_info


# Call shapes remembered per entrypoint; a caller cycling through more shapes is just
# checked every time beyond these.
_KNOWN_SHAPES = 64


class Rpc(nameko.rpc.Rpc):
    rpc_consumer = RpcConsumer()

    def setup(self) -> None:
        super().setup()
        self.valid_shapes: set[tuple[int, frozenset[str]]] = set()

    def check_signature(self, args: Any, kwargs: dict) -> None:
        """nameko's check (``inspect.getcallargs``, about 20 µs, on every request),
        made once per call shape: whether arguments bind depends only on how many are
        positional and on the keyword names, never on the values. A shape that bound
        is not checked again; one that did not is checked, and refused with nameko's
        ``IncorrectSignature``, every time."""
        shape = (len(args), frozenset(kwargs))
        if shape in self.valid_shapes:
            return
        super().check_signature(args, kwargs)
        if len(self.valid_shapes) < _KNOWN_SHAPES:
            self.valid_shapes.add(shape)


rpc = Rpc.decorator


class RpcProxy(nameko.rpc.RpcProxy):
    """nameko's ``RpcProxy`` whose requests are transient (see the module docstring)
    and published by one ``RequestPublisher`` made at set-up, rather than by a new
    ``Publisher`` for every call."""

    def __init__(self, target_service: str, **options: Any) -> None:
        options.setdefault("delivery_mode", TRANSIENT)
        super().__init__(target_service, **options)

    def setup(self) -> None:
        super().setup()
        config = self.container.config
        options = dict(self.options)
        serializer = options.pop(
            "serializer", config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER)
        )
        self.publisher = RequestPublisher(
            config[AMQP_URI_CONFIG_KEY],
            serializer=serializer,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
            **options,
        )
        self.exchange = _rpc_exchange_name(config)

    def get_dependency(self, worker_ctx: Any) -> ServiceProxy:
        return ServiceProxy(worker_ctx, self)


class ServiceProxy(nameko.rpc.ServiceProxy):
    def __init__(self, worker_ctx: Any, provider: RpcProxy) -> None:
        self.worker_ctx = worker_ctx
        self.service_name = provider.target_service
        self.provider = provider

    def __getattr__(self, name: str) -> MethodProxy:
        if name.startswith("__"):
            raise AttributeError(name)
        return MethodProxy(self.worker_ctx, self.service_name, name, self.provider)


class MethodProxy(nameko.rpc.MethodProxy):
    """nameko's ``MethodProxy`` publishing with its ``RpcProxy``'s publisher."""

    def __init__(
        self, worker_ctx: Any, service_name: str, method_name: str, provider: RpcProxy
    ) -> None:
        self.worker_ctx = worker_ctx
        self.service_name = service_name
        self.method_name = method_name
        self.reply_listener = provider.rpc_reply_listener
        self.publisher = provider.publisher
        self.exchange = provider.exchange

    def _call(self, *args: Any, **kwargs: Any) -> nameko.rpc.RpcReply:
        # nameko's, see there why a mandatory confirmed publish finds an absent service.
        correlation_id = str(uuid.uuid4())
        reply_event = self.reply_listener.get_reply_event(correlation_id)
        try:
            self.publisher.publish(
                {"args": args, "kwargs": kwargs},
                exchange=self.exchange,
                routing_key=f"{self.service_name}.{self.method_name}",
                mandatory=True,
                reply_to=self.reply_listener.routing_key,
                correlation_id=correlation_id,
                extra_headers=self.get_message_headers(self.worker_ctx),
            )
        except BaseException as exc:
            # No reply will come: nameko would keep the waiting event forever.
            self.reply_listener._reply_events.pop(correlation_id, None)
            if isinstance(exc, UndeliverableMessage):
                raise UnknownService(self.service_name) from None
            raise
        return nameko.rpc.RpcReply(reply_event)


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
