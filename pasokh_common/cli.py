"""The ``pasokh`` operations command: migrations and maintenance, from the environment.

pasokh migrate [SERVICE ...] [--create-app-role]
pasokh tickets rebuild-read-models
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pasokh_common import migrations
from pasokh_common.settings import ServiceSettings

SERVICES_ROOT = Path(__file__).resolve().parent.parent / "services"
# service -> Postgres schema it owns; a service appears here once it has migrations.
MIGRATED_SERVICES = {
    "identity": "identity",
    "notify": "notify",
    "sla": "sla",
    "tickets": "tickets",
    "webhooks": "webhooks",
}
# Services with event consumers: their queues are declared before any service starts.
CONSUMING_SERVICES = (
    "services.tickets.service:TicketsService",
    "services.sla.service:SlaService",
    "services.notify.service:NotifyService",
    "services.webhooks.service:WebhooksService",
)


def cmd_migrate(args: argparse.Namespace) -> int:
    unknown = set(args.services) - set(MIGRATED_SERVICES)
    if unknown:
        print(f"unknown service(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    for service in args.services or sorted(MIGRATED_SERVICES):
        settings = ServiceSettings.from_env(service, default_metrics_port=0)
        if args.create_app_role and settings.app_role:
            migrations.ensure_role(settings.migration_database_url, settings.app_role)
        applied = migrations.apply(
            settings.migration_database_url,
            MIGRATED_SERVICES[service],
            SERVICES_ROOT / service / "migrations",
            settings.app_role,
        )
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "nothing to do"
        print(f"{service}: {names}")
    return 0


def cmd_topology(args: argparse.Namespace) -> int:
    """The deploy-time step: every consumer's queue, retry queues, dead-letter queue and
    bindings exist before the first event is published, so none falls between a
    service's first start and its first consumer."""
    import importlib

    from pasokh_common.consumer import declare_topology
    from pasokh_common.settings import DEFAULT_AMQP_URI, env_str

    amqp_uri = env_str("AMQP_URI", DEFAULT_AMQP_URI)
    for spec in CONSUMING_SERVICES:
        module_name, _, class_name = spec.partition(":")
        service_cls = getattr(importlib.import_module(module_name), class_name)
        for name in declare_topology(amqp_uri, service_cls):
            print(f"{service_cls.name}: {name}")
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    from pasokh_common.db import ConnectionPool

    from services.tickets.application import STORE
    from services.tickets.projections import rebuild

    settings = ServiceSettings.from_env("tickets", default_metrics_port=0)
    pool = ConnectionPool(settings.database_url, max_size=1)
    with pool.connection() as conn:
        count = rebuild(conn, STORE)
    print(f"tickets: read models rebuilt from {count} events")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pasokh", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    migrate = sub.add_parser("migrate", help="apply pending schema migrations")
    migrate.add_argument(
        "services", nargs="*", help="any of: " + ", ".join(sorted(MIGRATED_SERVICES))
    )
    migrate.add_argument(
        "--create-app-role",
        action="store_true",
        help="create <SERVICE>_APP_ROLE as a login role if missing (local runs)",
    )
    migrate.set_defaults(func=cmd_migrate)
    topology = sub.add_parser("topology", help="declare consumers' queues and bindings")
    topology.set_defaults(func=cmd_topology)
    tickets = sub.add_parser("tickets", help="tickets service maintenance")
    tickets_sub = tickets.add_subparsers(dest="tickets_command", required=True)
    rebuild = tickets_sub.add_parser("rebuild-read-models", help="replay the log into read models")
    rebuild.set_defaults(func=cmd_rebuild)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
