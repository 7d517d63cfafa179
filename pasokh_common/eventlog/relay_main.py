"""Run an event relay as a process:
``python -m pasokh_common.eventlog.relay_main [--service tickets|identity]``.

Environment (see docs/relay.md), with <SERVICE> the service's name in capitals:
<SERVICE>_DATABASE_URL, AMQP_URI, RELAY_BATCH_SIZE, RELAY_NAME (default: the service),
RELAY_IDLE_SLEEP, <SERVICE>_RELAY_METRICS_PORT (0 = no endpoint), LOG_LEVEL,
CHAIN_SEAL_BATCH_SIZE, CHAIN_SEAL_IDLE_SLEEP.

Beside the relay, a second thread runs the hash-chain sealer of the same log
(``sealer.py``, docs/event-log.md): it needs the same database and nothing else.

The relay loop runs in a worker thread and the main thread only waits for it: a
signal handler that sets a ``threading.Event`` while the *same* thread is inside
that event's ``wait()`` can deadlock on the event's internal lock, and the main
thread is where Python runs signal handlers. SIGTERM/SIGINT ask the loop to stop
after the batch in flight is confirmed and its position recorded; the lock is
released and the process exits 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

import pasokh_common  # noqa: F401
from pasokh_common.eventlog.relay import Relay
from pasokh_common.eventlog.sealer import Sealer
from pasokh_common.eventlog.store import Decoder
from pasokh_common.logs import configure_logging
from pasokh_common.metrics import READINESS, broker_check, database_check, start_metrics_server
from pasokh_common.settings import (
    DEFAULT_AMQP_URI,
    DEFAULT_DATABASE_URL,
    env_float,
    env_int,
    env_str,
)

log = logging.getLogger("pasokh.relay")


def relay_from_env(service: str = "tickets") -> Relay:
    """One relay per event-sourced service: its log lives in the schema named after it
    and is published to ``<service>.events``."""
    prefix = service.upper()
    relay = Relay(
        database_url=env_str(f"{prefix}_DATABASE_URL", DEFAULT_DATABASE_URL),
        amqp_uri=env_str("AMQP_URI", DEFAULT_AMQP_URI),
        schema=service,
        source=service,
        relay_name=env_str("RELAY_NAME", service),
        batch_size=env_int("RELAY_BATCH_SIZE", 500),
        idle_sleep=env_float("RELAY_IDLE_SLEEP", 0.05),
        decoder=event_decoder(service),
    )
    return relay


def event_decoder(service: str) -> Decoder | None:
    """What subscribers must see instead of the stored rows: tickets seals personal
    fields in its log (docs/privacy.md) and publishes them opened, so the public
    contract (a ticket's body is a string) holds; erased ones read as placeholder."""
    if service == "tickets":
        from services.tickets.privacy import CODEC

        return CODEC.decode
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--service", default="tickets", help="whose event log to publish (tickets, identity)"
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve /metrics and probes here (default: <SERVICE>_RELAY_METRICS_PORT, 0 = off)",
    )
    args = parser.parse_args(argv)
    prefix = args.service.upper()
    configure_logging(f"{args.service}-relay", env_str("LOG_LEVEL", "INFO"))
    relay = relay_from_env(args.service)
    sealer = Sealer(
        relay.database_url,
        schema=args.service,
        batch_size=env_int("CHAIN_SEAL_BATCH_SIZE", 500),
        idle_sleep=env_float("CHAIN_SEAL_IDLE_SLEEP", 0.5),
    )
    metrics_port = (
        args.metrics_port
        if args.metrics_port is not None
        else env_int(f"{prefix}_RELAY_METRICS_PORT", 0)
    )
    if metrics_port:
        READINESS.add_check("database", database_check(relay.database_url))
        READINESS.add_check("broker", broker_check(relay.amqp_uri))
        start_metrics_server(metrics_port)

    failure: list[BaseException] = []

    def work() -> None:
        try:
            relay.run()
        except BaseException as exc:
            log.exception("relay failed")
            failure.append(exc)

    def shutdown(signum: int, frame: object) -> None:
        log.info("stopping after the batch in flight", extra={"signal": signum})
        READINESS.set_not_ready()
        relay.stop()
        sealer.stop()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    worker = threading.Thread(target=work, name="relay", daemon=True)
    worker.start()
    sealing = threading.Thread(target=sealer.run, name="sealer", daemon=True)
    sealing.start()
    READINESS.set_ready()  # a standby (not leading) relay is ready too: it is healthy
    log.info(
        "relay started",
        extra={
            "relay": relay.relay_name,
            "batch_size": relay.batch_size,
            "metrics_port": metrics_port,
        },
    )
    while worker.is_alive():
        worker.join(0.5)
    sealer.stop()
    sealing.join(10)
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
