"""Custom request headers an admin may add to an endpoint, e.g. a static
``Authorization: Bearer ...`` an API gateway in front of the receiver wants.

Their values may be credentials: stored, sent, never shown back (views list the
names). Headers that describe the request itself, and every ``X-Pasokh-*`` header
(the signature's), cannot be set, so a custom header can never forge or hide them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_HEADERS = 10
MAX_VALUE = 1000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
RESERVED = frozenset(
    {
        "host",
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "user-agent",
        "te",
        "trailer",
        "upgrade",
        "expect",
    }
)


class InvalidHeaders(ValueError):
    """Says which header and why (for the admin's error)."""


def check_headers(headers: Mapping[str, str]) -> dict[str, str]:
    if len(headers) > MAX_HEADERS:
        raise InvalidHeaders(f"at most {MAX_HEADERS} headers")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if not _NAME.match(name):
            raise InvalidHeaders(f"{name!r} is not a header name")
        if lowered in RESERVED or lowered.startswith("x-pasokh-"):
            raise InvalidHeaders(f"{name} is set by Pasokh and cannot be changed")
        if lowered in {n.lower() for n in checked}:
            raise InvalidHeaders(f"{name} is given twice")
        if not value or len(value) > MAX_VALUE or any(c in value for c in "\r\n\0"):
            raise InvalidHeaders(f"{name}: a value of 1 to {MAX_VALUE} characters on one line")
        checked[name] = value
    return checked
