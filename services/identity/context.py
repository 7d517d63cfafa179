"""What every identity flow is given: the database, settings, clock and ports.

Flows take a clock instead of reading the time, and a ``CodeSender`` instead of
calling notify, so the time rules are tested by moving a clock and the flows run
without RabbitMQ; the service wires the real ones in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pasokh_common.db import ConnectionPool
from pasokh_common.errors import ValidationFailed, bilingual

from services.identity.config import IdentityConfig
from services.identity.passwords import Passwords
from services.identity.tokens import TokenIssuer

Clock = Callable[[], datetime]
MAX_ADDRESS_LENGTH = 100
UNKNOWN_ADDRESS = "unknown"


def utc_now() -> datetime:
    return datetime.now(UTC)


class CodeSender(Protocol):
    """Hands a code to whoever delivers it (notify, by RPC). Raises CodeNotSent when it
    could not; the code is then forgotten as if never made."""

    def send(self, user_id: str, phone: str, code: str, purpose: str, language: str) -> None: ...


@dataclass
class Dependencies:
    pool: ConnectionPool
    config: IdentityConfig
    passwords: Passwords
    tokens: TokenIssuer
    sender: CodeSender
    clock: Clock = utc_now


def client_address_of(value: object) -> str:
    """The caller's address as the gateway passes it; only ever a throttling key."""
    if value is None or value == "":
        return UNKNOWN_ADDRESS
    if not isinstance(value, str) or len(value) > MAX_ADDRESS_LENGTH:
        raise ValidationFailed(
            fields={"client_address": [bilingual("نشانی نامعتبر است.", "Invalid client address.")]}
        )
    return value
