"""Who may change the rules.

Calendars, holiday overrides and department bindings are shared by departments, so
only admins change them. A supervisor may set (or remove) the policy of a department
they belong to; the policy of every department ('*') is an admin's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pasokh_common.eventlog import EventMetadata
from pasokh_common.validation import load

from services.sla.domain.errors import NotPermitted
from services.sla.schemas import ActorSchema


@dataclass(frozen=True)
class Actor:
    id: str
    role: str
    departments: frozenset[str]

    @classmethod
    def parse(cls, data: Any) -> Actor:
        values = load(ActorSchema(), data)
        return cls(values["id"], values["role"], frozenset(values["departments"]))


def require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise NotPermitted(f"{actor.role} {actor.id} may not change calendars")


def require_policy_rights(actor: Actor, department: str | None) -> None:
    if actor.role == "admin":
        return
    if actor.role == "supervisor" and department is not None and department in actor.departments:
        return
    raise NotPermitted(f"{actor.role} {actor.id} may not change this policy")


def metadata_for(actor: Actor, context: Any) -> EventMetadata:
    """The audit trail: who changed the rules, and the request that carried it."""
    if context is not None and hasattr(context, "metadata"):
        return context.metadata(actor.id, actor.role)
    return EventMetadata(actor_id=actor.id, actor_role=actor.role)
