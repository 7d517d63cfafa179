"""The tickets service's personal data: sealed in the log, erasable on ``UserErased``.

Every personal field of a ticket's events (``PERSONAL_FIELDS`` of each event class,
including agents' replies and notes: they are about the customer's matter) is
stored encrypted under the ticket's customer's data key (pasokh_common.personal_data).
``seal`` is where domain events become stored rows; ``CODEC.decode`` is the
tickets ``EventStore``'s decoder, so loads, queries, the rebuild and the relay see
plaintext, or ``ERASED`` once the customer's key is destroyed.

``erase_customer`` runs when identity says a user was erased: it destroys the key and
scrubs the copies outside the log (read models, attachment bytes). The log itself is
never touched. Details and the reasons: docs/privacy.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.eventlog import NewEvent
from pasokh_common.personal_data import (
    ERASED,
    PersonalDataCodec,
    PostgresKeyStore,
    is_envelope,
)
from pasokh_common.settings import env_float

import psycopg

from services.tickets.domain.events import PERSONAL_FIELDS

KEYS = PostgresKeyStore("tickets", cache_seconds=env_float("TICKETS_KEY_CACHE_SECONDS", 30.0))
CODEC = PersonalDataCodec(KEYS, PERSONAL_FIELDS)


def customer_of(conn: psycopg.Connection, ticket: Any, stream_id: str, events: Sequence) -> str:
    """Whose key seals the events of ``stream_id``: the ticket's customer (from the
    loaded ticket, the opening event, or the read model for another stream)."""
    if ticket is not None and getattr(ticket, "id", None) == stream_id and ticket.customer_id:
        return ticket.customer_id
    for event in events:
        customer_id = getattr(event, "customer_id", None)
        if customer_id:
            return customer_id
    row = conn.execute(
        "SELECT customer_id FROM tickets.ticket_summary WHERE ticket_id = %s", (stream_id,)
    ).fetchone()
    if row is None:
        raise LookupError(f"no customer known for ticket {stream_id}")
    return row["customer_id"]


def customer_not_erased(conn: psycopg.Connection, ticket: Any) -> bool:
    """False once the ticket's customer is erased: a cached ticket (plaintext in this
    process's memory) must then be dropped. Answered from the key cache, so at most
    ``TICKETS_KEY_CACHE_SECONDS`` late in a replica that did not do the erasure."""
    customer_id = getattr(ticket, "customer_id", None)
    if not customer_id:
        return True
    key = KEYS.find(conn, customer_id)  # never creates one: a read
    return key is None or key.key is not None


def seal(
    conn: psycopg.Connection, customer_id: str, events: Sequence[NewEvent]
) -> tuple[list[NewEvent], list[dict[str, Any]]]:
    """``events`` with personal fields sealed (what is stored), and their data as a
    reader will see it (what the projections of the same statement need): the
    plaintext, or ``ERASED`` for text about an already erased customer."""
    sealed = [CODEC.encode(conn, customer_id, event) for event in events]
    return sealed, [
        _as_read(event.data, stored.data) for event, stored in zip(events, sealed, strict=True)
    ]


def creates_key(conn: psycopg.Connection, customer_id: str, events: Sequence[NewEvent]) -> bool:
    """Whether sealing ``events`` would create the customer's data key (their first
    personal data here: a write, and one that must commit with the events, see
    ``services/tickets/application.py``). Reads the key at most once (then cached)."""
    if not any(CODEC.personal(event) for event in events):
        return False
    return KEYS.find(conn, customer_id) is None


def _as_read(plain: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    return {name: plain[name] if is_envelope(value) else value for name, value in stored.items()}


def erase_customer(conn: psycopg.Connection, customer_id: str) -> dict[str, int]:
    """Forget a customer: destroy their key, scrub the read models of their tickets
    to what a rebuild would now give (``ERASED`` texts), delete the attachment bytes of
    their tickets and uploads. Idempotent. Ticket numbers, statuses, times, who did
    what and the ratings' scores stay."""
    KEYS.destroy(conn, customer_id)
    tickets = conn.execute(
        "UPDATE tickets.ticket_summary SET subject = %(erased)s,"
        " rating_comment = CASE WHEN rating_comment IS NULL THEN NULL ELSE %(erased)s END"
        " WHERE customer_id = %(customer)s",
        {"erased": ERASED, "customer": customer_id},
    ).rowcount
    messages = conn.execute(
        "UPDATE tickets.messages AS m SET body = %(erased)s,"
        " attachments = coalesce((SELECT jsonb_agg("
        "jsonb_set(a, '{name}', to_jsonb(%(erased)s::text)) ORDER BY n)"
        " FROM jsonb_array_elements(m.attachments) WITH ORDINALITY AS x(a, n)),"
        " '[]'::jsonb)"
        " FROM tickets.ticket_summary AS s"
        " WHERE s.ticket_id = m.ticket_id AND s.customer_id = %(customer)s",
        {"erased": ERASED, "customer": customer_id},
    ).rowcount
    attachments = conn.execute(
        "DELETE FROM tickets.attachment_blobs WHERE uploader_id = %(customer)s"
        " OR attachment_id IN (SELECT l.attachment_id FROM tickets.attachment_links AS l"
        "  JOIN tickets.ticket_summary AS s USING (ticket_id) WHERE s.customer_id = %(customer)s)",
        {"customer": customer_id},
    ).rowcount
    return {"tickets": tickets, "messages": messages, "attachments": attachments}
