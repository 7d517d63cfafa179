"""Routes for agents, supervisors and admins: the department queue and the commands
only staff may give. The gateway refuses other roles with 403 before any RPC (the
route, not an object, is off limits, so 403 reveals nothing); the tickets service
then checks the department of each ticket itself.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway.api import Access, Call, api
from gateway.base import GatewayBase
from gateway.errors import RouteNotFound
from gateway.routes.tickets import TICKET, command_payload
from gateway.schemas import auth as account_bodies
from gateway.schemas import responses as shapes
from gateway.schemas import tickets as bodies

TAGS = ("agents",)


class StaffRoutes(GatewayBase):
    @api(
        "GET",
        "/api/v1/departments/<department_id>/queue",
        summary="A department's open tickets; by default whoever waited longest comes first",
        access=Access.STAFF,
        tags=TAGS,
        query=bodies.QueueQuery,
        response=shapes.QueuePage,
    )
    def queue(self, call: Call, department_id: str) -> Any:
        return self._rpc(
            self.tickets.queue, call.actor, {**call.query, "department": department_id[:100]}
        )

    @api(
        "POST",
        f"{TICKET}/claim",
        summary="Take the ticket (status under review)",
        access=Access.STAFF,
        tags=TAGS,
        body=bodies.CommandBody,
        response=shapes.TicketSummary,
    )
    def claim(self, call: Call, ticket_id: Any) -> Any:
        return self._ticket_rpc(self.tickets.claim, call.actor, command_payload(call, ticket_id))

    @api(
        "POST",
        f"{TICKET}/release",
        summary="Give the ticket back to the queue",
        access=Access.STAFF,
        tags=TAGS,
        body=bodies.CommandBody,
        response=shapes.TicketSummary,
    )
    def release(self, call: Call, ticket_id: Any) -> Any:
        return self._ticket_rpc(self.tickets.release, call.actor, command_payload(call, ticket_id))

    @api(
        "POST",
        f"{TICKET}/notes",
        summary="An internal note (never shown to the customer)",
        access=Access.STAFF,
        tags=TAGS,
        body=bodies.NoteBody,
        status=201,
        response=shapes.TicketSummary,
    )
    def internal_note(self, call: Call, ticket_id: Any) -> Any:
        return self._ticket_rpc(
            self.tickets.post_internal_note, call.actor, command_payload(call, ticket_id)
        )

    @api(
        "POST",
        f"{TICKET}/transfer",
        summary="Move the ticket to another department (clears the claim)",
        access=Access.STAFF,
        tags=TAGS,
        body=bodies.TransferBody,
        response=shapes.TicketSummary,
    )
    def transfer(self, call: Call, ticket_id: Any) -> Any:
        return self._ticket_rpc(self.tickets.transfer, call.actor, command_payload(call, ticket_id))

    @api(
        "POST",
        f"{TICKET}/priority",
        summary="Change the priority",
        access=Access.STAFF,
        tags=TAGS,
        body=bodies.PriorityBody,
        response=shapes.TicketSummary,
    )
    def change_priority(self, call: Call, ticket_id: Any) -> Any:
        return self._ticket_rpc(
            self.tickets.change_priority, call.actor, command_payload(call, ticket_id)
        )

    @api(
        "POST",
        f"{TICKET}/merge",
        summary="Merge this (duplicate) ticket into another of the same customer; closes this one",
        access=Access.STAFF,
        tags=TAGS,
        body=bodies.MergeBody,
        response=shapes.TicketSummary,
    )
    def merge(self, call: Call, ticket_id: Any) -> Any:
        body = dict(call.body)
        number = body.pop("into_number")
        target = body.pop("into_ticket_id")
        if number is not None:
            target = self._rpc(self.tickets.find_by_number, call.actor, {"number": number})[
                "ticket_id"
            ]
        call.body = body
        return self._ticket_rpc(
            self.tickets.merge,
            call.actor,
            command_payload(call, ticket_id, into_ticket_id=str(target)),
        )

    @api(
        "GET",
        f"{TICKET}/history",
        summary="The audit trail: every event with who, in what role, when, and the request id",
        access=Access.STAFF,
        tags=TAGS,
        response=shapes.AuditEntry,
        many=True,
    )
    def history(self, call: Call, ticket_id: Any) -> Any:
        return self._ticket_rpc(self.tickets.history, call.actor, str(ticket_id))

    @api(
        "GET",
        f"{TICKET}/audit-trail/export",
        summary="The complete audit trail for auditors: JSON, or a printable Persian page",
        description=(
            "Every event with who (actor and role), when (UTC, Tehran time, Jalali date),"
            " what changed (Persian and English) and its place in the tamper-evident hash"
            " chain (chain_seq, chain_hash, whether the stored hash still matches)."
            " `format=html` answers a self-contained RTL page to print or archive."
        ),
        access=Access.STAFF,
        tags=TAGS,
        query=bodies.AuditExportQuery,
        response=shapes.AuditExport,
        also_produces=("text/html",),
    )
    def export_audit_trail(self, call: Call, ticket_id: Any) -> Any:
        output = call.query["format"]
        found = self._ticket_rpc(
            self.tickets.export_audit_trail, call.actor, str(ticket_id), output
        )
        if output == "json":
            return found
        response = Response(found["html"], content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'"
        )
        response.headers["Content-Disposition"] = f'inline; filename="audit-trail-{ticket_id}.html"'
        return response

    @api(
        "POST",
        "/api/v1/customers/search",
        summary="Find a customer by mobile number (phone support; POST keeps it out of URLs)",
        access=Access.STAFF,
        tags=TAGS,
        body=account_bodies.FindCustomerBody,
        response=shapes.User,
    )
    def find_customer(self, call: Call) -> Any:
        return self._rpc(self.identity.find_customer, call.token, call.body)

    @api(
        "GET",
        "/api/v1/users/<uuid:user_id>",
        summary="An account's public profile (staff, or the account itself)",
        access=Access.USER,
        tags=TAGS,
        response=shapes.User,
    )
    def get_user(self, call: Call, user_id: Any) -> Any:
        if not call.is_staff and str(user_id) != call.actor_id:
            raise RouteNotFound("another account")
        return self._rpc(self.identity.get_user, str(user_id))
