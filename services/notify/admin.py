"""Template administration: staff read the wording, admins change it.

An edit is validated (placeholders, and the worst-case rendering within
``NOTIFY_MAX_PARTS`` parts) before it is stored; it applies to every message not yet
sent, because messages are rendered when sent. Bodies are normalised like all Persian
input (Arabic Yeh/Kaf to Persian, ZWNJ kept).
"""

from __future__ import annotations

from typing import Any

import pasokh_common  # noqa: F401

from services.notify import repository as repo
from services.notify import schemas
from services.notify.context import Dependencies
from services.notify.domain.errors import NotPermitted
from services.notify.domain.segments import count_segments
from services.notify.domain.templates import check_template, render, worst_case_values

STAFF = frozenset({"agent", "supervisor", "admin"})


class Templates:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    def _view(self, row: dict[str, Any]) -> dict[str, Any]:
        sample = render(
            row["body"], worst_case_values(self.deps.config.public_url, row["language"])
        )
        segments = count_segments(sample)
        return {
            "template": row["template"],
            "language": row["language"],
            "body": row["body"],
            "max_parts": segments.parts,
            "encoding": segments.encoding.value,
            "updated_at": row["updated_at"].isoformat() if row.get("updated_at") else None,
            "updated_by": row.get("updated_by"),
        }

    def list(self, actor: Any) -> list[dict[str, Any]]:
        who = schemas.load(schemas.ActorSchema(), actor)
        if who["role"] not in STAFF:
            raise NotPermitted("templates are for staff")
        with self.deps.pool.connection() as conn:
            return [self._view(r) for r in repo.list_templates(conn)]

    def update(self, actor: Any, payload: Any) -> dict[str, Any]:
        who = schemas.load(schemas.ActorSchema(), actor)
        if who["role"] != "admin":
            raise NotPermitted("only admins edit SMS templates")
        values = schemas.load(schemas.TemplateEditSchema(), payload)
        config = self.deps.config
        check_template(
            values["template"],
            values["body"],
            config.max_parts,
            config.public_url,
            values["language"],
        )
        now = self.deps.clock()
        with self.deps.pool.transaction() as tx:
            repo.save_template(
                tx, values["template"], values["language"], values["body"], who["id"], now
            )
        return self._view({**values, "updated_at": now, "updated_by": who["id"]})
