"""Read side of the tickets service: answers from the read models, authorised per actor.

A ticket the caller may not see is "not found" (the API answers 404, not 403), so
ticket ids and numbers cannot be probed.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.db import ConnectionPool
from pasokh_common.errors import NotFound, ValidationFailed, bilingual
from pasokh_common.eventlog import RecordedEvent
from pasokh_common.eventlog.chain_check import check_events
from pasokh_common.validation import load, shared_schema

import psycopg

from services.tickets import schemas
from services.tickets.application import STORE, actor_from, summary_json, to_domain
from services.tickets.attachments import AttachmentStorage, PostgresAttachmentStorage
from services.tickets.audit_export import build_document, render_html
from services.tickets.domain import Actor, Ticket
from services.tickets.domain.errors import NotInDepartment, NotPermitted
from services.tickets.domain.numbers import format_ticket_number, parse_ticket_number
from services.tickets.membership import narrow_to_membership

_PRIORITY_RANK = (
    "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END"
)
_QUEUE_ORDER = {
    "customer_last_wrote": "last_customer_message_at, ticket_id",
    "opened": "opened_at, ticket_id",
    "priority": f"{_PRIORITY_RANK}, last_customer_message_at, ticket_id",
    # Most urgent first; tickets without a running deadline after, oldest waiting first.
    "sla_deadline": "sla_deadline NULLS LAST, last_customer_message_at, ticket_id",
}
OPEN_STATUSES = ("unanswered", "under_review", "answered")
_QUEUE_SELECT = (
    "SELECT s.*, d.next_deadline AS sla_deadline,"
    " coalesce(d.warned_deadline = d.next_deadline, false) AS sla_at_risk"
    " FROM tickets.ticket_summary AS s"
    " LEFT JOIN tickets.sla_deadlines AS d USING (ticket_id) WHERE "
)


class TicketQueries:
    def __init__(self, pool: ConnectionPool, storage: AttachmentStorage | None = None) -> None:
        self.pool = pool
        self.storage = storage or PostgresAttachmentStorage()

    def _visible_events(
        self, conn: psycopg.Connection, actor: Actor, ticket_id: str
    ) -> list[RecordedEvent]:
        """The ticket's events, if ``actor`` may see the ticket (else: not found)."""
        actor = narrow_to_membership(conn, actor)
        events = STORE.load(conn, ticket_id)
        if not events or not Ticket.from_events(to_domain(events)).can_view(actor):
            raise NotFound(f"ticket {ticket_id}")
        return events

    def _audit_events(
        self, conn: psycopg.Connection, actor: Actor, ticket_id: str
    ) -> list[RecordedEvent]:
        """The ticket's events for an audit trail: staff who may see the ticket only."""
        events = self._visible_events(conn, actor, ticket_id)
        if not actor.is_staff:
            raise NotPermitted("the audit trail is for staff")
        return events

    def get_ticket(self, actor_data: Any, ticket_id: str) -> dict[str, Any]:
        actor = actor_from(actor_data)
        ticket_id = _uuid_text(ticket_id)
        with self.pool.connection() as conn:
            self._visible_events(conn, actor, ticket_id)
            summary = conn.execute(
                "SELECT * FROM tickets.ticket_summary WHERE ticket_id = %s", (ticket_id,)
            ).fetchone()
            messages = conn.execute(
                "SELECT message_id, kind, author_id, author_role, body, created_at, attachments"
                " FROM tickets.messages WHERE ticket_id = %s"
                + ("" if actor.is_staff else " AND kind <> 'internal_note'")
                + " ORDER BY position",
                (ticket_id,),
            ).fetchall()
        view = summary_json(summary)
        view["number_display"] = format_ticket_number(view["number"])
        view["messages"] = [summary_json(m) for m in messages]
        return view

    def list_mine(self, actor_data: Any, params: Any) -> dict[str, Any]:
        actor = actor_from(actor_data)
        values = load(shared_schema(schemas.ListMineSchema), params or {})
        where = [
            "(customer_id = %(me)s"
            + (" OR organisation_id = %(org)s)" if actor.organisation_id else ")")
        ]
        args: dict[str, Any] = {"me": actor.id, "org": actor.organisation_id}
        if values["status"]:
            where.append("status = %(status)s")
            args["status"] = values["status"]
        with self.pool.connection() as conn:
            return self._page(
                conn,
                "SELECT * FROM tickets.ticket_summary WHERE " + " AND ".join(where),
                "updated_at DESC, ticket_id",
                args,
                values["page"],
                values["per_page"],
            )

    def queue(self, actor_data: Any, params: Any) -> dict[str, Any]:
        actor = actor_from(actor_data)
        values = load(shared_schema(schemas.QueueSchema), params or {})
        where = ["department = %(dept)s", "status <> 'closed'"]
        args: dict[str, Any] = {"dept": values["department"]}
        if values["status"]:
            where = ["department = %(dept)s", "status = %(status)s"]
            args["status"] = values["status"]
        with self.pool.connection() as conn:
            if not narrow_to_membership(conn, actor).works_in(values["department"]):
                raise NotInDepartment(values["department"])
            return self._page(
                conn,
                _QUEUE_SELECT + " AND ".join(where),
                _QUEUE_ORDER[values["order"]],
                args,
                values["page"],
                values["per_page"],
            )

    def department_counts(self, actor_data: Any, department: Any) -> dict[str, int]:
        """Open tickets of one department by status, for a supervisor's overview (the
        same membership rule as the queue)."""
        actor = actor_from(actor_data)
        values = load(shared_schema(schemas.QueueSchema), {"department": department})
        counts = dict.fromkeys(OPEN_STATUSES, 0)
        with self.pool.connection() as conn:
            if not narrow_to_membership(conn, actor).works_in(values["department"]):
                raise NotInDepartment(values["department"])
            rows = conn.execute(
                "SELECT status, count(*) AS n FROM tickets.ticket_summary"
                " WHERE department = %s AND status <> 'closed' GROUP BY status",
                (values["department"],),
            ).fetchall()
        counts.update({row["status"]: int(row["n"]) for row in rows})
        return counts

    def _page(
        self,
        conn: psycopg.Connection,
        base: str,
        order: str,
        args: dict[str, Any],
        page: int,
        per_page: int,
    ) -> dict[str, Any]:
        total = conn.execute(f"SELECT count(*) AS n FROM ({base}) AS q", args).fetchone()["n"]
        rows = conn.execute(
            f"{base} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s",
            {**args, "limit": per_page, "offset": (page - 1) * per_page},
        ).fetchall()
        return {
            "items": [summary_json(r) for r in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
        }

    def find_by_number(self, actor_data: Any, params: Any) -> dict[str, Any]:
        actor_from(actor_data)
        values = load(shared_schema(schemas.FindByNumberSchema), params)
        number = parse_ticket_number(values["number"])
        if number is None:
            raise NotFound(f"ticket number {values['number']}")
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT ticket_id::text AS id FROM tickets.ticket_summary WHERE number = %s",
                (number,),
            ).fetchone()
        if row is None:
            raise NotFound(f"ticket number {number}")
        return self.get_ticket(actor_data, row["id"])

    def history(self, actor_data: Any, ticket_id: str) -> list[dict[str, Any]]:
        """The audit trail: every event of the ticket with who did it, when and from where."""
        actor = actor_from(actor_data)
        ticket_id = _uuid_text(ticket_id)
        with self.pool.connection() as conn:
            events = self._audit_events(conn, actor, ticket_id)
        return [
            {
                "position": e.position,
                "version": e.version,
                "event_id": str(e.event_id),
                "type": e.type,
                "schema_version": e.schema_version,
                "data": e.data,
                "actor_id": e.metadata.get("actor_id"),
                "actor_role": e.metadata.get("actor_role"),
                "correlation_id": e.metadata.get("correlation_id"),
                "causation_id": e.metadata.get("causation_id"),
                "origin": e.metadata.get("origin"),
                "recorded_at": e.recorded_at.isoformat(),
            }
            for e in events
        ]

    def export_audit_trail(
        self, actor_data: Any, ticket_id: str, output: str = "json"
    ) -> dict[str, Any]:
        """The audit trail as a document for auditors (``audit_export``): the same
        authorisation as ``history``, plus each event's place in the hash chain and
        whether its stored hash still matches. ``output`` ``html`` answers
        ``{"html": page}`` (the printable page) instead of the JSON document."""
        if output not in ("json", "html"):
            raise ValidationFailed(
                fields={"format": [bilingual("قالب باید json یا html باشد.", "json or html.")]}
            )
        actor = actor_from(actor_data)
        ticket_id = _uuid_text(ticket_id)
        with self.pool.connection() as conn:
            events = self._audit_events(conn, actor, ticket_id)
            chain = check_events(conn, STORE.schema, [e.position for e in events])
        state = Ticket.from_events(to_domain(events))
        number = str(events[0].data.get("number", ""))
        ticket = {
            "ticket_id": ticket_id,
            "number": number,
            "number_display": format_ticket_number(number) if number else "",
            "department": state.department,
        }
        document = build_document(ticket, events, chain, actor_data, datetime.now(UTC))
        return {"html": render_html(document)} if output == "html" else document

    def download_attachment(self, actor_data: Any, attachment_id: str) -> dict[str, Any]:
        actor = actor_from(actor_data)
        attachment_id = _uuid_text(attachment_id)
        with self.pool.connection() as conn:
            link = conn.execute(
                "SELECT ticket_id::text AS ticket_id, internal FROM tickets.attachment_links"
                " WHERE attachment_id = %s",
                (attachment_id,),
            ).fetchone()
            stored = self.storage.describe(conn, attachment_id)
            if link is None:
                if stored.uploader_id != actor.id:
                    raise NotFound(f"attachment {attachment_id}")
            else:
                self._visible_events(conn, actor, link["ticket_id"])
                if link["internal"] and not actor.is_staff:
                    raise NotFound(f"attachment {attachment_id}")
            data = self.storage.read(conn, attachment_id)
        return {**stored.__dict__, "data_base64": base64.b64encode(data).decode("ascii")}


def _uuid_text(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise NotFound(f"{value}") from exc
