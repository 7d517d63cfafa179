"""CPU per RPC publish: nameko's ``Publisher`` against ``pasokh_common.rpc``'s.

Publishes ``--messages`` request-like messages (transient, confirmed, mandatory, with
nameko's headers, ``reply_to``, ``correlation_id`` and ``expiration``) and as many
reply-like ones (transient, unconfirmed) from ``--concurrency`` greenthreads into a
queue of a scratch exchange, and prints the CPU per publish of this process (the
broker's is not counted). Only the publishing is measured, not an RPC round trip:
``benchmarks.rpc_messages`` measures those.

    python -m benchmarks.rpc_publish [--messages 3000] [--concurrency 8] [--repeat 2]
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from pasokh_common.rpc import TRANSIENT, ReplyPublisher, RequestPublisher  # noqa: E402

from kombu import Connection, Exchange, Queue  # noqa: E402
from nameko.amqp.publish import Publisher  # noqa: E402

EXCHANGE = Exchange("pasokh-bench-publish", type="topic", durable=False, auto_delete=True)


def publish_all(publisher: Publisher, confirmed: bool, messages: int, concurrency: int) -> tuple:
    headers = {"nameko.call_id_stack": ["gateway.open_ticket.x"], "nameko.correlation_id": "r"}

    def one(i: int) -> None:
        kwargs = {"mandatory": True} if confirmed else {}
        publisher.publish(
            {"args": [i, "سلام"], "kwargs": {"department": "d1"}},
            exchange=EXCHANGE,
            routing_key="bench.echo",
            reply_to="reply-key",
            correlation_id=str(uuid.uuid4()),
            extra_headers=headers,
            **kwargs,
        )

    one(-1)  # connect before measuring
    cpu, wall = time.process_time(), time.monotonic()
    pool = eventlet.GreenPool(concurrency)
    for _ in pool.imap(one, range(messages)):
        pass
    return (time.process_time() - cpu) / messages * 1e6, messages / (time.monotonic() - wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--amqp-uri",
        default=os.environ.get("PASOKH_BENCH_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
    )
    args = parser.parse_args(argv)
    uri = args.amqp_uri
    variants = {
        "request nameko": (Publisher(uri, delivery_mode=TRANSIENT, expiration=30), True),
        "request pasokh": (RequestPublisher(uri, expiration=30), True),
        "reply   nameko": (Publisher(uri, use_confirms=False, delivery_mode=TRANSIENT), False),
        "reply   pasokh": (ReplyPublisher(uri), False),
    }
    queue = Queue(f"pasokh-bench-publish-{uuid.uuid4().hex[:8]}", EXCHANGE, "bench.#")
    print(f"{args.messages} publishes from {args.concurrency} greenthreads")
    print(f"{'variant':<16} {'us CPU/publish':>15} {'publishes/s':>12}")
    with Connection(uri) as conn:
        queue(conn.default_channel).declare()
        try:
            for _ in range(args.repeat):
                for name, (publisher, confirmed) in variants.items():
                    us, rate = publish_all(publisher, confirmed, args.messages, args.concurrency)
                    print(f"{name:<16} {us:>15.1f} {rate:>12.0f}")
                    queue(conn.default_channel).purge()
        finally:
            queue(conn.default_channel).delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
