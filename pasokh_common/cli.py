"""The ``pasokh`` operations command: migrations and maintenance, from the environment.

pasokh migrate [SERVICE ...] [--create-app-role]
pasokh tickets rebuild-read-models
pasokh tickets export-audit TICKET --format json|html
pasokh audit verify --service SERVICE [--from-seq N] [--to-seq M] [--json]
pasokh events replay --service S --queue Q [--from-position N | --from-time ISO]
                     [--binding-key K ...] [--wait]
pasokh events replay-status [--service S] [--job ID]
pasokh events replay-cancel --service S --job ID
"""

from __future__ import annotations

import argparse
import json
import sys
import time
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


def cmd_export_audit(args: argparse.Namespace) -> int:
    """A ticket's audit trail as JSON or a printable page, read as the system actor
    (operators reach the database directly; the API route is for staff)."""
    import json

    from pasokh_common.db import ConnectionPool
    from pasokh_common.errors import NotFound

    from services.tickets.domain.numbers import parse_ticket_number
    from services.tickets.queries import TicketQueries

    settings = ServiceSettings.from_env("tickets", default_metrics_port=0)
    pool = ConnectionPool(settings.database_url, max_size=1)
    try:
        ticket_id = args.ticket
        number = parse_ticket_number(args.ticket)
        if number is not None:
            with pool.connection() as conn:
                row = conn.execute(
                    "SELECT ticket_id::text AS id FROM tickets.ticket_summary WHERE number = %s",
                    (number,),
                ).fetchone()
            ticket_id = row["id"] if row else ticket_id
        actor = {"id": args.actor, "role": "system"}
        found = TicketQueries(pool).export_audit_trail(actor, ticket_id, args.format)
    except NotFound:
        print(f"ticket not found: {args.ticket}", file=sys.stderr)
        return 1
    finally:
        pool.close()
    text = (
        found["html"]
        if args.format == "html"
        else json.dumps(found, ensure_ascii=False, indent=2, default=str) + "\n"
    )
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Walk a service's hash chain; exit 1 at the first broken link (docs/event-log.md)."""
    import json

    from pasokh_common.eventlog.chain_check import check_chain

    import psycopg

    if args.service not in MIGRATED_SERVICES:
        print(f"unknown service: {args.service}", file=sys.stderr)
        return 2
    settings = ServiceSettings.from_env(args.service, default_metrics_port=0)
    try:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            report = check_chain(conn, MIGRATED_SERVICES[args.service], args.from_seq, args.to_seq)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"service": args.service, **report.as_dict()}, indent=2))
    else:
        print(format_chain_report(args.service, report))
    return 0 if report.ok else 1


def format_chain_report(service: str, report) -> str:
    """The human form of a chain check: OK with counts and the head hash to record
    elsewhere, or the first broken link."""
    lines = []
    if report.ok:
        if report.checked:
            lines.append(
                f"{service}: OK, {report.checked} events checked"
                f" (chain_seq {report.first_seq}..{report.last_seq})"
            )
            lines.append(
                f"head: chain_seq {report.last_seq} sha256 {report.head_hash}"
                " (record it outside this database to anchor the chain)"
            )
        else:
            lines.append(f"{service}: OK, no sealed events from chain_seq {report.first_seq}")
    else:
        b = report.broken
        lines.append(f"{service}: BROKEN after {report.checked} good events")
        lines.append(f"first broken link: chain_seq {b.seq} ({b.kind}): {b.explanation}")
        if b.position is not None:
            lines.append(f"  position {b.position}, event_id {b.event_id}")
        if b.expected_hash:
            lines.append(f"  recomputed {b.expected_hash}")
            lines.append(f"  stored     {b.stored_hash}")
    if report.unsealed_below_horizon:
        lines.append(
            f"warning: {report.unsealed_below_horizon} committed events are not sealed yet"
            " (is the relay process, which runs the sealer, running?)"
        )
    return "\n".join(lines)


# -- replays (docs/integration.md, "Replay and catch-up") -------------------------------


def _replay_connection(service: str):
    import pasokh_common  # noqa: F401  (before psycopg)

    import psycopg
    from psycopg.rows import dict_row

    settings = ServiceSettings.from_env(service, default_metrics_port=0)
    return psycopg.connect(settings.database_url, autocommit=True, row_factory=dict_row)


def _print_error(error) -> int:
    print(json.dumps({"error": error.to_dict()}, ensure_ascii=False, indent=2), file=sys.stderr)
    return 2


def _progress(job: dict) -> str:
    remaining = "?" if job["remaining"] is None else job["remaining"]
    line = (
        f"job {job['job_id']} {job['queue']}: {job['state']}, replayed {job['replayed']},"
        f" scanned {job['scanned']}, remaining {remaining}, position {job['last_position']}"
    )
    return line + (f", error: {job['error']}" if job["error"] else "")


