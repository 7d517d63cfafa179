"""What happened to the SMS of a ticket or of a person: for staff, and for a customer
about their own messages.

The actor is the gateway's (as for tickets). Numbers are masked even for staff: which
number got a message is support's question; the number itself is identity's to show.
"""

from __future__ import annotations

from typing import Any

import pasokh_common  # noqa: F401

from services.notify import repository as repo
from services.notify import schemas
from services.notify.context import Dependencies
from services.notify.domain.errors import NotPermitted
from services.notify.domain.phones import mask

STAFF = frozenset({"agent", "supervisor", "admin", "system"})


def message_view(row: dict[str, Any]) -> dict[str, Any]:
    def when(key: str) -> str | None:
        return row[key].isoformat() if row.get(key) else None

    return {
        "message_id": str(row["message_id"]),
        "template": row["template"],
        "language": row["language"],
        "user_id": row["user_id"],
        "ticket_id": row["ticket_id"],
        "state": row["state"],
        "failure_reason": row["failure_reason"],
        "recipient": mask(row["recipient"]),
        "provider": row["provider"],
        "provider_message_id": row["provider_message_id"],
        "encoding": row["encoding"],
        "parts": row["parts"],
        "attempts": row["attempts"],
        "urgent": row["urgent"],
        "created_at": when("created_at"),
        "sent_at": when("sent_at"),
        "delivered_at": when("delivered_at"),
        "failed_at": when("failed_at"),
        "next_attempt_at": when("next_attempt_at") if row["state"] == "queued" else None,
    }


class Queries:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    def for_ticket(self, actor: Any, ticket_id: Any, limit: Any = 100) -> list[dict[str, Any]]:
        who = schemas.load(schemas.ActorSchema(), actor)
        query = schemas.load(schemas.QuerySchema(), {"id": ticket_id, "limit": limit})
        with self.deps.pool.connection() as conn:
            rows = repo.messages_for_ticket(conn, query["id"], query["limit"])
        if who["role"] not in STAFF:
            rows = [r for r in rows if r["user_id"] == who["id"]]
        return [message_view(r) for r in rows]

    def for_user(self, actor: Any, user_id: Any, limit: Any = 100) -> list[dict[str, Any]]:
        who = schemas.load(schemas.ActorSchema(), actor)
        query = schemas.load(schemas.QuerySchema(), {"id": user_id, "limit": limit})
        if who["role"] not in STAFF and who["id"] != query["id"]:
            raise NotPermitted("customers see only their own messages")
        with self.deps.pool.connection() as conn:
            rows = repo.messages_for_user(conn, query["id"], query["limit"])
        return [message_view(r) for r in rows]
