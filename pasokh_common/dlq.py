"""Inspect and replay the messages an idempotent event handler parked.

    python -m pasokh_common.dlq list   --queue evt-tickets-TicketOpened--sla.on_opened
    python -m pasokh_common.dlq replay --queue evt-tickets-TicketOpened--sla.on_opened \
        [--message-id ID] [--limit N]

``--queue`` takes the handler's queue or its ``.dead`` queue; ``AMQP_URI`` says where.

Listing takes messages with ``basic.get`` WITHOUT acking them and closes the channel,
so the broker puts every one back where it was: looking never loses anything.
Replay publishes each message (with confirms) straight to its original queue through
the default exchange, never through the topic exchange (other services' queues bound
there would receive a second copy), and acks the parked copy only after the confirm.
The attempt count starts again at 1. Replaying is safe to repeat: the handler's
``processed_events`` row makes a second application a no-op.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pasokh_common.consumer import (
    ATTEMPT_HEADER,
    ATTEMPTS_HEADER,
    BROKER_DEATH_HEADERS,
    COPIED_PROPERTIES,
    ERROR_HEADER,
    FAILED_AT_HEADER,
    LAST_ERROR_HEADER,
    ORIGINAL_QUEUE_HEADER,
    dead_queue_name,
)
from pasokh_common.settings import DEFAULT_AMQP_URI, env_str

import amqp
import amqp.exceptions
from kombu import Connection

REPLAYED_AT_HEADER = "x-pasokh-replayed-at"
REPLAYS_HEADER = "x-pasokh-replays"
# Failure bookkeeping dropped on replay: the replayed message starts a fresh life.
_CLEARED_ON_REPLAY = (
    ATTEMPT_HEADER,
    LAST_ERROR_HEADER,
    ERROR_HEADER,
    FAILED_AT_HEADER,
    ATTEMPTS_HEADER,
    ORIGINAL_QUEUE_HEADER,
    *BROKER_DEATH_HEADERS,
)
DEAD_SUFFIX = ".dead"


@dataclass(frozen=True)
class DeadLetter:
    message_id: str | None
    type: str | None
    original_queue: str
    error: str | None
    failed_at: str | None
    attempts: int | None
    headers: dict
    body: bytes
    content_type: str | None

    def as_json(self) -> dict:
        """For the CLI: the body as text when it is text, else as a repr."""
        try:
            body: Any = self.body.decode("utf-8")
        except UnicodeDecodeError:
            body = repr(self.body)
        return {
            "message_id": self.message_id,
            "type": self.type,
            "original_queue": self.original_queue,
            "error": self.error,
            "failed_at": self.failed_at,
            "attempts": self.attempts,
            "content_type": self.content_type,
            "headers": self.headers,
            "body": body,
        }


def split_queue(queue: str) -> tuple[str, str]:
    """``Q`` or ``Q.dead`` -> (``Q``, ``Q.dead``)."""
    if queue.endswith(DEAD_SUFFIX):
        return queue[: -len(DEAD_SUFFIX)], queue
    return queue, dead_queue_name(queue)


@contextmanager
def _channel(amqp_uri: str) -> Iterator[amqp.Channel]:
    """A channel on a connection with publisher confirms. Closing it returns every
    unacked message to its queue."""
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        conn.connect()
        channel = conn.channel()
        try:
            yield channel
        finally:
            if channel.is_open:
                channel.close()


def _fetch(channel: amqp.Channel, dead_queue: str, limit: int | None) -> Iterator[amqp.Message]:
    # The queue must exist: a passive declare raises NOT_FOUND instead of creating it.
    channel.queue_declare(dead_queue, passive=True)
    fetched = 0
    while limit is None or fetched < limit:
        message = channel.basic_get(dead_queue, no_ack=False)
        if message is None:
            return
        fetched += 1
        yield message


def _to_dead_letter(message: amqp.Message, original_queue: str) -> DeadLetter:
    headers = dict(message.headers or {})
    props = message.properties
    attempts = headers.get(ATTEMPTS_HEADER)
    return DeadLetter(
        message_id=props.get("message_id"),
        type=props.get("type") or headers.get("cloudEvents_type"),
        original_queue=str(headers.get(ORIGINAL_QUEUE_HEADER) or original_queue),
        error=headers.get(ERROR_HEADER),
        failed_at=headers.get(FAILED_AT_HEADER),
        attempts=int(attempts) if attempts is not None else None,
        headers=headers,
        body=bytes(message.body) if not isinstance(message.body, str) else message.body.encode(),
        content_type=props.get("content_type"),
    )


def list_dead(amqp_uri: str, queue: str, limit: int | None = 100) -> list[DeadLetter]:
    """The parked messages of ``queue``, oldest first; all stay in the queue."""
    original, dead = split_queue(queue)
    with _channel(amqp_uri) as channel:
        return [_to_dead_letter(m, original) for m in _fetch(channel, dead, limit)]


def replay(
    amqp_uri: str, queue: str, message_id: str | None = None, limit: int | None = None
) -> int:
    """Move parked messages back to their original queue; returns how many moved.

    With ``message_id`` only that message moves; the others are left untouched.
    """
    original, dead = split_queue(queue)
    moved = 0
    with _channel(amqp_uri) as channel:
        # Skipped messages stay unacked until the channel closes, so basic.get does
        # not hand them out again and they go back in their original order.
        for message in _fetch(channel, dead, None):
            if message_id is not None and message.properties.get("message_id") != message_id:
                continue
            letter = _to_dead_letter(message, original)
            channel.basic_publish(
                _replayed_copy(message),
                exchange="",
                routing_key=letter.original_queue,
                mandatory=True,
            )
            channel.basic_ack(message.delivery_tag)
            moved += 1
            if limit is not None and moved >= limit:
                break
    return moved


def _replayed_copy(message: amqp.Message) -> amqp.Message:
    headers = {k: v for k, v in (message.headers or {}).items() if k not in _CLEARED_ON_REPLAY}
    headers[REPLAYED_AT_HEADER] = datetime.now(UTC).isoformat()
    headers[REPLAYS_HEADER] = int(headers.get(REPLAYS_HEADER, 0)) + 1
    props = message.properties
    kept = {k: props[k] for k in COPIED_PROPERTIES if props.get(k) is not None}
    for key in ("content_type", "content_encoding", "priority"):
        if props.get(key) is not None:
            kept[key] = props[key]
    return amqp.Message(message.body, delivery_mode=2, application_headers=headers, **kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pasokh_common.dlq", description="Inspect and replay dead letters."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("list", "replay"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--queue", required=True, help="the handler's queue (or its .dead)")
        cmd.add_argument("--limit", type=int, default=None)
        if name == "replay":
            cmd.add_argument("--message-id", default=None)
    args = parser.parse_args(argv)
    amqp_uri = env_str("AMQP_URI", DEFAULT_AMQP_URI)

    try:
        if args.command == "list":
            for letter in list_dead(amqp_uri, args.queue, limit=args.limit or 100):
                print(json.dumps(letter.as_json(), ensure_ascii=False, default=str))
            return 0
        moved = replay(amqp_uri, args.queue, message_id=args.message_id, limit=args.limit)
    except amqp.exceptions.NotFound:
        print(f"no dead-letter queue {split_queue(args.queue)[1]!r}", file=sys.stderr)
        return 2
    print(json.dumps({"replayed": moved, "queue": split_queue(args.queue)[0]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
