"""Rows as the JSON that RPC callers receive. No view carries a phone number, a
password hash or a code: only ``get_contact`` answers with a phone, to notify."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _id(value: Any) -> str | None:
    return str(value) if value is not None else None


def user_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["user_id"]),
        "name": row["name"],
        "role": row["role"],
        "kind": row["kind"],
        "username": row["username"],
        "language": row["language"],
        "organisation_id": _id(row["organisation_id"]),
        "organisation_name": row.get("organisation_name"),
        "verified": row["phone_verified_at"] is not None,
        "departments": list(row.get("departments") or []),
        "created_at": _iso(row["created_at"]),
    }


def actor_view(row: dict[str, Any]) -> dict[str, Any]:
    """Exactly the actor shape the tickets service takes (its ActorSchema refuses any
    other key)."""
    return {
        "id": str(row["user_id"]),
        "role": row["role"],
        "departments": sorted(row.get("departments") or []),
        "organisation_id": _id(row["organisation_id"]),
    }
