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


# -- routing keys: what RabbitMQ must deliver for a filter to see its events ------------

EVERYTHING = "#"
RoutingKeys = dict[str, frozenset[str]]


def routing_keys(patterns: Iterable[str]) -> RoutingKeys:
    """Per source, the topic binding keys that carry every event the filter matches.

    The routing key of an event is its type. A pattern naming one type (``TicketOpened``,
    ``tickets.TicketOpened``) needs just that key; a glob (``Ticket*``, ``tickets.*``,
    ``*``) needs ``#``: a topic binding cannot glob within a word, and a type added
    later must still arrive. A pattern without a source counts for every source. A
    source with ``#`` needs nothing else; a source no pattern names is absent.
    """
    keys: dict[str, set[str]] = {}
    for pattern in patterns:
        found = _PATTERN.match(pattern)
        if not found:
            continue  # never stored: filters are checked when saved
        source = found.group("source")
        event_type = found.group("type")
        key = EVERYTHING if "*" in event_type else event_type
        for each in SOURCES if source in (None, "*") else (source,):
            keys.setdefault(each, set()).add(key)
    return {s: frozenset({EVERYTHING} if EVERYTHING in k else k) for s, k in keys.items()}


def union(*many: RoutingKeys) -> RoutingKeys:
    """Several filters' keys together (``#`` absorbing the rest of its source)."""
    merged: dict[str, set[str]] = {}
    for keys in many:
        for source, found in keys.items():
            merged.setdefault(source, set()).update(found)
    return {s: frozenset({EVERYTHING} if EVERYTHING in k else k) for s, k in merged.items()}
