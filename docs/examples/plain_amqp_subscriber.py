"""A Pasokh event subscriber written with a plain AMQP 0-9-1 client (py-amqp), no nameko.

It shows everything another system needs, and nothing of Pasokh's code:

- declare the topic exchange exactly as Pasokh does (``tickets.events``: topic,
  durable, not auto-delete), so the declaration never conflicts;
- declare *its own* durable queue (name it after your system: ``billing.tickets``),
  bind it with routing keys (event types, or ``#`` for all), and let it keep events
  while the subscriber is down;
- read the CloudEvents headers (``cloudEvents_id``, ``cloudEvents_type``, ...) and
  Pasokh's stream coordinates (``pasokh_stream_id``, ``pasokh_stream_version``) from
  the application headers, and the event's data from the JSON body;
- a system that joins late asks Pasokh for a replay (``pasokh events replay --queue
  billing.tickets``) and runs this with ``--replayed``: it declares its queue but does
  not bind it, since Pasokh binds it once the history is in (docs/integration.md);
- acknowledge only after the event is handled, and skip an event id already handled
  (delivery is at least once; a real system records handled ids in the same database
  transaction as its own change, not in memory as here).

Run: ``python plain_amqp_subscriber.py --uri amqp://guest:guest@localhost:5672/ --max 10``.
Prints one line per event:
``<event id> <type> <stream id> v<stream version> pos=<position> schema=v<n> <body json>``.
Only ``amqp`` (``pip install amqp``) and the standard library are needed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
from typing import Any

import amqp


def connect(uri: str) -> amqp.Connection:
    """``amqp://user:password@host:port/vhost`` (an empty path is the ``/`` vhost)."""
    parts = urllib.parse.urlsplit(uri)
    vhost = urllib.parse.unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    connection = amqp.Connection(
        host=f"{parts.hostname or 'localhost'}:{parts.port or 5672}",
        userid=urllib.parse.unquote(parts.username or "guest"),
        password=urllib.parse.unquote(parts.password or "guest"),
        virtual_host=vhost,
        ssl=parts.scheme == "amqps",
        client_properties={"connection_name": "plain-amqp-subscriber"},
    )
    connection.connect()
    return connection


def describe(headers: dict[str, Any], body: dict[str, Any]) -> str:
    return " ".join(
        [
            str(headers.get("cloudEvents_id")),
            str(headers.get("cloudEvents_type")),
            str(headers.get("pasokh_stream_id")),
            f"v{headers.get('pasokh_stream_version')}",
            f"pos={headers.get('pasokh_position')}",
            f"schema=v{headers.get('pasokh_schema_version')}",
            json.dumps(body, ensure_ascii=False, sort_keys=True),
        ]
    )


def run(args: argparse.Namespace) -> int:
    connection = connect(args.uri)
    channel = connection.channel()
    channel.exchange_declare(args.exchange, "topic", durable=True, auto_delete=False)
    arguments = {"x-queue-type": "quorum"} if args.quorum else None
    channel.queue_declare(args.queue, durable=True, auto_delete=False, arguments=arguments)
    if not args.replayed:  # a replayed queue is bound by Pasokh, at the handover
        for key in args.binding or ["#"]:
            channel.queue_bind(args.queue, args.exchange, key)
    channel.basic_qos(0, args.prefetch, False)

    seen: set[str] = set()
    handled = 0

    def on_message(message: amqp.Message) -> None:
        nonlocal handled
        headers = dict(message.properties.get("application_headers") or {})
        raw = message.body
        try:
            body = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        except ValueError as error:
            # Not ours to fix by retrying: reject without requeue (to a dead-letter
            # exchange, if the queue has one).
            print(
                f"undecodable message {message.properties.get('message_id')}: {error}",
                file=sys.stderr,
                flush=True,
            )
            channel.basic_reject(message.delivery_tag, requeue=False)
            return
        event_id = str(headers.get("cloudEvents_id") or message.properties.get("message_id"))
        if event_id not in seen:
            seen.add(event_id)
            print(describe(headers, body), flush=True)  # "handle" the event
            handled += 1
        channel.basic_ack(message.delivery_tag)

    channel.basic_consume(args.queue, callback=on_message, no_ack=False)
    print(
        f"listening on {args.queue} <- {args.exchange} {args.binding or ['#']}",
        file=sys.stderr,
        flush=True,
    )
    try:
        while args.max is None or handled < args.max:
            connection.drain_events()
    except KeyboardInterrupt:
        pass
    finally:
        connection.close()
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--uri", default=os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")
    )
    parser.add_argument("--exchange", default="tickets.events")
    parser.add_argument("--queue", default="example.tickets", help="your system's own queue")
    parser.add_argument("--binding", action="append", help="routing key (repeat); default #")
    parser.add_argument("--max", type=int, default=None, help="stop after N events")
    parser.add_argument("--prefetch", type=int, default=50)
    parser.add_argument("--quorum", action="store_true", help="declare a quorum queue")
    parser.add_argument(
        "--replayed",
        action="store_true",
        help="the queue is filled by a Pasokh replay: do not bind it (Pasokh does)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run(parse_args()))
