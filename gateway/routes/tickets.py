"""Ticket routes any logged-in account uses: customers for their own (and their
company's) tickets, staff for their departments'. The tickets service decides per
object and answers 404 for a ticket the caller may not see; the gateway passes that
on unchanged, so ids and numbers cannot be probed.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from pasokh_common.errors import ValidationFailed, bilingual

from werkzeug.wrappers import Response

from gateway import metrics
from gateway.api import Access, Call, Limit, Reply, api
from gateway.base import GatewayBase
from gateway.errors import DuplicateTicket, LatinScriptNotAccepted, UnsupportedMediaType
from gateway.filenames import ascii_fallback, sanitise_file_name
from gateway.schemas import responses as shapes
from gateway.schemas import tickets as bodies
from gateway.script import LATIN_SCRIPT_PERSIAN, is_latin_script_persian, script_flags
from gateway.sniffing import BY_EXTENSION
from gateway.uploads import UploadedFile

TAGS = ("tickets",)
TICKET = "/api/v1/tickets/<uuid:ticket_id>"
SAFE_DOWNLOAD_TYPES = frozenset(BY_EXTENSION.values())
DOWNLOAD_CHUNK = 64 * 1024


def with_flags(ticket: dict[str, Any]) -> dict[str, Any]:
    """Marks Latin-script Persian for the agent, per message and on the ticket."""
    flags = set(script_flags(ticket.get("subject")))
    for message in ticket.get("messages") or []:
        message["flags"] = script_flags(message.get("body"))
        flags.update(message["flags"])
    ticket["flags"] = sorted(flags)
    return ticket


def idempotency_key(call: Call) -> str | None:
    return call.body.get("idempotency_key") or call.header("Idempotency-Key")


def command_payload(call: Call, ticket_id: Any, **extra: Any) -> dict[str, Any]:
    """The RPC payload of a command on one ticket: the validated body, the ticket id
    from the path, the idempotency key from the body or the ``Idempotency-Key`` header."""
    payload = {**call.body, **extra, "ticket_id": str(ticket_id)}
    payload["idempotency_key"] = idempotency_key(call)
    if "attachment_ids" in payload:
        payload["attachment_ids"] = [str(i) for i in payload["attachment_ids"]]
    return payload


class TicketRoutes(GatewayBase):
    # -- helpers ---------------------------------------------------------------------

    def _upload(self, call: Call, files: list[UploadedFile]) -> list[dict[str, Any]]:
        """Each file becomes a stored attachment before the command refers to its id,
        so a retried command never resends megabytes."""
        return [
            self._rpc(
                self.tickets.upload_attachment,
                call.actor,
                {
                    "name": f.name,
                    "content_type": f.content_type,
                    "data_base64": base64.b64encode(f.data).decode("ascii"),
                },
            )
            for f in files
        ]

    def _script_warnings(self, department: str | None, texts: dict[str, str]) -> list[str]:
        """Flag Latin-script Persian, or refuse it where the department asks for
        Persian script (customers only: staff follow their own house rules)."""
        found = [name for name, text in texts.items() if is_latin_script_persian(text)]
        if not found:
            return []
        if department in self.runtime.config.persian_only_departments:
            message = bilingual("لطفاً با حروف فارسی بنویسید.", "Please write in Persian script.")
            raise LatinScriptNotAccepted(department, fields={n: [message] for n in found})
        return [LATIN_SCRIPT_PERSIAN]

    def _similar_params(self, call: Call, values: dict[str, Any]) -> dict[str, Any] | None:
        """The duplicate check's parameters, or None when there is nothing to check."""
        params: dict[str, Any] = {
            "department": values["department"],
            "subject": values["subject"],
            "threshold": self.runtime.config.duplicate_similarity,
        }
        if call.is_staff:
            if not values.get("customer_id"):
                return None  # tickets refuses a staff opening without a customer anyway
            params["customer_id"] = values["customer_id"]
        return params

    @staticmethod
    def _refuse_if_similar(items: list[dict[str, Any]] | None) -> None:
        if items:
            metrics.DUPLICATES_REFUSED.inc()
            raise DuplicateTicket(items[0])

    # -- routes ----------------------------------------------------------------------

    @api(
        "POST",
        "/api/v1/tickets",
        summary="Open a ticket (JSON, or multipart/form-data with files in `attachments`)",
        access=Access.USER,
        tags=TAGS,
        body=bodies.OpenTicketBody,
        multipart=True,
        status=201,
        response=shapes.TicketWritten,
        rate=Limit.OPEN_TICKET,
        description=(
            "Refused with 409 `duplicate_ticket` (carrying the existing ticket's number)"
            " when the customer has an open ticket in the department with a similar"
            ' subject, unless `"different_matter": true`. Persian in Latin letters is'
            " refused in departments that require Persian script, else flagged."
        ),
    )
    def open_ticket(self, call: Call) -> Any:
        values = dict(call.body)
        different_matter = values.pop("different_matter")
        department = values["department"]
        if not self._department_exists(department):
            raise ValidationFailed(
                department,
                fields={"department": [bilingual("چنین واحدی وجود ندارد.", "No such department.")]},
            )
        texts = {"subject": values["subject"], "body": values["body"]}
        warnings = self._script_warnings(department, texts) if not call.is_staff else []
        similar = None if different_matter else self._similar_params(call, values)
        if similar is not None and call.files:
            # Refuse before storing the files of a duplicate: a separate check first.
            found = self._rpc(self.tickets.similar_open_tickets, call.actor, similar)
            self._refuse_if_similar(found.get("items"))
            similar = None
        uploaded = self._upload(call, call.files)
        values["attachment_ids"] = [str(i) for i in values["attachment_ids"]] + [
            a["attachment_id"] for a in uploaded
        ]
        values["idempotency_key"] = idempotency_key(call)
        # The check and the opening in one RPC (one round trip through the broker
        # instead of two); tickets opens only when nothing similar is open.
        opened = self._rpc(self.tickets.open_ticket_unless_similar, call.actor, values, similar)
        self._refuse_if_similar(opened.get("similar"))
        ticket = opened["ticket"]
        return Reply(
            {**ticket, "warnings": warnings},
            201,
            {"Location": f"/api/v1/tickets/{ticket['ticket_id']}"},
        )

    @api(
        "GET",
        "/api/v1/tickets",
        summary="My tickets (and my company's), newest activity first, by status, paged",
        access=Access.USER,
        tags=TAGS,
        query=bodies.ListMineQuery,
        response=shapes.TicketPage,
    )
    def list_my_tickets(self, call: Call) -> Any:
        return self._rpc(self.tickets.list_mine, call.actor, call.query)

    @api(
        "GET",
        TICKET,
        summary="One ticket with its conversation (internal notes only for staff)",
        access=Access.USER,
        tags=TAGS,
        response=shapes.TicketDetail,
    )
    def get_ticket(self, call: Call, ticket_id: Any) -> Any:
        return with_flags(self._ticket_rpc(self.tickets.get_ticket, call.actor, str(ticket_id)))

    @api(
        "GET",
        "/api/v1/tickets/by-number/<number>",
        summary="Find a ticket by its number as read out (dashes and Persian digits allowed)",
        access=Access.USER,
        tags=TAGS,
        response=shapes.TicketDetail,
    )
    def find_by_number(self, call: Call, number: str) -> Any:
        found = self._rpc(self.tickets.find_by_number, call.actor, {"number": number[:40]})
        return with_flags(found)

    @api(
        "POST",
        f"{TICKET}/replies",
        summary="Reply (JSON, or multipart with files); a customer's reply may reopen a ticket",
        access=Access.USER,
        tags=TAGS,
        body=bodies.ReplyBody,
        multipart=True,
        status=201,
        response=shapes.TicketWritten,
    )
    def reply(self, call: Call, ticket_id: Any) -> Any:
        warnings: list[str] = []
        if not call.is_staff and is_latin_script_persian(call.body["body"]):
            department = None
            if self.runtime.config.persian_only_departments:
                ticket = self._ticket_rpc(self.tickets.get_ticket, call.actor, str(ticket_id))
                department = ticket.get("department")
            warnings = self._script_warnings(department, {"body": call.body["body"]})
        uploaded = [a["attachment_id"] for a in self._upload(call, call.files)]
        ids = [str(i) for i in call.body["attachment_ids"]] + uploaded
        payload = command_payload(call, ticket_id, attachment_ids=ids)
        ticket = self._ticket_rpc(self.tickets.post_reply, call.actor, payload)
        return {**ticket, "warnings": warnings}

    @api(
        "POST",
        f"{TICKET}/close",
        summary="Close the ticket (the customer, or staff of its department)",
        access=Access.USER,
        tags=TAGS,
        body=bodies.CloseBody,
        response=shapes.TicketSummary,
    )
    def close(self, call: Call, ticket_id: Any) -> Any:
        return self._ticket_rpc(self.tickets.close, call.actor, command_payload(call, ticket_id))

    @api(
        "POST",
        f"{TICKET}/reopen",
        summary="Reopen a closed ticket (within the reopen window)",
        access=Access.USER,
        tags=TAGS,
        body=bodies.CommandBody,
        response=shapes.TicketSummary,
    )
    def reopen(self, call: Call, ticket_id: Any) -> Any:
        return self._ticket_rpc(self.tickets.reopen, call.actor, command_payload(call, ticket_id))

    @api(
        "POST",
        f"{TICKET}/rating",
        summary="Rate a closed ticket, 1-5, once (the customer who opened it)",
        access=Access.USER,
        tags=TAGS,
        body=bodies.RateBody,
        response=shapes.TicketSummary,
    )
    def rate(self, call: Call, ticket_id: Any) -> Any:
        return self._ticket_rpc(self.tickets.rate, call.actor, command_payload(call, ticket_id))

    @api(
        "POST",
        "/api/v1/attachments",
        summary="Upload files (multipart field `attachments`) to refer to by id later",
        access=Access.USER,
        tags=TAGS,
        body=bodies.UploadBody,
        multipart=True,
        status=201,
        response=shapes.Uploaded,
    )
    def upload(self, call: Call) -> Any:
        if not call.files:
            if call.request.mimetype != "multipart/form-data":
                raise UnsupportedMediaType(call.request.mimetype)
            raise ValidationFailed(
                "no files",
                fields={"attachments": [bilingual("فایلی فرستاده نشد.", "No file was sent.")]},
            )
        return {"attachments": self._upload(call, call.files)}

    @api(
        "GET",
        "/api/v1/attachments/<uuid:attachment_id>",
        summary="Download an attachment of a ticket you can see",
        access=Access.USER,
        tags=TAGS,
        produces="application/octet-stream",
    )
    def download(self, call: Call, attachment_id: Any) -> Any:
        found = self._rpc(self.tickets.download_attachment, call.actor, str(attachment_id))
        return download_response(found)


def download_response(found: dict[str, Any]) -> Response:
    """The bytes, streamed in chunks, with a Content-Disposition that cannot be abused
    (RFC 6266: an ASCII ``filename`` and the real name in ``filename*``), and headers
    that stop a browser from rendering it as a page."""
    data = base64.b64decode(found["data_base64"])
    name = sanitise_file_name(found.get("name"))
    content_type = found.get("content_type") or ""
    if content_type not in SAFE_DOWNLOAD_TYPES:
        content_type = "application/octet-stream"
    encoded = quote(name, safe="")
    chunks = (data[i : i + DOWNLOAD_CHUNK] for i in range(0, len(data), DOWNLOAD_CHUNK))
    response = Response(chunks, content_type=content_type, direct_passthrough=True)
    response.headers["Content-Length"] = str(len(data))
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if found.get("sha256"):
        response.headers["ETag"] = f'"{found["sha256"]}"'
    return response
