"""Idempotent nameko event handlers: exactly-once effect, bounded retries, dead letters.

nameko 2.14's ``@event_handler`` acks and DROPS an event whose handler raised, or with
``requeue_on_error=True`` retries it in a hot loop forever. Neither fits "never lose
an event". ``idempotent_event_handler`` keeps nameko's queue naming and topology
(``evt-<source>-<type>--<service>.<method>`` bound to the topic exchange
``<source>.events``) and changes what happens around the handler:

* ONE transaction on the service's ``Database`` dependency records
  ``(consumer, event_id)`` in ``<schema>.processed_events`` and runs the handler; a
  redelivered event finds its row and is skipped, so the effect happens once.
* Deliveries that wait together are taken together (``CONSUMER_BATCH_SIZE``, default
  50): one worker and ONE transaction claim all their ids in one statement and run
  the handler for each newly claimed event in delivery order, then all are acked. If
  that transaction fails for any reason, it is rolled back and each delivery of the
  batch goes the one-at-a-time way (its own transaction, retry, dead letter), so a
  poison event only fails itself. At most one batch per handler and process is in
  flight; a lone delivery is handled at once (no timer).
* A failure is published (with publisher confirms, BEFORE the original is acked) to
  ``<queue>.retry.<n>``: a durable queue whose fixed ``x-message-ttl`` dead-letters
  the copy back into ``<queue>`` after the delay. One queue per attempt level, so a
  long delay never holds up a short one (per-message TTL would: RabbitMQ only
  expires the head of a queue).
* After ``max_attempts`` the message is parked in ``<queue>.dead`` with the error;
  ``python -m pasokh_common.dlq`` lists and replays it.

Handlers look like ``def handle(self, tx: psycopg.Connection, event: DeliveredEvent)``.
The decorated attribute on the class is a thin wrapper; the original function stays
reachable as ``Service.handle.__wrapped__`` for direct unit tests. A handler may share
its transaction with other events of a batch: whatever it must do only once the
transaction has committed (metrics, in-memory state) goes through ``after_commit``.
With ``batch_handler=True`` the handler is ``def handle(self, tx, events)`` instead and
gets a transaction's newly claimed events in one call (a one-element list for a lone
delivery or on the fallback path), its ``batch_lock`` taken first in every transaction.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import logging
import os
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from pasokh_common.consumer_sql import claim_events
from pasokh_common.metrics import LATENCY_BUCKETS
from pasokh_common.nameko_deps import Database

import eventlet
from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher as AmqpPublisher
from nameko.amqp.publish import get_connection
from nameko.constants import AMQP_SSL_CONFIG_KEY, HEADER_PREFIX, LOGIN_METHOD_CONFIG_KEY
from nameko.events import SERVICE_POOL, EventHandler
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import register_entrypoint
from nameko.messaging import QueueConsumer
from nameko.standalone.events import get_event_exchange
from prometheus_client import Counter, Histogram

log = logging.getLogger("pasokh.consumer")

DEFAULT_RETRY_DELAYS: tuple[float, ...] = (1, 5, 30, 120)
RETRY_DELAYS_CONFIG_KEY = "CONSUMER_RETRY_DELAYS"
RETRY_DELAYS_ENV = "PASOKH_CONSUMER_RETRY_DELAYS"
QUEUE_TYPE_CONFIG_KEY = "CONSUMER_QUEUE_TYPE"
QUEUE_TYPE_ENV = "PASOKH_CONSUMER_QUEUE_TYPE"
DEFAULT_BATCH_SIZE = 50
BATCH_SIZE_CONFIG_KEY = "CONSUMER_BATCH_SIZE"
BATCH_SIZE_ENV = "PASOKH_CONSUMER_BATCH_SIZE"
PREFETCH_CONFIG_KEY = "CONSUMER_PREFETCH_COUNT"
PREFETCH_ENV = "PASOKH_CONSUMER_PREFETCH_COUNT"

# Headers this helper owns on the messages it republishes.
ATTEMPT_HEADER = "x-pasokh-attempt"
LAST_ERROR_HEADER = "x-pasokh-last-error"
ROUTING_KEY_HEADER = "x-pasokh-routing-key"
ERROR_HEADER = "x-pasokh-error"
FAILED_AT_HEADER = "x-pasokh-failed-at"
ATTEMPTS_HEADER = "x-pasokh-attempts"
ORIGINAL_QUEUE_HEADER = "x-pasokh-original-queue"
# RabbitMQ's own dead-lettering bookkeeping grows on every retry round trip; our
# attempt header is the authority, so copies leave these behind.
BROKER_DEATH_HEADERS = (
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
)
# AMQP properties carried over to retry and dead-letter copies. user_id is left out:
# the broker rejects a copy whose user_id differs from the publishing connection's.
COPIED_PROPERTIES = ("message_id", "type", "timestamp", "app_id", "correlation_id", "reply_to")
MAX_ERROR_TEXT = 1000
# After a failed publish the original is requeued; this pause keeps a broker outage
# from turning into a hot redelivery loop.
REQUEUE_PAUSE_SECONDS = 1.0
MISSING_ID_ERROR = "MissingEventId: no message_id or cloudEvents_id, cannot deduplicate"

_LABELS = ("consumer", "event_type")
PROCESSED = Counter("pasokh_consumer_processed_total", "Events whose handler committed.", _LABELS)
DUPLICATES = Counter(
    "pasokh_consumer_duplicates_total", "Deliveries skipped as already processed.", _LABELS
)
IGNORED = Counter(
    "pasokh_consumer_ignored_total",
    "Events acknowledged without a transaction: the consumer wanted none of them.",
    _LABELS,
)
RETRIES = Counter(
    "pasokh_consumer_retries_total", "Failed deliveries sent to a retry queue.", _LABELS
)
DEAD_LETTERED = Counter(
    "pasokh_consumer_dead_lettered_total", "Messages parked in a dead-letter queue.", _LABELS
)
HANDLER_SECONDS = Histogram(
    "pasokh_consumer_handler_seconds",
    "Time to claim, handle and commit one delivery (in a batch: its share of the batch).",
    _LABELS,
    buckets=LATENCY_BUCKETS,
)
BATCH_SIZE = Histogram(
    "pasokh_consumer_batch_size",
    "Deliveries taken together into one worker (and at most one transaction).",
    ("consumer",),
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
BATCH_FALLBACKS = Counter(
    "pasokh_consumer_batch_fallbacks_total",
    "Batch transactions that failed and were redone one delivery at a time.",
    ("consumer",),
)


@dataclass(frozen=True)
class DeliveredEvent:
    """What a handler sees of one delivery."""

    event_id: str
    type: str
    data: Any
    headers: Mapping[str, Any]
    attempt: int
    redelivered: bool


class Outcome(enum.Enum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"  # the handler's ``wanted`` said no: nothing to apply or record


@dataclass(frozen=True)
class _Delivery:
    """Passed to the worker: the event plus where to record it."""

    event: DeliveredEvent
    consumer: str
    schema: str
    db_attr: str


@dataclass(frozen=True)
class _Batch:
    """Passed to the worker: deliveries of one queue, in delivery order."""

    deliveries: tuple[_Delivery, ...]


@dataclass(frozen=True)
class _Result:
    """What became of one delivery of a batch: an Outcome, or the error it raised."""

    outcome: Outcome | BaseException
    seconds: float


BatchLock = Callable[[Any, Any, Sequence[DeliveredEvent]], None]


# -- after commit ------------------------------------------------------------------------

# Callbacks of the consumer transactions now open, by connection.
_AFTER_COMMIT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def after_commit(tx: Any, callback: Callable[[], None]) -> None:
    """Run ``callback`` once ``tx`` (a consumer's transaction) has committed; never
    when it rolls back. A batch transaction that fails is rolled back and its events
    handled again one by one, so a handler that counts a metric or updates memory
    directly would do it twice. Outside a consumer's transaction (a direct call from a
    test or another caller) the callback runs at once."""
    callbacks = _AFTER_COMMIT.get(tx)
    if callbacks is None:
        callback()
    else:
        callbacks.append(callback)


def _run_callbacks(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("after-commit callback failed")


# -- configuration and topology --------------------------------------------------------


def parse_delays(raw: str | Iterable[float]) -> tuple[float, ...]:
    """``"0.1,0.2"`` or ``[0.1, 0.2]`` -> ``(0.1, 0.2)``; every delay must be >= 0."""
    parts = raw.split(",") if isinstance(raw, str) else list(raw)
    delays = tuple(float(p) for p in parts if str(p).strip())
    if not delays or any(d < 0 for d in delays):
        raise ValueError(f"retry delays must be a non-empty list of seconds >= 0, got {raw!r}")
    return delays


def resolve_retry_delays(
    config: Mapping[str, Any] | None, default: Sequence[float]
) -> tuple[float, ...]:
    """nameko config ``CONSUMER_RETRY_DELAYS``, else env, else the decorator's delays.

    One setting for every handler of the process, so tests and staging can shrink
    minutes to milliseconds without touching code.
    """
    if config and config.get(RETRY_DELAYS_CONFIG_KEY):
        return parse_delays(config[RETRY_DELAYS_CONFIG_KEY])
    raw = os.environ.get(RETRY_DELAYS_ENV, "").strip()
    if raw:
        return parse_delays(raw)
    return parse_delays(default)


def resolve_queue_type(config: Mapping[str, Any] | None) -> str:
    """``classic`` (default) or ``quorum`` for clustered RabbitMQ."""
    value = (config or {}).get(QUEUE_TYPE_CONFIG_KEY) or os.environ.get(QUEUE_TYPE_ENV, "")
    value = str(value).strip().lower() or "classic"
    if value not in ("classic", "quorum"):
        raise ValueError(f"consumer queue type must be classic or quorum, got {value!r}")
    return value


def _positive_int(raw: Any, what: str) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError(f"{what} must be a whole number >= 1, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{what} must be a whole number >= 1, got {raw!r}")
    return value


def resolve_batch_size(config: Mapping[str, Any] | None) -> int:
    """nameko config ``CONSUMER_BATCH_SIZE``, else env, else 50; 1 = one delivery per
    transaction (the behaviour before batching)."""
    raw = (config or {}).get(BATCH_SIZE_CONFIG_KEY) or os.environ.get(BATCH_SIZE_ENV, "")
    if not str(raw).strip():
        return DEFAULT_BATCH_SIZE
    return _positive_int(raw, "consumer batch size")


def resolve_prefetch_count(config: Mapping[str, Any] | None, max_workers: int) -> int:
    """Unacknowledged deliveries RabbitMQ gives each handler's queue. nameko uses
    ``max_workers``, which would cap a batch at that; by default twice the batch
    size, so the next batch gathers while one is in flight."""
    raw = (config or {}).get(PREFETCH_CONFIG_KEY) or os.environ.get(PREFETCH_ENV, "")
    if str(raw).strip():
        return _positive_int(raw, "consumer prefetch count")
    return max(int(max_workers), 2 * resolve_batch_size(config))


def delay_for_level(delays: Sequence[float], level: int) -> float:
    """Delay before attempt ``level + 1``; the last delay repeats if the list is short."""
    return delays[min(level, len(delays)) - 1]


def retry_queue_name(queue: str, level: int) -> str:
    return f"{queue}.retry.{level}"


def dead_queue_name(queue: str) -> str:
    return f"{queue}.dead"


@dataclass(frozen=True)
class ConsumerTopology:
    """Every queue one handler needs. Declared identically by the service at start-up
    and by a deploy-time topology step, because RabbitMQ refuses a redeclaration with
    different arguments."""

    queue: Queue
    retry_queues: tuple[Queue, ...]
    dead_queue: Queue

    @property
    def all_queues(self) -> tuple[Queue, ...]:
        return (self.queue, *self.retry_queues, self.dead_queue)


def consumer_topology(
    queue_name: str,
    exchange: Exchange,
    routing_key: str,
    max_attempts: int,
    delays: Sequence[float],
    queue_type: str = "classic",
    bind: bool = True,
) -> ConsumerTopology:
    """``bind=False``: the queue is declared with no binding at all (not even to
    ``routing_key``); its owner binds and unbinds it itself (webhooks does, from its
    endpoints' filters), and no declaration here or by nameko adds one back."""
    base_args = {"x-queue-type": "quorum"} if queue_type == "quorum" else {}
    queue = Queue(
        queue_name,
        exchange=exchange if bind else None,
        routing_key=routing_key if bind else "",
        durable=True,
        auto_delete=False,
        queue_arguments=dict(base_args) or None,
    )
    retries = tuple(
        Queue(
            retry_queue_name(queue_name, level),
            durable=True,
            auto_delete=False,
            queue_arguments={
                **base_args,
                "x-message-ttl": round(delay_for_level(delays, level) * 1000),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": queue_name,
            },
        )
        for level in range(1, max_attempts)
    )
    dead = Queue(
        dead_queue_name(queue_name),
        durable=True,
        auto_delete=False,
        queue_arguments=dict(base_args) or None,
    )
    return ConsumerTopology(queue, retries, dead)


def declare_queues(amqp_uri: str, queues: Iterable[Queue], ssl: Any = None) -> None:
    with get_connection(amqp_uri, ssl) as conn:
        channel = conn.channel()
        try:
            for queue in queues:
                queue(channel).declare()
        finally:
            channel.close()


def service_topologies(
    service_cls: type, config: Mapping[str, Any] | None = None
) -> list[ConsumerTopology]:
    """The topology of each idempotent handler on ``service_cls`` (no broker needed)."""
    found = []
    for method_name in sorted(dir(service_cls)):
        method = getattr(service_cls, method_name, None)
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, IdempotentEventHandler):
                found.append(entrypoint.topology(service_cls.name, method_name, dict(config or {})))
    return found


