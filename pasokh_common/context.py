"""Where a call came from, recorded in the metadata of every event it causes.

The gateway sends the request id as nameko context data ``correlation_id``; the call id
of the calling worker (nameko's ``immediate_parent_call_id``) becomes the causation id.
(``ContextDataProvider("call_id_stack")`` cannot give it: nameko removes that key from
the worker's context data.) One
dependency provider builds it for every service, so the audit trail reads the same
whichever service wrote the event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from pasokh_common.eventlog import EventMetadata

from nameko.extensions import DependencyProvider


@dataclass
class CallContext:
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    causation_id: str | None = None
    origin: str = "rpc"

    def metadata(self, actor_id: str, actor_role: str) -> EventMetadata:
        return EventMetadata(
            actor_id=actor_id,
            actor_role=actor_role,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            origin=self.origin,
        )


class CallContextProvider(DependencyProvider):
    """Injects the worker's CallContext (a fresh correlation id when none was sent)."""

    def __init__(self, origin: str = "rpc") -> None:
        self.origin = origin

    def get_dependency(self, worker_ctx) -> CallContext:
        data = worker_ctx.context_data or {}
        context = CallContext(origin=self.origin)
        if data.get("correlation_id"):
            context.correlation_id = str(data["correlation_id"])
        parent = worker_ctx.immediate_parent_call_id
        if parent:
            context.causation_id = str(parent)
        return context
