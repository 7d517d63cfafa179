"""Which events an endpoint receives: its filter, a list of patterns.

A pattern names an event type (``TicketOpened``), a glob over types (``Ticket*``,
``Sla*``), a source and a type (``tickets.TicketClosed``), every event of a source
(``tickets.*``) or everything (``*``). Only ``*`` is special; matching is
case-sensitive, like the event types themselves. Kept pure: the intake asks it for
every event and every endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase

SOURCES = ("tickets", "identity", "sla", "notify")
MAX_PATTERNS = 50
_PATTERN = re.compile(r"^(?:(?P<source>[a-z]+|\*)\.)?(?P<type>[A-Za-z0-9_*]{1,80})$")


class InvalidPattern(ValueError):
    """A pattern that cannot match anything Pasokh publishes, or is malformed."""


def check_pattern(pattern: str) -> str:
    """The pattern unchanged, or InvalidPattern saying why (for the admin's error)."""
    found = _PATTERN.match(pattern or "")
    if not found:
        raise InvalidPattern(
            f"{pattern!r}: use an event type, a glob such as Ticket*, or <source>.<type>"
        )
    source = found.group("source")
    if source not in (None, "*", *SOURCES):
        raise InvalidPattern(f"{pattern!r}: unknown source {source!r}")
    return pattern


def normalise(patterns: Iterable[str]) -> list[str]:
    """Checked, without repeats, in the order given."""
    seen: list[str] = []
    for pattern in patterns:
        check_pattern(pattern)
        if pattern not in seen:
            seen.append(pattern)
    if not seen or len(seen) > MAX_PATTERNS:
        raise InvalidPattern(f"a filter needs 1 to {MAX_PATTERNS} patterns")
    return seen


def matches(patterns: Iterable[str], source: str, event_type: str) -> bool:
    """Whether an event of ``event_type`` published by ``source`` passes the filter."""
    qualified = f"{source}.{event_type}"
    for pattern in patterns:
        target = qualified if "." in pattern else event_type
        if fnmatchcase(target, pattern):
            return True
    return False
