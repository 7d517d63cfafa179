"""People, numbers, a movable clock and a recording code sender for identity tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.identity.domain.errors import CodeNotSent

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PASSWORD = "a long enough secret"
_numbers = itertools.count(1_000_000)


def new_phone() -> str:
    """A distinct valid mobile number in canonical form for each call."""
    return f"+98912{next(_numbers):07d}"


def typed_as_people_do(phone: str) -> str:
    """The same number as someone in Iran might type it: 0-prefixed, Persian digits, spaces."""
    local = "0" + phone[3:]
    persian = local.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    return f"{persian[:4]} {persian[4:7]} {persian[7:]}"


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Sent:
    user_id: str
    phone: str
    code: str
    purpose: str
    language: str


@dataclass
class RecordingSender:
    """Stands where notify stands: keeps what it was given, or refuses when told to."""

    sent: list[Sent] = field(default_factory=list)
    failing: bool = False

    def send(self, user_id: str, phone: str, code: str, purpose: str, language: str) -> None:
        if self.failing:
            raise CodeNotSent("provider down")
        self.sent.append(Sent(user_id, phone, code, purpose, language))

    def last_code(self, phone: str, purpose: str = "verify_phone") -> str:
        codes = [s.code for s in self.sent if s.phone == phone and s.purpose == purpose]
        assert codes, f"no {purpose} code sent to {phone}"
        return codes[-1]


def wrong(code: str) -> str:
    """A code that is certainly not ``code``."""
    return f"{(int(code) + 1) % 10000:04d}"
