"""Open tickets of one customer in one department whose subject resembles a new one.

The gateway asks this before opening a ticket (the seed asks customers not to open
several tickets on one matter) and answers 409 with the existing ticket's number.
It is a read of the read model, never a rule of the domain: a request flag skips it,
and two openings racing each other may both pass (discouragement, not a constraint).
Only the customer's ``MAX_CANDIDATES`` most recently updated open tickets in the
department are compared.

Similarity is pg_trgm's trigram similarity of ``tickets.subject_key`` (migration
0004): subjects normalised for Persian (Yeh/Kaf, ZWNJ, digits), lower-cased. The new
subject's key is a sub-select, computed once: as a plain expression of a parameter it
was computed again for every candidate (a prepared statement's generic plan cannot
fold it), a quarter of the check's time.
Trigrams tolerate the small differences of people retyping a subject (a word added or
dropped, a typo, a different suffix); 0.5 is the default threshold.
"""

from __future__ import annotations

from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.db import ConnectionPool
from pasokh_common.errors import ValidationFailed, bilingual
from pasokh_common.validation import PersianText, load, shared_schema

from marshmallow import RAISE, Schema, fields, validate

from services.tickets.domain import Actor
from services.tickets.domain.errors import NotInDepartment, NotPermitted
from services.tickets.domain.numbers import format_ticket_number
from services.tickets.membership import narrow_to_membership

DEFAULT_THRESHOLD = 0.5

# The most recently updated open tickets of the customer in the department that are
# compared. Real customers hold a few; the bound keeps one opening's cost flat for a
# customer who holds hundreds (each candidate costs a trigram similarity: about 10 us
# of the database's CPU, 0.7 ms at 70 candidates), and an old forgotten ticket is the
# least likely to be the same matter.
MAX_CANDIDATES = 20

SIMILAR_OPEN_TICKETS = f"""
SELECT ticket_id, number, subject, status, opened_at, score FROM (
    SELECT ticket_id::text AS ticket_id, number, subject, status, opened_at,
           similarity(tickets.subject_key(subject),
                      (SELECT tickets.subject_key(%(subject)s))) AS score
      FROM (SELECT * FROM tickets.ticket_summary
             WHERE customer_id = %(customer_id)s
               AND department = %(department)s
               AND status <> 'closed'
               AND merged_into IS NULL
             ORDER BY updated_at DESC
             LIMIT {MAX_CANDIDATES}) AS recent
) AS candidates
WHERE score >= %(threshold)s
ORDER BY score DESC, opened_at DESC
LIMIT %(limit)s
"""


class SimilarOpenTicketsSchema(Schema):
    class Meta:
        unknown = RAISE

    department = fields.String(required=True, validate=validate.Length(min=1, max=100))
    subject = PersianText(required=True, validate=validate.Length(min=1, max=200))
    customer_id = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=100)
    )
    threshold = fields.Float(
        load_default=DEFAULT_THRESHOLD, validate=validate.Range(min=0.1, max=1.0)
    )
    limit = fields.Integer(load_default=3, validate=validate.Range(min=1, max=10))


# The opening's first read (services/tickets/application.py): the similar open
# tickets and, only if there are none, the new ticket's number; ``{membership}`` is
# an output column of the membership narrowing, or NULL.
NUMBER_UNLESS_SIMILAR = (
    "WITH alike AS (" + SIMILAR_OPEN_TICKETS + ")"
    " SELECT (SELECT coalesce(jsonb_agg(to_jsonb(s) ORDER BY s.score DESC, s.opened_at DESC),"
    " '[]'::jsonb) FROM alike AS s) AS similar,"
    " (SELECT nextval('tickets.ticket_number_seq')"
    " WHERE NOT EXISTS (SELECT 1 FROM alike)) AS n, {membership}"
)


def similarity_params(actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    """The query's parameters for ``actor`` (pure): a customer asks about their own
    tickets; staff name the customer and must work in the department (``actor`` as
    narrowed by the caller)."""
    if actor.is_customer:
        if values["customer_id"] not in (None, actor.id):
            raise NotPermitted("a customer asks only about their own tickets")
        customer_id = actor.id
    else:
        customer_id = values["customer_id"]
        if not customer_id:
            raise ValidationFailed(
                fields={"customer_id": [bilingual("مشتری را مشخص کنید.", "Name the customer.")]}
            )
        if not actor.works_in(values["department"]):
            raise NotInDepartment(values["department"])
    return {
        "subject": values["subject"],
        "customer_id": customer_id,
        "department": values["department"],
        "threshold": values["threshold"],
        "limit": values["limit"],
    }


def similar_items(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "ticket_id": row["ticket_id"],
            "number": row["number"],
            "number_display": format_ticket_number(row["number"]),
            "subject": row["subject"],
            "status": row["status"],
            "similarity": round(float(row["score"]), 3),
        }
        for row in rows
    ]


def similar_open_tickets(pool: ConnectionPool, actor_data: Any, params: Any) -> dict[str, Any]:
    """``{"items": [{ticket_id, number, number_display, subject, status, similarity}]}``,
    most similar first. A customer asks about their own tickets; staff name the
    customer and must work in the department."""
    from services.tickets.application import actor_from  # it imports this module

    actor = actor_from(actor_data)
    values = load(shared_schema(SimilarOpenTicketsSchema), params)
    with pool.connection() as conn:
        if not actor.is_customer:
            actor = narrow_to_membership(conn, actor)
        rows = conn.execute(SIMILAR_OPEN_TICKETS, similarity_params(actor, values)).fetchall()
    return {"items": similar_items(rows)}
