"""The console provider (the default for local runs): no SMS leaves the machine.

Each message is logged (number masked, a code's text withheld) and stored in
``notify.outbox`` with its full text, so ``bin/start`` and tests can show what a person
would have received, codes included. It behaves like a good provider: a repeated
client id returns the first row (de-duplication) and the outbox answers lookups, so
the exactly-once machinery runs locally exactly as against Kavenegar. Never use it in
production: the outbox keeps codes in clear.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import pasokh_common  # noqa: F401
from pasokh_common.db import ConnectionPool

from services.notify.domain.outcomes import Delivery, Lookup, LookupResult, Reason, SendResult
from services.notify.domain.phones import mask
from services.notify.domain.segments import count_segments
from services.notify.providers.base import Outgoing, Provider

log = logging.getLogger("pasokh.notify.console")


class ConsoleProvider(Provider):
    name = "console"
    dedupes_client_id = True
    can_lookup = True
    reports_delivery = True

    def __init__(self, pool: ConnectionPool) -> None:
        # Its own small pool: sends run concurrently and must not take the
        # connections the service's handlers need.
        self.pool = pool

    def send(self, message: Outgoing) -> SendResult:
        segments = count_segments(message.text)
        try:
            with self.pool.connection() as conn:
                row = conn.execute(
                    "INSERT INTO notify.outbox (client_id, recipient, body, template, parts,"
                    " encoding) VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (client_id) DO NOTHING RETURNING outbox_id",
                    (
                        message.client_id,
                        message.recipient,
                        message.text,
                        message.template,
                        segments.parts,
                        segments.encoding.value,
                    ),
                ).fetchone()
                if row is None:  # a repeated client id: the first message, as providers do
                    row = conn.execute(
                        "SELECT outbox_id FROM notify.outbox WHERE client_id = %s",
                        (message.client_id,),
                    ).fetchone()
        except Exception as exc:
            return SendResult.unknown(Reason.SERVER_ERROR, f"{type(exc).__name__}")
        shown = "[code withheld]" if message.code else message.text
        log.info(
            "SMS (console provider)",
            extra={
                "to": mask(message.recipient),
                "template": message.template,
                "parts": segments.parts,
                "text": shown,
                "outbox_id": row["outbox_id"],
            },
        )
        return SendResult.accepted(f"console-{row['outbox_id']}")

    def lookup(
        self, message: Outgoing, since: datetime, exclude_ids: Iterable[str] = ()
    ) -> LookupResult:
        try:
            with self.pool.connection() as conn:
                row = conn.execute(
                    "SELECT outbox_id FROM notify.outbox WHERE client_id = %s",
                    (message.client_id,),
                ).fetchone()
        except Exception as exc:
            return LookupResult(Lookup.CANNOT_TELL, detail=type(exc).__name__)
        if row is None:
            return LookupResult(Lookup.NOT_FOUND)
        return LookupResult(Lookup.FOUND, f"console-{row['outbox_id']}")

    def delivery_status(self, provider_ids: list[str]) -> dict[str, Delivery]:
        """The outbox is the phone: what is in it has arrived."""
        return {pid: Delivery.DELIVERED for pid in provider_ids}
