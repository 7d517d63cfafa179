"""What the strings people type to identify themselves mean.

A login string is a mobile number when it reads as one in any way people in Iran type
it (Persian or Arabic digits, spaces, dashes, +98/0098/0), otherwise a username.
Usernames start with a Latin letter, so no username can ever read as a phone number
and the two never collide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pasokh_common.text import normalise_mobile, normalise_text

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{2,31}$")
DEPARTMENT_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,62}$")


class LoginKind(StrEnum):
    PHONE = "phone"
    USERNAME = "username"


@dataclass(frozen=True)
class LoginIdentifier:
    kind: LoginKind
    value: str

    @property
    def throttle_key(self) -> str:
        """The account key for an identifier that matched no account: failures against
        it are still counted, so guessing at unknown names is throttled too."""
        return f"{self.kind.value}:{self.value}"


def normalise_username(text: str) -> str:
    return normalise_text(text).lower()


def is_valid_username(text: str) -> bool:
    return bool(USERNAME_PATTERN.fullmatch(text))


def parse_login(text: str) -> LoginIdentifier:
    phone = normalise_mobile(text)
    if phone is not None:
        return LoginIdentifier(LoginKind.PHONE, phone)
    return LoginIdentifier(LoginKind.USERNAME, normalise_username(text))


def is_valid_department_id(text: str) -> bool:
    return bool(DEPARTMENT_ID_PATTERN.fullmatch(text))
