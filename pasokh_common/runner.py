"""Runs one nameko service as a process, configured from the environment only.

Usage: ``python -m pasokh_common.runner tickets services.tickets.service:TicketsService``

Why not ``nameko run``: it wants a YAML file, and we need three things before the
service module is imported: eventlet's monkey patch, psycopg's cooperative wait
function, and a check that the latter took effect. SIGTERM stops the service
gracefully (running workers finish, unacked messages go back to the queue).
"""

from __future__ import annotations

import warnings

# eventlet announces its own deprecation on import; nameko 2.14 needs it, and the
# notice on every start would drown the JSON logs.
warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import pasokh_common  # noqa: E402, F401, I001  (after the monkey patch, before psycopg)

import argparse  # noqa: E402
import errno  # noqa: E402
import gc  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402

from pasokh_common.green import assert_psycopg_cooperates, use_wait_on_hub  # noqa: E402
from pasokh_common.logs import configure_logging  # noqa: E402
from pasokh_common.metrics import (  # noqa: E402
    READINESS,
    broker_check,
    database_check,
    start_metrics_server,
)
from pasokh_common.settings import ServiceSettings, env_int, env_str  # noqa: E402

log = logging.getLogger("pasokh.runner")


def load_class(spec: str) -> type:
    module_name, _, class_name = spec.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)


def build_config(settings: ServiceSettings) -> dict:
    config = settings.nameko_config()
    config["DATABASE_URL"] = settings.database_url
    config["DB_POOL_SIZE"] = settings.db_pool_size
    # nameko's @http entrypoints listen here (only services that have them use it).
    http_port = env_int(f"{settings.service.upper()}_HTTP_PORT", 8000)
    config["WEB_SERVER_ADDRESS"] = env_str(
        f"{settings.service.upper()}_HTTP_ADDRESS", f"0.0.0.0:{http_port}"
    )
    return config


# Young-generation collections per allocations (Python's default is 700).
GC_GEN0_THRESHOLD_DEFAULT = 20_000


def settle_garbage_collector() -> None:
    """After start-up: what is loaded by now (modules, schemas, nameko's extensions)
    lives as long as the process, so it leaves the collector's view (``gc.freeze``),
    and young collections run less often. A service allocates and frees many small
    objects per message; with the defaults the gateway spent about 3 % of its CPU in
    the collector, mostly re-walking start-up objects (perf, docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(env_int("PASOKH_GC_GEN0_THRESHOLD", GC_GEN0_THRESHOLD_DEFAULT), middle, old)


def main(argv: list[str] | None = None) -> None:
    from nameko.runners import ServiceRunner

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", help="service name; selects <SERVICE>_* variables")
    parser.add_argument("classes", nargs="+", help="module:Class of each nameko service")
    parser.add_argument("--metrics-port", type=int, default=0)
    args = parser.parse_args(argv)

    settings = ServiceSettings.from_env(args.service, default_metrics_port=args.metrics_port)
    configure_logging(args.service, settings.log_level)
    use_wait_on_hub()
    assert_psycopg_cooperates()
    if settings.metrics_port:
        READINESS.add_check("broker", broker_check(settings.amqp_uri))
        if f"{args.service.upper()}_DATABASE_URL" in os.environ:
            READINESS.add_check("database", database_check(settings.database_url))
        start_metrics_server(settings.metrics_port)

    runner = ServiceRunner(build_config(settings))
    for spec in args.classes:
        runner.add_service(load_class(spec))

    stopping = []

    def shutdown(signum, frame) -> None:
        # A second signal (Ctrl-C in a terminal reaches the whole process group, and
        # the supervisor forwards one too) must not start a second, racing stop.
        if not stopping:
            stopping.append(signum)
            READINESS.set_not_ready()
            eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    settle_garbage_collector()
    READINESS.set_ready()
    log.info("service started", extra={"metrics_port": settings.metrics_port})
    waiter = eventlet.spawn(runner.wait)
    while True:
        try:
            waiter.wait()
            break
        except OSError as exc:
            if exc.errno != errno.EINTR:
                raise
    log.info("service stopped")


if __name__ == "__main__":
    main()
