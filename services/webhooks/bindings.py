"""The bindings of webhooks' event queues follow the enabled endpoints' filters.

webhooks has one queue per public exchange (``evt-<source>-#--webhooks.<method>``),
declared with NO binding (``idempotent_event_handler(..., bind=False)``), so neither
``pasokh topology`` nor a restart binds it to ``#``. This module binds each queue with
exactly the routing keys (event types, or ``#`` for a glob) that the union of the
enabled endpoints' filters needs (``domain.filters.routing_keys``), and unbinds the
rest, so RabbitMQ does not deliver, and webhooks does not even acknowledge, the many
events no endpoint wants. The ``wanted`` check of the handlers stays: a filter can be
finer than its keys (``Ticket*`` is bound as ``#``).

The order that keeps an endpoint from missing an event:

* A change that adds interest (register, update, enable) records its keys in
  ``webhooks.routing_keys`` (committed), then, in the transaction of the change and
  under the bindings lock, binds them, and only then commits: when the admin hears
  "done", the keys are bound, and every event committed later reaches the queue.
* A change that removes interest (update, disable, delete, auto-disable) commits
  first and unbinds afterwards (``reconcile``).
* ``reconcile`` (at start-up, every ``WEBHOOKS_BINDINGS_RECONCILE_SECONDS`` in each
  replica, and after every change) takes the same lock, reads the enabled filters,
  binds what they need (a no-op for a binding that exists; a repair for one that was
  lost) and unbinds every recorded key, and ``#``, that they do not. The lock means it
  never unbinds what a change that is about to commit has just bound.

AMQP 0-9-1 cannot list a queue's bindings: ``webhooks.routing_keys`` remembers every
key ever bound (recorded before binding), which is what a reconcile may unbind. A
binding added by hand with a key never recorded is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.db import ConnectionPool

import psycopg
from kombu import Exchange, Queue
from nameko.amqp.publish import get_connection

from services.webhooks import repository as repo
from services.webhooks.domain.filters import EVERYTHING, RoutingKeys, routing_keys, union
from services.webhooks.metrics import BOUND_EVERYTHING, BOUND_KEYS, RECONCILES

log = logging.getLogger("pasokh.webhooks")


def desired_keys(filters: list[list[str]]) -> RoutingKeys:
    return union(*(routing_keys(f) for f in filters))


def _pairs(keys: RoutingKeys) -> set[tuple[str, str]]:
    return {(source, key) for source, found in keys.items() for key in found}


class QueueBindings:
    """Binds and unbinds the queues of ``queues`` (source -> the handler's queue,
    declared unbound) to ``exchanges`` (source -> ``<source>.events``)."""

    def __init__(
        self,
        pool: ConnectionPool,
        amqp_uri: str,
        queues: Mapping[str, Queue],
        exchanges: Mapping[str, Exchange],
        ssl: Any = None,
    ) -> None:
        self.pool = pool
        self.amqp_uri = amqp_uri
        self.queues = dict(queues)
        self.exchanges = dict(exchanges)
        self.ssl = ssl
        for source in self.queues:
            BOUND_KEYS.labels(source)
            BOUND_EVERYTHING.labels(source)

    # -- changes that may add interest ------------------------------------------------

    @contextmanager
    def change(self, patterns: list[str] | None = None) -> Iterator[psycopg.Connection]:
        """A transaction for an endpoint change, under the bindings lock, with the keys
        of ``patterns`` (the filter as it will be, if known before) recorded and bound
        before it starts. Inside, ``need(tx, patterns)`` binds more before the commit."""
        keys = self._ours(routing_keys(patterns or []))
        with self.pool.connection() as conn:
            # Committed on its own, before the binding: a rolled-back change must not
            # leave a binding that no reconcile knows to remove.
            repo.record_routing_keys(conn, sorted(_pairs(keys)))
            with conn.transaction():
                repo.lock_bindings(conn)
                self._apply(bind=keys)
                yield conn

    def need(self, tx: psycopg.Connection, patterns: list[str]) -> None:
        """Within ``change``: bind the keys of ``patterns`` too (recorded in ``tx``:
        only for a filter that changed after ``change`` began, which the lock makes
        rare)."""
        keys = self._ours(routing_keys(patterns))
        repo.record_routing_keys(tx, sorted(_pairs(keys)))
        self._apply(bind=keys)

    # -- reconcile ---------------------------------------------------------------------

    def reconcile(self) -> RoutingKeys:
        """Bind what the enabled filters need, unbind the rest; the keys now bound."""
        try:
            with self.pool.connection() as conn:
                early = self._ours(desired_keys(repo.enabled_filters(conn)))
                repo.record_routing_keys(conn, sorted(_pairs(early)))
                with conn.transaction():
                    repo.lock_bindings(conn)
                    wanted = self._ours(desired_keys(repo.enabled_filters(conn)))
                    # Endpoints made before routing keys were recorded (an upgrade).
                    repo.record_routing_keys(conn, sorted(_pairs(wanted) - _pairs(early)))
                    known = set(repo.recorded_routing_keys(conn))
                    known |= {(source, EVERYTHING) for source in self.queues}
                    stale: dict[str, set[str]] = {}
                    for source, key in known - _pairs(wanted):
                        if source in self.queues:
                            stale.setdefault(source, set()).add(key)
                    self._apply(bind=wanted, unbind=stale)
        except Exception:
            RECONCILES.labels("error").inc()
            raise
        RECONCILES.labels("ok").inc()
        for source in self.queues:
            found = wanted.get(source, frozenset())
            BOUND_KEYS.labels(source).set(len(found))
            BOUND_EVERYTHING.labels(source).set(1 if EVERYTHING in found else 0)
        return wanted

    def reconcile_quietly(self) -> None:
        """After a committed change that removed interest: a failure only delays the
        unbinding until the next periodic reconcile."""
        try:
            self.reconcile()
        except Exception:
            log.warning("could not reconcile the event queues' bindings", exc_info=True)

    # -- AMQP --------------------------------------------------------------------------

    def _ours(self, keys: RoutingKeys) -> RoutingKeys:
        return {s: k for s, k in keys.items() if s in self.queues}

    def _apply(
        self,
        bind: Mapping[str, frozenset[str] | set[str]],
        unbind: Mapping[str, set[str]] | None = None,
    ) -> None:
        """One connection: the exchanges and queues declared (a broker that lost them
        gets them back; the queue with no binding), then the binds, then the unbinds."""
        unbind = unbind or {}
        sources = [s for s in self.queues if bind.get(s) or unbind.get(s)]
        if not sources:
            return
        with get_connection(self.amqp_uri, self.ssl) as conn:
            channel = conn.channel()
            try:
                for source in sources:
                    exchange, queue = self.exchanges[source], self.queues[source]
                    exchange(channel).declare()
                    queue(channel).declare()
                    for key in sorted(bind.get(source, ())):
                        channel.queue_bind(
                            queue=queue.name, exchange=exchange.name, routing_key=key
                        )
                    for key in sorted(unbind.get(source, ())):
                        channel.queue_unbind(
                            queue=queue.name, exchange=exchange.name, routing_key=key
                        )
            finally:
                channel.close()
