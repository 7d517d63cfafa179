"""A stand-in for the notify service with exactly the RPC identity calls, until the real
notify exists. Run as ``python -m pasokh_common.runner notify
tests.support.notify_double:NotifyDouble``.

Each call is appended as one JSON line to the file named by ``NOTIFY_DOUBLE_OUTBOX``,
so a test can read the code a person would have received by SMS. Numbers listed in
``NOTIFY_DOUBLE_FAIL_PHONES`` (comma-separated, E.164) are refused, as a provider
outage would be.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from nameko.rpc import rpc

_WRITE_LOCK = threading.Lock()


class SmsProviderDown(Exception):
    """What the double raises for numbers it is told to refuse."""


class NotifyDouble:
    name = "notify"

    @rpc
    def send_verification_code(
        self, user_id: str, phone: str, code: str, purpose: str, language: str
    ) -> dict[str, Any]:
        failing = {p.strip() for p in os.environ.get("NOTIFY_DOUBLE_FAIL_PHONES", "").split(",")}
        if phone in failing:
            raise SmsProviderDown("refused by NOTIFY_DOUBLE_FAIL_PHONES")
        message_id = str(uuid.uuid4())
        entry = {
            "message_id": message_id,
            "user_id": user_id,
            "phone": phone,
            "code": code,
            "purpose": purpose,
            "language": language,
            "received_at": time.time(),
        }
        with _WRITE_LOCK, open(os.environ["NOTIFY_DOUBLE_OUTBOX"], "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")
        return {"message_id": message_id}


# -- what tests use to read what the double received -----------------------------------


def received(outbox: Path) -> list[dict[str, Any]]:
    if not outbox.exists():
        return []
    lines = outbox.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def messages_to(outbox: Path, phone: str, purpose: str | None = None) -> list[dict[str, Any]]:
    return [
        m
        for m in received(outbox)
        if m["phone"] == phone and (purpose is None or m["purpose"] == purpose)
    ]


def latest_code(outbox: Path, phone: str, purpose: str = "verify_phone") -> str:
    found = messages_to(outbox, phone, purpose)
    if not found:
        raise AssertionError(f"notify received no {purpose} code for {phone}")
    return found[-1]["code"]