def declare_topology(
    amqp_uri: str, service_cls: type, config: Mapping[str, Any] | None = None
) -> list[str]:
    """Declare the exchange, queues and bindings of every idempotent handler of a
    service, so events published before its first start wait in its queues (the
    deploy-time topology step). Returns the declared queue names."""
    names = []
    for topology in service_topologies(service_cls, config):
        declare_queues(amqp_uri, topology.all_queues)
        names.extend(q.name for q in topology.all_queues)
    return names


# -- the entrypoint --------------------------------------------------------------------


class _ParkingQueueConsumer(QueueConsumer):
    """nameko's queue consumer, except that an undecodable message is parked in the
    handler's dead-letter queue. The stock one lets kombu's decode error kill the
    container, and the message comes back after every restart: a crash loop."""

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = functools.partial(self._on_decode_error, provider)
        return consumers

    @property
    def prefetch_count(self) -> int:
        return resolve_prefetch_count(self.container.config, self.container.max_workers)

    def handle_message(self, provider, body, message) -> None:
        """A batching handler only queues the delivery here, in the consumer's own
        thread (no thread per message); its runner takes it."""
        if getattr(provider, "batch_size", 1) > 1:
            provider.enqueue(body, message)
        else:
            super().handle_message(provider, body, message)

    def _on_decode_error(self, provider, message, exc) -> None:
        self.container.spawn_managed_thread(
            functools.partial(provider.park_undecodable, message, exc),
            identifier="park_undecodable",
        )


