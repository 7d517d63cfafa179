"""Command handlers of the tickets service: load, decide (pure domain), append + project.

A command's writes are ONE statement per stream: the events INSERT (the log's
guarded append, ``EventStore.prepare_append``) as the first CTE of the statement
that writes every read model, the idempotency record, and returns the summary row
(``projections.compose``). Commit is the fact; the relay publishes afterwards.

Round trips of a customer's command when the ticket is in the aggregate cache: that
one statement, on an autocommit connection (no BEGIN, no COMMIT: one statement is
atomic); with an idempotency key, its lookup first. Opening adds one read before it:
the number, and the duplicate check when asked (``open_ticket(similar=...)``).
Staff commands, merges and a customer's first ticket (their data key is created)
run the writes in a transaction (``TicketCommands._needs_transaction`` says why).

Membership narrowing (services/tickets/membership.py) rides along on a statement the
command runs anyway: the department rows are read by the write statement (or the
similarity read), before COMMIT. The decision is made with the token's departments;
if identity has since taken one away, the transaction rolls back and the command
runs again with the narrowed departments, so nothing is ever committed on rights the
agent no longer has. A refusal (the domain raised) is checked the same way before it
is answered.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.context import CallContext
from pasokh_common.db import ConnectionPool
from pasokh_common.errors import Conflict, NotFound, PasokhError, ValidationFailed, bilingual
from pasokh_common.eventlog import (
    ConcurrencyConflict,
    EventStore,
    NewEvent,
    RecordedEvent,
)
from pasokh_common.metrics import LATENCY_BUCKETS
from pasokh_common.validation import load, shared_schema

import psycopg
from prometheus_client import Counter, Histogram
from psycopg.types.json import Jsonb

from services.tickets import projections, schemas
from services.tickets.aggregate_cache import TicketCache
from services.tickets.attachments import (
    UNUSED_UPLOAD_GRACE,
    AttachmentStorage,
    PostgresAttachmentStorage,
)
from services.tickets.domain import (
    Actor,
    AttachmentRef,
    Priority,
    Role,
    Ticket,
    TicketPolicy,
    event_from_data,
)
from services.tickets.domain.errors import AttachmentTooLarge
from services.tickets.domain.numbers import ticket_number_for
from services.tickets.membership import (
    ACTIVE_DEPARTMENTS,
    ACTIVE_DEPARTMENTS_KEY,
    membership_params,
    narrow_to_membership,
    narrowed,
    needs_narrowing,
)
from services.tickets.privacy import CODEC, creates_key, customer_not_erased, customer_of, seal
from services.tickets.similarity import (
    NUMBER_UNLESS_SIMILAR,
    SimilarOpenTicketsSchema,
    similar_items,
    similarity_params,
)
from services.tickets.ticket_repository import CommandSession, TicketRepository

log = logging.getLogger(__name__)

# Reads open the sealed personal fields (services/tickets/privacy.py); STORE.raw()
# gives the rows exactly as stored.
STORE = EventStore("tickets", decoder=CODEC.decode)

TICKETS_OPENED = Counter(
    "pasokh_tickets_opened_total", "Tickets opened", ["department", "priority"]
)
EVENTS_APPENDED = Counter(
    "pasokh_tickets_events_appended_total", "Events appended to the log", ["event_type"]
)
COMMAND_SECONDS = Histogram(
    "pasokh_tickets_command_seconds",
    "Time to execute a tickets command, load to commit",
    ["command"],
    buckets=LATENCY_BUCKETS,
)
COMMAND_CONFLICTS = Counter(
    "pasokh_tickets_command_conflicts_total",
    "Commands that lost an optimistic-concurrency race",
    ["command"],
)
UPLOADS_PURGED = Counter(
    "pasokh_tickets_unused_uploads_purged_total",
    "Uploads deleted because no ticket or reply used them within the grace period",
)

# ``EventStore.record_result`` as a CTE of the command's one statement (one round trip
# less for a command with an idempotency key), written only with the events; a
# twin's key collides the same way, and the whole statement writes nothing.
RECORD_RESULT = (
    "INSERT INTO tickets.command_results (idempotency_key, command, stream_id, result)"
    " SELECT %(result_key)s::text, %(result_command)s::text, %(result_stream)s::text,"
    " %(result_json)s::jsonb WHERE " + projections.WHEN_APPENDED
)

# Times a command may find its actor's departments narrowed before it gives up (each
# is a membership change between two transactions of the same command).
MAX_NARROWINGS = 3


class MembershipNarrowed(Exception):
    """Identity took away a department the command was decided with: roll back and
    decide again with ``actor``. Never leaves ``TicketCommands``."""

    def __init__(self, actor: Actor) -> None:
        super().__init__(f"departments of {actor.id} narrowed")
        self.actor = actor


class MembershipCheck:
    """Confirms, inside the command's transaction, that the actor the command decided
    with is the token's actor narrowed by identity's membership rows."""

    def __init__(self, token_actor: Actor, actor: Actor) -> None:
        self.token_actor = token_actor
        self.actor = actor
        self.needed = needs_narrowing(token_actor)

    @property
    def column(self) -> str:
        """An output column to add to a statement, or empty when nothing is to check."""
        return ACTIVE_DEPARTMENTS if self.needed else ""

    @property
    def params(self) -> dict[str, Any]:
        return membership_params(self.token_actor) if self.needed else {}

    def confirm(self, active_departments: list[str] | None) -> None:
        expected = narrowed(self.token_actor, active_departments)
        if expected != self.actor:
            raise MembershipNarrowed(expected)

    def confirm_by_query(self, conn: psycopg.Connection) -> None:
        if self.needed:
            expected = narrow_to_membership(conn, self.token_actor)
            if expected != self.actor:
                raise MembershipNarrowed(expected)


Decision = Callable[[Ticket, Actor, datetime, psycopg.Connection, MembershipCheck], list]


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_new_event(domain_event: Any) -> NewEvent:
    return NewEvent(
        type=domain_event.TYPE,
        data=domain_event.to_data(),
        schema_version=domain_event.SCHEMA_VERSION,
    )


def unwritten(
    stream_id: str,
    base: int,
    stored: Sequence[NewEvent],
    as_read: Sequence[dict[str, Any]],
    now: datetime,
) -> list[RecordedEvent]:
    """The events to append after ``base`` as the projections see them, before the
    log gave them a position, xid and time (those come from the statement itself;
    the projections never read them here)."""
    return [
        RecordedEvent(
            position=0,
            xid=0,
            stream_id=stream_id,
            version=base + n + 1,
            event_id=event.event_id,
            type=event.type,
            schema_version=event.schema_version,
            data=data,
            metadata={},
            recorded_at=now,
        )
        for n, (event, data) in enumerate(zip(stored, as_read, strict=True))
    ]


def to_domain(recorded: Sequence[RecordedEvent]) -> list:
    return [event_from_data(e.type, e.data, e.schema_version) for e in recorded]


def actor_from(data: Any) -> Actor:
    values = load(shared_schema(schemas.ActorSchema), data)
    return Actor(
        id=values["id"],
        role=Role(values["role"]),
        departments=frozenset(values["departments"]),
        organisation_id=values["organisation_id"],
    )


class TicketCommands:
    def __init__(
        self,
        pool: ConnectionPool,
        storage: AttachmentStorage | None = None,
        policy: TicketPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
        cache: TicketCache | None = None,
    ) -> None:
        self.pool = pool
        # ``cache``: the process's TicketCache (the service's TicketCacheProvider);
        # None loads every ticket from the log.
        self.tickets = TicketRepository(
            STORE,
            cache,
            decode=lambda history: to_domain(history),
            still_usable=customer_not_erased,
        )
        self.storage = storage or PostgresAttachmentStorage()
        self.policy = policy or TicketPolicy()
        self.clock = clock

    # -- the one way every command runs -------------------------------------------

    def _run(
        self,
        command: str,
        actor: Actor,
        ticket_id: str,
        decide: Decision,
        context: CallContext,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        new_stream: bool = False,
    ) -> dict[str, Any]:
        started = time.perf_counter()
        scoped_key = f"{actor.id}:{command}:{idempotency_key}" if idempotency_key else None
        attempts = 1 if expected_version is not None else 3
        token_actor = actor
        narrowings = 0
        try:
            attempt = 0
            while True:
                attempt += 1
                try:
                    return self.tickets.run(
                        ticket_id,
                        lambda session, acting=actor: self._run_once(
                            command,
                            MembershipCheck(token_actor, acting),
                            ticket_id,
                            decide,
                            context,
                            scoped_key,
                            expected_version,
                            new_stream,
                            session,
                        ),
                    )
                except MembershipNarrowed as exc:
                    # Rolled back; not a conflict: decide again with fewer departments.
                    narrowings += 1
                    if narrowings > MAX_NARROWINGS:
                        raise Conflict("department membership kept changing") from exc
                    actor = exc.actor
                    attempt -= 1
                except ConcurrencyConflict as exc:
                    COMMAND_CONFLICTS.labels(command).inc()
                    if attempt >= attempts:
                        raise Conflict(str(exc)) from exc
                except psycopg.errors.UniqueViolation as exc:
                    # A concurrent twin with the same idempotency key committed first.
                    if scoped_key and "command_results" in str(exc.diag.table_name or ""):
                        return self._replay_result(scoped_key)
                    raise
        finally:
            COMMAND_SECONDS.labels(command).observe(time.perf_counter() - started)

    def _replay_result(self, scoped_key: str) -> dict[str, Any]:
        with self.pool.connection() as conn:
            result = STORE.find_result(conn, scoped_key)
            return self._view(conn, result["ticket_id"]) if result else {}

    def _run_once(
        self,
        command: str,
        membership: MembershipCheck,
        ticket_id: str,
        decide: Decision,
        context: CallContext,
        scoped_key: str | None,
        expected_version: int | None,
        new_stream: bool,
        session: CommandSession,
    ) -> dict[str, Any]:
        """One attempt: the reads and the decision on an autocommit connection, then
        the writes, each stream's events INSERT and read models as ONE statement
        (``projections.compose(..., append=...)``), in a transaction only when
        ``_needs_transaction`` says so. Returns only once the writes committed (the
        session's ``committed`` hook runs after)."""
        actor = membership.actor
        with self.pool.connection() as conn, ExitStack() as atomic:
            if scoped_key:
                previous = STORE.find_result(conn, scoped_key)
                if previous is not None:
                    return self._view(conn, previous["ticket_id"])
            try:
                ticket, version = session.load(conn, new_stream)
                if not new_stream and ticket is None:
                    raise NotFound(f"ticket {ticket_id}")
                if expected_version is not None and expected_version != version:
                    raise ConcurrencyConflict(ticket_id, expected_version)
                now = self.clock()
                decided = decide(ticket, actor, now, conn, membership)
            except PasokhError:
                # A refusal is the answer only if the rights it was decided on still hold.
                membership.confirm_by_query(conn)
                raise
            if not decided and new_stream:
                # Nothing to open (the duplicate check found one; decide confirmed the
                # membership with it): no ticket, no idempotency record.
                return {}
            by_stream: dict[str, list] = {}
            for stream_id, event in decided:
                by_stream.setdefault(stream_id, []).append(event)
            writes = [
                (
                    stream_id,
                    events,
                    version if stream_id == ticket_id else len(STORE.load(conn, stream_id)),
                    [to_new_event(e) for e in events],
                    customer_of(conn, ticket, stream_id, events),
                )
                for stream_id, events in by_stream.items()
            ]
            in_transaction = False

            def begin() -> None:
                nonlocal in_transaction
                if not in_transaction:
                    atomic.enter_context(conn.transaction())
                    in_transaction = True

            separate_record = bool(scoped_key) and ticket_id not in by_stream
            if self._needs_transaction(conn, membership, writes, separate_record):
                begin()
            metadata = context.metadata(actor.id, actor.role.value)
            view = None
            result_params = (
                {
                    "result_key": scoped_key,
                    "result_command": command,
                    "result_stream": ticket_id,
                    "result_json": Jsonb({"ticket_id": ticket_id}),
                }
                if scoped_key
                else None
            )
            for stream_id, events, base, new_events, customer_id in writes:
                stored, as_read = seal(conn, customer_id, new_events)
                pending = unwritten(stream_id, base, stored, as_read, now)
                projection = projections.compose(
                    pending, append=STORE.prepare_append(stream_id, base, stored, metadata)
                )
                if projection.statements > 1:
                    begin()  # never within one command today (see Projection)
                # The events, all read models, the summary row (as every event of the
                # command left it) with the membership rows, and the idempotency
                # record: one statement.
                mine = stream_id == ticket_id
                row = projection.write(
                    conn,
                    returning=membership.column if mine else "",
                    params={**membership.params, **(result_params or {})} if mine else None,
                    also=[RECORD_RESULT] if mine and result_params else (),
                )
                recorded = [
                    replace(record, data=data)
                    for record, data in zip(projection.recorded, as_read, strict=True)
                ]
                session.appended(stream_id, events, recorded)
                if mine:
                    view = row
                    result_params = None  # written
                for event in recorded:
                    EVENTS_APPENDED.labels(event.type).inc()
            if result_params:  # nothing appended to the ticket's own stream
                STORE.record_result(conn, scoped_key, command, ticket_id, {"ticket_id": ticket_id})
            if view is None:
                return self._view(conn, ticket_id, membership)
            if membership.needed:
                membership.confirm(view.pop(ACTIVE_DEPARTMENTS_KEY))
            return summary_json(view)

    @staticmethod
    def _needs_transaction(
        conn: psycopg.Connection,
        membership: MembershipCheck,
        writes: Sequence[tuple[str, list, int, list[NewEvent], str]],
        separate_record: bool,
    ) -> bool:
        """Whether the writes need a transaction (BEGIN before, COMMIT after): not for
        a customer's command on one stream (nor a staff member's whose rights need no
        confirming: no departments to narrow), whose writes are one statement, atomic
        on its own (the events, the read models, the idempotency record, all guarded
        by the append). The reads before it are the same outside a transaction as
        inside: READ COMMITTED gives each statement its own snapshot either way, and
        none takes a lock. A transaction is needed when

        * the actor is staff: the membership rows come back with the write, and a
          department taken away must undo it (``MembershipNarrowed``: roll back,
          decide again), which an autocommitted statement cannot;
        * several streams are written (a merge): one statement each, all or none;
        * a keyed command appends to another stream but not its own: the record is
          then a statement of its own;
        * sealing creates the customer's data key (their first personal data here):
          the key's row stays locked until the events commit, so an erasure racing
          the opening waits for it and then scrubs the new read models too; a key
          committed alone would let the erasure run before the ticket's rows exist.

        A projection written in several statements also begins one (``_run_once``)."""
        if membership.needed or len(writes) + separate_record > 1:
            return True
        return any(creates_key(conn, w[4], w[3]) for w in writes)

    def _view(
        self,
        conn: psycopg.Connection,
        ticket_id: str,
        membership: MembershipCheck | None = None,
    ) -> dict[str, Any]:
        check = membership is not None and membership.needed
        row = conn.execute(
            "SELECT *"
            + (f", {membership.column}" if check else "")
            + " FROM tickets.ticket_summary WHERE ticket_id = %(ticket_id)s",
            {"ticket_id": ticket_id, **(membership.params if check else {})},
        ).fetchone()
        if row is None:
            if check:
                membership.confirm_by_query(conn)
            raise NotFound(f"ticket {ticket_id}")
        if check:
            membership.confirm(row.pop(ACTIVE_DEPARTMENTS_KEY))
        return summary_json(row)

    # -- attachments -------------------------------------------------------------

    def upload_attachment(self, actor_data: Any, payload: Any) -> dict[str, Any]:
        actor = actor_from(actor_data)
        values = load(shared_schema(schemas.UploadSchema), payload)
        try:
            data = base64.b64decode(values["data_base64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationFailed(
                fields={"data_base64": [bilingual("فایل معتبر نیست.", "Not valid base64.")]}
            ) from exc
        if not data:
            raise ValidationFailed(
                fields={"data_base64": [bilingual("فایل خالی است.", "The file is empty.")]}
            )
        if len(data) > self.policy.max_attachment_bytes:
            raise AttachmentTooLarge(f"{len(data)} bytes")
        with self.pool.transaction() as conn:
            stored = self.storage.put(conn, actor.id, values["name"], values["content_type"], data)
        return stored.__dict__.copy()

    def purge_unused_uploads(self, older_than: timedelta = UNUSED_UPLOAD_GRACE) -> int:
        """Housekeeping (a timer and ``pasokh tickets purge-uploads``)."""
        with self.pool.transaction() as conn:
            purged = self.storage.purge_unused(conn, older_than)
        UPLOADS_PURGED.inc(purged)
        return purged

    def _attachment_refs(
        self, conn: psycopg.Connection, actor: Actor, ids: Sequence[uuid.UUID]
    ) -> list[AttachmentRef]:
        refs = []
        for attachment_id in ids:
            stored = self.storage.describe(conn, str(attachment_id))
            linked = conn.execute(
                "SELECT 1 FROM tickets.attachment_links WHERE attachment_id = %s",
                (str(attachment_id),),
            ).fetchone()
            if stored.uploader_id != actor.id or linked:
                raise ValidationFailed(
                    fields={
                        "attachment_ids": [
                            bilingual(
                                "پیوست نامعتبر یا قبلاً استفاده شده است.",
                                f"Attachment {attachment_id} is not yours or already used.",
                            )
                        ]
                    }
                )
            if stored.size > self.policy.max_attachment_bytes:
                raise AttachmentTooLarge(stored.name)
            refs.append(
                AttachmentRef(
                    attachment_id=stored.attachment_id,
                    name=stored.name,
                    size=stored.size,
                    content_type=stored.content_type,
                    sha256=stored.sha256,
                )
            )
        return refs

    # -- commands ----------------------------------------------------------------

    def open_ticket(
        self, actor_data: Any, payload: Any, context: CallContext | None = None
    ) -> dict[str, Any]:
        return self.open_ticket_unless_similar(actor_data, payload, None, context)["ticket"]

    def open_ticket_unless_similar(
        self,
        actor_data: Any,
        payload: Any,
        similar: Any = None,
        context: CallContext | None = None,
    ) -> dict[str, Any]:
        """``{"ticket": view}``, or ``{"similar": items}`` when ``similar`` (the
        parameters of ``similar_open_tickets``) finds open tickets like this one and
        nothing is opened. The duplicate check and the ticket's number are one
        statement of the opening's transaction (no number is drawn for a duplicate).
        As with two separate calls, two openings racing each other may both pass."""
        actor = actor_from(actor_data)
        values = load(shared_schema(schemas.OpenTicketSchema), payload)
        similar_values = (
            load(shared_schema(SimilarOpenTicketsSchema), similar) if similar is not None else None
        )
        ticket_id = str(uuid.uuid4())
        found: list[dict[str, Any]] = []

        def decide(
            _ticket: Ticket,
            actor: Actor,
            now: datetime,
            conn: psycopg.Connection,
            membership: MembershipCheck,
        ):
            found.clear()
            attachments = self._attachment_refs(conn, actor, values["attachment_ids"])
            if similar_values is not None:
                row = conn.execute(
                    NUMBER_UNLESS_SIMILAR.format(membership=membership.column or "NULL"),
                    {**similarity_params(actor, similar_values), **membership.params},
                ).fetchone()
                if membership.needed:
                    membership.confirm(row[ACTIVE_DEPARTMENTS_KEY])
                if row["n"] is None:
                    found.extend(similar_items(row["similar"]))
                    return []
            else:
                row = conn.execute("SELECT nextval('tickets.ticket_number_seq') AS n").fetchone()
            events = Ticket.open(
                ticket_id=ticket_id,
                number=ticket_number_for(row["n"]),
                message_id=str(uuid.uuid4()),
                actor=actor,
                department=values["department"],
                subject=values["subject"],
                priority=Priority(values["priority"]),
                body=values["body"],
                attachments=attachments,
                now=now,
                policy=self.policy,
                customer_id=values["customer_id"],
                organisation_id=values["organisation_id"],
                needs_follow_up=values["needs_follow_up"],
            )
            return [(ticket_id, e) for e in events]

        view = self._run(
            "open_ticket",
            actor,
            ticket_id,
            decide,
            context or CallContext(),
            idempotency_key=values["idempotency_key"],
            new_stream=True,
        )
        if found:
            return {"similar": list(found)}
        if view.get("ticket_id") == ticket_id:
            TICKETS_OPENED.labels(view["department"], view["priority"]).inc()
        return {"ticket": view}

    def _simple(
        self,
        command: str,
        actor_data: Any,
        payload: Any,
        schema: schemas.TicketRefSchema,
        act: Callable[[Ticket, Actor, datetime, dict, psycopg.Connection], list],
        context: CallContext | None,
    ) -> dict[str, Any]:
        actor = actor_from(actor_data)
        values = load(schema, payload)
        ticket_id = str(values["ticket_id"])

        def decide(ticket: Ticket, actor: Actor, now: datetime, conn: psycopg.Connection, _m):
            return [(ticket_id, e) for e in act(ticket, actor, now, values, conn)]

        return self._run(
            command,
            actor,
            ticket_id,
            decide,
            context or CallContext(),
            idempotency_key=values.get("idempotency_key"),
            expected_version=values.get("expected_version"),
        )

    def claim(self, actor_data, payload, context=None):
        return self._simple(
            "claim",
            actor_data,
            payload,
            shared_schema(schemas.TicketRefSchema),
            lambda t, a, now, v, c: t.claim(a, now),
            context,
        )

    def release(self, actor_data, payload, context=None):
        return self._simple(
            "release",
            actor_data,
            payload,
            shared_schema(schemas.TicketRefSchema),
            lambda t, a, now, v, c: t.release(a, now),
            context,
        )

    def post_reply(self, actor_data, payload, context=None):
        def act(t, a, now, v, conn):
            return t.post_reply(
                a,
                v["body"],
                self._attachment_refs(conn, a, v["attachment_ids"]),
                now,
                message_id=str(uuid.uuid4()),
                policy=self.policy,
            )

        return self._simple(
            "post_reply", actor_data, payload, shared_schema(schemas.ReplySchema), act, context
        )

    def post_internal_note(self, actor_data, payload, context=None):
        return self._simple(
            "post_internal_note",
            actor_data,
            payload,
            shared_schema(schemas.ReplySchema),
            lambda t, a, now, v, c: t.post_internal_note(
                a, v["body"], now, message_id=str(uuid.uuid4())
            ),
            context,
        )

    def transfer(self, actor_data, payload, context=None):
        return self._simple(
            "transfer",
            actor_data,
            payload,
            shared_schema(schemas.TransferSchema),
            lambda t, a, now, v, c: t.transfer(a, v["to_department"], v["reason"], now),
            context,
        )

    def change_priority(self, actor_data, payload, context=None):
        return self._simple(
            "change_priority",
            actor_data,
            payload,
            shared_schema(schemas.ChangePrioritySchema),
            lambda t, a, now, v, c: t.change_priority(a, Priority(v["priority"]), now),
            context,
        )

    def close(self, actor_data, payload, context=None):
        return self._simple(
            "close",
            actor_data,
            payload,
            shared_schema(schemas.CloseSchema),
            lambda t, a, now, v, c: t.close(a, now, v["reason"]),
            context,
        )

    def reopen(self, actor_data, payload, context=None):
        return self._simple(
            "reopen",
            actor_data,
            payload,
            shared_schema(schemas.TicketRefSchema),
            lambda t, a, now, v, c: t.reopen(a, now, self.policy),
            context,
        )

    def rate(self, actor_data, payload, context=None):
        return self._simple(
            "rate",
            actor_data,
            payload,
            shared_schema(schemas.RateSchema),
            lambda t, a, now, v, c: t.rate(a, v["score"], v["comment"], now, self.policy),
            context,
        )

    def merge(self, actor_data, payload, context=None):
        def act(t, a, now, v, conn):
            target_events = STORE.load(conn, str(v["into_ticket_id"]))
            if not target_events:
                raise NotFound(f"ticket {v['into_ticket_id']}")
            target = Ticket.from_events(to_domain(target_events))
            if not target.can_view(a):
                raise NotFound(f"ticket {v['into_ticket_id']}")
            return t.merge_into(a, target, now)

        return self._simple(
            "merge", actor_data, payload, shared_schema(schemas.MergeSchema), act, context
        )


def summary_json(row: dict[str, Any]) -> dict[str, Any]:
    """A read-model row as JSON-safe values (RPC bodies are JSON)."""
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            out[key] = value.astimezone(UTC).isoformat()
        elif isinstance(value, uuid.UUID):
            out[key] = str(value)
        else:
            out[key] = value
    return out