def cmd_replay(args: argparse.Namespace) -> int:
    """Write the request row; the service's relay leader does the replay."""
    from pasokh_common.errors import PasokhError
    from pasokh_common.eventlog.replay_jobs import FINISHED, ReplayJobs, describe, parse_request

    payload: dict = {"queue": args.queue}
    if args.from_position is not None:
        payload["from_position"] = args.from_position
    if args.from_time is not None:
        payload["from_time"] = args.from_time
    if args.binding_keys:
        payload["binding_keys"] = args.binding_keys
    jobs = ReplayJobs(MIGRATED_SERVICES[args.service])
    try:
        request = parse_request(payload)
        with _replay_connection(args.service) as conn:
            job = jobs.create(conn, request, "cli")
            print(json.dumps(describe(job), ensure_ascii=False))
            while args.wait and job["state"] not in FINISHED:
                time.sleep(args.interval)
                job = jobs.get(conn, job["job_id"])
                print(_progress(job), flush=True)
    except PasokhError as error:
        return _print_error(error)
    return 0 if job["state"] not in ("failed", "cancelled") else 1


def cmd_replay_status(args: argparse.Namespace) -> int:
    from pasokh_common.errors import PasokhError
    from pasokh_common.eventlog.replay_jobs import ReplayJobs

    services = [args.service] if args.service else sorted(MIGRATED_SERVICES)
    try:
        for service in services:
            jobs = ReplayJobs(MIGRATED_SERVICES[service])
            with _replay_connection(service) as conn:
                found = [jobs.get(conn, args.job)] if args.job else jobs.list(conn)
            for job in found:
                print(f"{service}: {_progress(job)}")
    except PasokhError as error:
        return _print_error(error)
    return 0


def cmd_replay_cancel(args: argparse.Namespace) -> int:
    from pasokh_common.errors import PasokhError
    from pasokh_common.eventlog.replay_jobs import ReplayJobs

    try:
        with _replay_connection(args.service) as conn:
            job = ReplayJobs(MIGRATED_SERVICES[args.service]).cancel(conn, args.job)
    except PasokhError as error:
        return _print_error(error)
    print(f"{args.service}: {_progress(job)}")
    return 0


def _add_event_commands(sub) -> None:
    events = sub.add_parser("events", help="replay an event log into a subscriber's queue")
    events_sub = events.add_subparsers(dest="events_command", required=True)
    services = sorted(MIGRATED_SERVICES)
    replay = events_sub.add_parser(
        "replay",
        help="copy a service's event history into QUEUE, then bind it for live events",
    )
    replay.add_argument("--service", required=True, choices=services)
    replay.add_argument("--queue", required=True, help="the new subscriber's queue")
    start = replay.add_mutually_exclusive_group()
    start.add_argument("--from-position", type=int, help="events at this global position or later")
    start.add_argument("--from-time", help="events recorded at this time or later (ISO 8601)")
    replay.add_argument(
        "--binding-key",
        dest="binding_keys",
        action="append",
        help="topic binding key (event type, * or #); repeatable; default #",
    )
    replay.add_argument("--wait", action="store_true", help="print progress until it is live")
    replay.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    replay.set_defaults(func=cmd_replay)
    status = events_sub.add_parser("replay-status", help="list replay jobs and their progress")
    status.add_argument("--service", choices=services)
    status.add_argument("--job", type=int)
    status.set_defaults(func=cmd_replay_status)
    cancel = events_sub.add_parser("replay-cancel", help="stop a replay that is not live yet")
    cancel.add_argument("--service", required=True, choices=services)
    cancel.add_argument("--job", type=int, required=True)
    cancel.set_defaults(func=cmd_replay_cancel)


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
    export = tickets_sub.add_parser("export-audit", help="a ticket's audit trail, JSON or HTML")
    export.add_argument("ticket", help="the ticket's id or its number (1234-5678)")
    export.add_argument("--format", choices=("json", "html"), default="json")
    export.add_argument("--output", "-o", help="write to this file (default: standard output)")
    export.add_argument("--actor", default="pasokh-cli", help="recorded as who exported it")
    export.set_defaults(func=cmd_export_audit)
    audit = sub.add_parser("audit", help="the tamper-evident audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check an event log's hash chain")
    verify.add_argument("--service", required=True, help=", ".join(sorted(MIGRATED_SERVICES)))
    verify.add_argument("--from-seq", type=int, default=1, help="first chain_seq to check")
    verify.add_argument("--to-seq", type=int, default=None, help="last chain_seq to check")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(func=cmd_audit_verify)

    _add_event_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
