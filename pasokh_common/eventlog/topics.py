"""AMQP topic-exchange rules, as pure functions, for replay.

A replay publishes history straight into the subscriber's queue (default exchange),
so the broker does not filter it; the relay must choose exactly the events that the
queue's bindings on ``<source>.events`` would have routed to it. These functions are
RabbitMQ's topic matching (AMQP 0-9-1): keys are dot-separated words, ``*`` is
exactly one word, ``#`` zero or more words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

MAX_KEY_BYTES = 255  # an AMQP short string
# Queue names a replay may fill: not a server-named or reserved queue (``amq.``), not
# one of nameko's own (``rpc-``, ``evt-``, reply queues) nor a dead-letter queue: those
# belong to live consumers, and a replay must never write into them.
QUEUE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")
RESERVED_QUEUE_PREFIXES = ("amq.", "rpc-", "evt-", "rpc.reply-")
RESERVED_QUEUE_SUFFIXES = (".dead",)
RETRY_QUEUE = re.compile(r"\.retry\.\d+$")


def topic_matches(binding_key: str, routing_key: str) -> bool:
    """True when a queue bound with ``binding_key`` gets a message with ``routing_key``."""
    return _match(tuple(binding_key.split(".")), tuple(routing_key.split(".")))


@lru_cache(maxsize=4096)
def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        # '#' takes zero words, or one word and stays.
        return _match(rest, words) or (bool(words) and _match(pattern, words[1:]))
    if not words:
        return False
    if head == "*" or head == words[0]:
        return _match(rest, words[1:])
    return False


def matches_any(binding_keys: Iterable[str], routing_key: str) -> bool:
    """A queue with several bindings gets a message once if any binding matches."""
    return any(topic_matches(key, routing_key) for key in binding_keys)


def binding_key_problem(key: str) -> str | None:
    """Why ``key`` is not a usable binding key, or None. RabbitMQ treats ``*``/``#``
    inside a word as literal characters, which is never what an operator meant."""
    if not key:
        return "empty"
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        return f"longer than {MAX_KEY_BYTES} bytes"
    for word in key.split("."):
        if word in ("*", "#"):
            continue
        if "*" in word or "#" in word:
            return f"wildcard inside a word: {word!r}"
        if not word:
            return "empty word (two dots, or a dot at an end)"
    return None


def queue_name_problem(name: str) -> str | None:
    """Why a replay may not fill the queue ``name``, or None."""
    if not QUEUE_PATTERN.match(name):
        return "letters, digits and . _ : - only, 1 to 200, starting with a letter or digit"
    if name.startswith(RESERVED_QUEUE_PREFIXES):
        return "reserved prefix (" + ", ".join(RESERVED_QUEUE_PREFIXES) + ")"
    if name.endswith(RESERVED_QUEUE_SUFFIXES) or RETRY_QUEUE.search(name):
        return "reserved suffix (.dead, .retry.<n>)"
    return None