class IdempotentEventHandler(EventHandler):
    """An ``EventHandler`` that dedupes in the database, retries with backoff and
    parks what keeps failing, never acking a message before its fate is durable."""

    queue_consumer = _ParkingQueueConsumer()

    def __init__(
        self,
        source_service: str,
        event_type: str,
        *,
        consumer: str | None = None,
        db_attr: str = "db",
        schema: str | None = None,
        max_attempts: int = 5,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        bind: bool = True,
        batch: bool = True,
        **kwargs: Any,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if kwargs.get("handler_type", SERVICE_POOL) != SERVICE_POOL:
            # A singleton or broadcast queue is shared or short-lived; exactly-once per
            # (service, method) and a stable retry topology need nameko's service pool.
            raise ValueError("idempotent_event_handler supports only the SERVICE_POOL type")
        kwargs.pop("handler_type", None)
        parse_delays(retry_delays)
        self.consumer_name = consumer
        self.db_attr = db_attr
        self.schema = schema
        self.max_attempts = max_attempts
        self.default_retry_delays = tuple(retry_delays)
        self.bind_queue = bind  # (nameko extensions already have a bind method)
        self.batch = batch
        self.batch_size = 1
        self._pending: deque = deque()
        self._runner = None
        self._stopping = False
        super().__init__(
            source_service,
            event_type,
            handler_type=SERVICE_POOL,
            requeue_on_error=False,
            **kwargs,
        )

    # topology ------------------------------------------------------------------

    def queue_name(self, service_name: str, method_name: str) -> str:
        """nameko's SERVICE_POOL queue name (the only handler type with a stable name)."""
        return f"evt-{self.source_service}-{self.event_type}--{service_name}.{method_name}"

    def topology(
        self, service_name: str, method_name: str, config: Mapping[str, Any]
    ) -> ConsumerTopology:
        return consumer_topology(
            self.queue_name(service_name, method_name),
            get_event_exchange(self.source_service, config),
            self.event_type,
            self.max_attempts,
            resolve_retry_delays(config, self.default_retry_delays),
            resolve_queue_type(config),
            bind=self.bind_queue,
        )

    # lifecycle -----------------------------------------------------------------

    def setup(self) -> None:
        super().setup()  # names self.queue the nameko way and registers with the consumer
        config = self.container.config
        service_name = self.container.service_name
        self.consumer = self.consumer_name or f"{service_name}.{self.method_name}"
        self.schema_name = self.schema or service_name
        self.retry_delays = resolve_retry_delays(config, self.default_retry_delays)
        self.batch_size = resolve_batch_size(config) if self.batch else 1
        self._check_database_dependency()
        # Export every series at 0 from the start: rate() and alerts need a baseline.
        for metric in (PROCESSED, DUPLICATES, IGNORED, RETRIES, DEAD_LETTERED, HANDLER_SECONDS):
            metric.labels(**self._labels())
        if self.batch_size > 1:
            BATCH_SIZE.labels(consumer=self.consumer)
            BATCH_FALLBACKS.labels(consumer=self.consumer)
        layout = consumer_topology(
            self.queue.name,
            self.queue.exchange,
            self.event_type,
            self.max_attempts,
            self.retry_delays,
            resolve_queue_type(config),
            bind=self.bind_queue,
        )
        self.queue = layout.queue
        self.layout = layout
        ssl = config.get(AMQP_SSL_CONFIG_KEY)
        declare_queues(config["AMQP_URI"], layout.all_queues, ssl)
        self.publisher = AmqpPublisher(
            config["AMQP_URI"],
            use_confirms=True,
            mandatory=True,
            ssl=ssl,
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )

    def _check_database_dependency(self) -> None:
        for provider in self.container.dependencies:
            if provider.attr_name == self.db_attr and isinstance(provider, Database):
                return
        raise TypeError(
            f"{self.container.service_name}.{self.method_name}: idempotent_event_handler "
            f"needs a pasokh_common.nameko_deps.Database dependency named {self.db_attr!r}"
        )

    # delivery ------------------------------------------------------------------

    def handle_message(self, body: Any, message) -> None:
        """Runs in a managed thread per message: build the event, hand it to a worker."""
        event = self._delivered_event(body, message)
        if not event.event_id:
            self._park(message, event, MISSING_ID_ERROR)
            return
        delivery = _Delivery(event, self.consumer, self.schema_name, self.db_attr)
        started = time.monotonic()
        try:
            self.container.spawn_worker(
                self,
                (delivery,),
                {},
                context_data=self._context_data(message),
                handle_result=functools.partial(self._handle_result, message, event, started),
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    # batches ---------------------------------------------------------------------

    def enqueue(self, body: Any, message) -> None:
        """Called in the queue consumer's thread: queue the delivery for the runner,
        starting one if none is running. Deliveries that arrive while a batch is in
        flight wait here and form the next batch."""
        if self._stopping:
            self.queue_consumer.requeue_message(message)
            return
        self._pending.append((body, message))
        if self._runner is None:
            self._runner = self.container.spawn_managed_thread(
                self._drain, identifier=f"{self.consumer}.batches"
            )

    def stop(self) -> None:
        self._stopping = True
        super().stop()

    def _drain(self) -> None:
        """One batch at a time, in delivery order, until nothing waits."""
        try:
            while self._pending:
                if self._stopping:
                    self._requeue_pending()
                    return
                taken = [
                    self._pending.popleft() for _ in range(min(self.batch_size, len(self._pending)))
                ]
                deliveries, messages = [], []
                for body, message in taken:
                    event = self._delivered_event(body, message)
                    if not event.event_id:
                        self._park(message, event, MISSING_ID_ERROR)
                        continue
                    deliveries.append(
                        _Delivery(event, self.consumer, self.schema_name, self.db_attr)
                    )
                    messages.append(message)
                if deliveries:
                    self._spawn_batch(_Batch(tuple(deliveries)), messages)
        finally:
            self._runner = None

    def _spawn_batch(self, batch: _Batch, messages: list) -> None:
        try:
            worker_ctx = self.container.spawn_worker(
                self,
                (batch,),
                {},
                context_data=self._context_data(messages[0]),
                handle_result=functools.partial(self._handle_batch_result, messages),
            )
        except ContainerBeingKilled:
            for message in messages:
                self.queue_consumer.requeue_message(message)
            self._requeue_pending()
            return
        # nameko 2.14 keeps the worker's green thread here; waiting for it keeps one
        # batch per handler in flight.
        thread = self.container._worker_threads.get(worker_ctx)
        if thread is not None:
            # A failure outside the handler is logged by nameko; the messages stay
            # unacknowledged and return to the queue with the connection.
            with contextlib.suppress(Exception):
                thread.wait()
        eventlet.sleep(0)  # let the consumer thread take what has arrived meanwhile

    def _requeue_pending(self) -> None:
        while self._pending:
            _, message = self._pending.popleft()
            self.queue_consumer.requeue_message(message)

    def _handle_batch_result(self, messages, worker_ctx, result=None, exc_info=None):
        """Runs in the worker thread: the transaction (or each of the fallback's) is
        over; ack what is done, retry or park what failed, count."""
        batch: _Batch = worker_ctx.args[0]
        if exc_info is not None:  # the batch code itself failed: every delivery did
            results = [_Result(exc_info[1], 0.0)] * len(batch.deliveries)
        else:
            results = result
        BATCH_SIZE.labels(consumer=self.consumer).observe(len(batch.deliveries))
        for delivery, message, outcome in zip(batch.deliveries, messages, results, strict=True):
            HANDLER_SECONDS.labels(**self._labels()).observe(outcome.seconds)
            if isinstance(outcome.outcome, BaseException):
                self._handle_failure(message, delivery.event, outcome.outcome)
            else:
                self._count(outcome.outcome, delivery.event)
                self.queue_consumer.ack_message(message)
        return result, exc_info

    # single deliveries ---------------------------------------------------------

    def _delivered_event(self, body: Any, message) -> DeliveredEvent:
        properties = message.properties or {}
        headers = dict(message.headers or {})
        return DeliveredEvent(
            event_id=str(properties.get("message_id") or headers.get("cloudEvents_id") or ""),
            type=str(
                properties.get("type")
                or headers.get("cloudEvents_type")
                or headers.get(ROUTING_KEY_HEADER)
                or message.delivery_info.get("routing_key")
                or self.event_type
            ),
            data=body,
            headers=MappingProxyType(headers),
            attempt=_attempt_of(headers),
            redelivered=bool(message.delivery_info.get("redelivered")),
        )

    def _context_data(self, message) -> dict:
        """Only nameko's own context headers; CloudEvents and retry headers stay out,
        or every event the handler dispatches would carry them on."""
        prefix = f"{HEADER_PREFIX}."
        return {
            key[len(prefix) :]: value
            for key, value in (message.headers or {}).items()
            if key.startswith(prefix)
        }

    def _labels(self) -> dict:
        return {"consumer": self.consumer, "event_type": self.event_type}

    def _log_extra(self, event: DeliveredEvent, **more: Any) -> dict:
        return {
            "event_id": event.event_id,
            "event_type": event.type,
            "consumer": self.consumer,
            "attempt": event.attempt,
            **more,
        }

    def _handle_result(self, message, event, started, worker_ctx, result=None, exc_info=None):
        """Runs in the worker thread, so a graceful stop waits for the ack or the retry."""
        HANDLER_SECONDS.labels(**self._labels()).observe(time.monotonic() - started)
        if exc_info is None:
            self._count(result, event)
            self.queue_consumer.ack_message(message)
        else:
            self._handle_failure(message, event, exc_info[1])
        return result, exc_info

    def _count(self, outcome: Outcome, event: DeliveredEvent) -> None:
        if outcome is Outcome.DUPLICATE:
            DUPLICATES.labels(**self._labels()).inc()
            log.info("duplicate event skipped", extra=self._log_extra(event))
        elif outcome is Outcome.IGNORED:
            IGNORED.labels(**self._labels()).inc()
        else:
            PROCESSED.labels(**self._labels()).inc()
            log.info("event processed", extra=self._log_extra(event))

    def _handle_failure(self, message, event: DeliveredEvent, exc: BaseException) -> None:
        error = _error_text(exc)
        if event.attempt < self.max_attempts:
            level = event.attempt
            target = retry_queue_name(self.queue.name, level)
            headers = _copied_headers(message)
            headers[ATTEMPT_HEADER] = event.attempt + 1
            headers[LAST_ERROR_HEADER] = error
            headers.setdefault(ROUTING_KEY_HEADER, message.delivery_info.get("routing_key"))
            if self._publish_copy(message, target, headers, self.layout.retry_queues[level - 1]):
                RETRIES.labels(**self._labels()).inc()
                log.warning(
                    "event failed, retrying",
                    extra=self._log_extra(
                        event,
                        error=error,
                        retry_in_seconds=delay_for_level(self.retry_delays, level),
                    ),
                )
        else:
            self._park(message, event, error)

    def _park(self, message, event: DeliveredEvent, error: str) -> None:
        headers = _copied_headers(message)
        headers.setdefault(ROUTING_KEY_HEADER, message.delivery_info.get("routing_key"))
        headers[ERROR_HEADER] = error
        headers[FAILED_AT_HEADER] = datetime.now(UTC).isoformat()
        headers[ATTEMPTS_HEADER] = event.attempt
        headers[ORIGINAL_QUEUE_HEADER] = self.queue.name
        target = self.layout.dead_queue
        if self._publish_copy(message, target.name, headers, target):
            DEAD_LETTERED.labels(**self._labels()).inc()
            log.error("event dead-lettered", extra=self._log_extra(event, error=error))

    def park_undecodable(self, message, exc: BaseException) -> None:
        """Called by the queue consumer for a body that does not decode."""
        headers = dict(message.headers or {})
        event = DeliveredEvent(
            event_id=str((message.properties or {}).get("message_id") or ""),
            type=self.event_type,
            data=None,
            headers=MappingProxyType(headers),
            attempt=_attempt_of(headers),
            redelivered=bool(message.delivery_info.get("redelivered")),
        )
        self._park(message, event, f"UndecodableMessage: {_error_text(exc)}")

    def _publish_copy(self, message, routing_key: str, headers: dict, queue: Queue) -> bool:
        """Publish a copy with confirms, then ack the original; on a failed publish,
        requeue the original instead. Returns whether the copy was published."""
        properties = message.properties or {}
        try:
            self.publisher.publish(
                message.body,
                exchange="",
                routing_key=routing_key,
                headers=headers,
                # kombu would serialise a body without a content type; application/data
                # is kombu's name for "raw bytes", which decodes the same way.
                content_type=message.content_type or "application/data",
                content_encoding=message.content_encoding,
                priority=properties.get("priority") or 0,
                declare=[queue],
                **{k: properties[k] for k in COPIED_PROPERTIES if properties.get(k) is not None},
            )
        except Exception:
            log.exception(
                "could not publish to %s; requeueing the original",
                routing_key,
                extra={"consumer": self.consumer, "event_id": properties.get("message_id")},
            )
            self._redeclare(queue)
            time.sleep(REQUEUE_PAUSE_SECONDS)
            self.queue_consumer.requeue_message(message)
            return False
        self.queue_consumer.ack_message(message)
        return True

    def _redeclare(self, queue: Queue) -> None:
        """Best effort after a failed publish. kombu remembers a queue as declared per
        connection, so a queue deleted behind our back (NO_ROUTE) would otherwise fail
        every publish, and the requeued original would loop until a restart."""
        try:
            declare_queues(
                self.container.config["AMQP_URI"],
                [queue],
                self.container.config.get(AMQP_SSL_CONFIG_KEY),
            )
        except Exception:
            log.warning("could not redeclare %s", queue.name, exc_info=True)


def _attempt_of(headers: Mapping[str, Any]) -> int:
    try:
        return max(1, int(headers.get(ATTEMPT_HEADER, 1)))
    except (TypeError, ValueError):
        return 1


def _copied_headers(message) -> dict:
    return {
        key: value
        for key, value in (message.headers or {}).items()
        if key not in BROKER_DEATH_HEADERS
    }


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT]


@dataclass(frozen=True)
class _Form:
    """How a handler takes its events. ``whole_batch``: ``handler(self, tx, events)``
    with the list of a transaction's newly claimed events (the batch handler form),
    and the ``batch_lock`` then runs in every transaction, a lone delivery's too, so
    the handler can rely on its locks; otherwise ``handler(self, tx, event)`` per
    event, and the ``batch_lock`` only runs for batches."""

    handler: Callable
    batch_lock: BatchLock | None = None
    whole_batch: bool = False


def _as_form(handler: Callable | _Form) -> _Form:
    return handler if isinstance(handler, _Form) else _Form(handler)


def _run_once(service: Any, handler: Callable | _Form, delivery: _Delivery) -> Outcome:
    """Claim the event and apply it in one transaction: both commit or neither. A
    per-event handler takes its own locks here; a batch handler's ``batch_lock`` runs
    (see ``_Form``)."""
    return _run_together(service, handler, [delivery], lock=_as_form(handler).whole_batch)[0]


def lock_advisory(tx: Any, keys: Iterable[str]) -> None:
    """Take the transaction-scoped advisory locks ``hashtextextended(key, 0)`` of all
    ``keys`` in one statement, in the order of their lock values: two transactions
    that lock their whole set this way before anything else never deadlock each
    other. For a handler's ``batch_lock``; locks it takes again later are re-entrant."""
    wanted = sorted({str(k) for k in keys})
    if wanted:
        tx.execute(
            "SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT DISTINCT"
            " hashtextextended(k, 0) AS h FROM unnest(%s::text[]) AS k ORDER BY h) AS l",
            (wanted,),
        )


def ticket_ids_of(events: Iterable[DeliveredEvent]) -> list[str]:
    """The ``ticket_id`` of each event's body that has one (for a ``batch_lock``)."""
    found = []
    for event in events:
        ticket_id = event.data.get("ticket_id") if isinstance(event.data, dict) else None
        if isinstance(ticket_id, str) and ticket_id:
            found.append(ticket_id)
    return found


def _run_together(
    service: Any, handler: Callable | _Form, deliveries: Sequence[_Delivery], lock: bool = True
) -> list:
    """Claim every event in one statement and apply the newly claimed ones in order,
    all in ONE transaction (a batch handler gets them in one call), the handler's
    ``batch_lock`` first when ``lock``. Raises (after the rollback) if anything fails."""
    form = _as_form(handler)
    batch_lock = form.batch_lock if lock else None
    first = deliveries[0]
    pool = getattr(service, first.db_attr)
    callbacks: list[Callable[[], None]] = []
    outcomes = []
    with pool.transaction() as tx:
        _AFTER_COMMIT[tx] = callbacks
        try:
            if batch_lock is not None:
                batch_lock(service, tx, [d.event for d in deliveries])
            claimed = claim_events(
                tx, first.schema, first.consumer, [d.event.event_id for d in deliveries]
            )
            fresh = []
            for delivery in deliveries:
                if delivery.event.event_id in claimed:
                    claimed.discard(delivery.event.event_id)  # a second copy is a duplicate
                    fresh.append(delivery.event)
                    outcomes.append(Outcome.PROCESSED)
                else:
                    outcomes.append(Outcome.DUPLICATE)
            if form.whole_batch:
                if fresh:
                    form.handler(service, tx, fresh)
            else:
                for event in fresh:
                    form.handler(service, tx, event)
        finally:
            _AFTER_COMMIT.pop(tx, None)
    _run_callbacks(callbacks)
    return outcomes


def _timed_once(service: Any, handler: Callable | _Form, delivery: _Delivery) -> _Result:
    started = time.monotonic()
    try:
        outcome: Outcome | BaseException = _run_once(service, handler, delivery)
    except Exception as exc:
        log.error(
            "error handling event",
            exc_info=True,
            extra={"event_id": delivery.event.event_id, "consumer": delivery.consumer},
        )
        outcome = exc
    return _Result(outcome, time.monotonic() - started)


def _run_batch(
    service: Any,
    handler: Callable | _Form,
    wanted: Callable[[Any, DeliveredEvent], bool] | None,
    batch: _Batch,
) -> list[_Result]:
    """One result per delivery, in order. The wanted ones go through one transaction;
    if it fails, each of them through its own (the one-at-a-time path)."""
    results: list[_Result | None] = []
    todo: list[tuple[int, _Delivery]] = []
    for delivery in batch.deliveries:
        started = time.monotonic()
        try:
            keep = wanted is None or wanted(service, delivery.event)
        except Exception as exc:
            log.error("error asking whether the event is wanted", exc_info=True)
            results.append(_Result(exc, time.monotonic() - started))
            continue
        if keep:
            todo.append((len(results), delivery))
            results.append(None)
        else:
            results.append(_Result(Outcome.IGNORED, time.monotonic() - started))
    if len(todo) == 1:
        index, delivery = todo[0]
        results[index] = _timed_once(service, handler, delivery)
    elif todo:
        started = time.monotonic()
        try:
            outcomes = _run_together(service, handler, [d for _, d in todo])
        except Exception as exc:
            consumer = todo[0][1].consumer
            BATCH_FALLBACKS.labels(consumer=consumer).inc()
            log.warning(
                "batch failed; handling its events one by one",
                extra={"consumer": consumer, "batch_size": len(todo), "error": _error_text(exc)},
            )
            for index, delivery in todo:
                results[index] = _timed_once(service, handler, delivery)
        else:
            share = (time.monotonic() - started) / len(todo)
            for (index, _), outcome in zip(todo, outcomes, strict=True):
                results[index] = _Result(outcome, share)
    return results


def idempotent_event_handler(
    source_service: str,
    event_type: str,
    *,
    consumer: str | None = None,
    db_attr: str = "db",
    schema: str | None = None,
    max_attempts: int = 5,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    wanted: Callable[[Any, DeliveredEvent], bool] | None = None,
    bind: bool = True,
    batch: bool = True,
    batch_lock: BatchLock | None = None,
    batch_handler: bool = False,
    **kwargs: Any,
) -> Callable[[Callable], Callable]:
    """Decorate ``def handle(self, tx, event)`` as an exactly-once event handler.

    ``consumer`` (default ``<service>.<method>``) is the key in
    ``<schema>.processed_events`` (schema default: the service name); keep it stable,
    or already-processed events would be applied again. ``max_attempts`` counts the
    first delivery; ``retry_delays[n-1]`` seconds pass before attempt ``n+1``.
    ``wanted(self, event)``, when given, is asked first: False acknowledges the event
    with no transaction at all (a subscriber to ``#`` that needs few of the events
    should not pay a database round trip for each of the others).
    ``bind=False`` declares the queue unbound: the service manages its bindings itself
    (routing keys narrower than ``event_type``, changed at run time). ``batch=False``
    keeps the handler at one delivery per worker and transaction whatever
    ``CONSUMER_BATCH_SIZE`` says (for a handler that cannot share a transaction).
    ``batch_lock(self, tx, events)``, when given, runs first in a batch's transaction
    (before the claim): a handler that takes a lock per event (a ticket's advisory
    lock) takes all of the batch's here, in one fixed order (``lock_advisory``), so two
    batches locking the same tickets in different orders cannot deadlock.
    ``batch_handler=True``: the handler is ``def handle(self, tx, events)`` and gets
    all newly claimed (and wanted) events of a transaction in one call, in delivery
    order (a one-element list for a lone delivery and on the one-at-a-time fallback);
    its ``batch_lock`` then runs in every transaction, a lone delivery's too.
    """

    def decorate(handler: Callable) -> Callable:
        form = _Form(handler, batch_lock, batch_handler)

        @functools.wraps(handler)
        def run(self, delivery: _Delivery | _Batch) -> Outcome | list[_Result]:
            if isinstance(delivery, _Batch):
                return _run_batch(self, form, wanted, delivery)
            if wanted is not None and not wanted(self, delivery.event):
                return Outcome.IGNORED
            return _run_once(self, form, delivery)

        register_entrypoint(
            run,
            IdempotentEventHandler(
                source_service,
                event_type,
                consumer=consumer,
                db_attr=db_attr,
                schema=schema,
                max_attempts=max_attempts,
                retry_delays=retry_delays,
                bind=bind,
                batch=batch,
                **kwargs,
            ),
        )
        return run

    return decorate
