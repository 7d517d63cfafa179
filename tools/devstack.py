"""Runs the whole Pasokh system locally as real processes (used by ``bin/start``).

Each service runs exactly as in production (``pasokh_common.runner``), configured
only by environment variables; Ctrl-C (or SIGTERM) stops every process gracefully
and waits for it, escalating to SIGKILL only after a grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

GRACE_SECONDS = 15


@dataclass(frozen=True)
class Process:
    name: str
    argv: list[str]
    url: str


def panel_url() -> str:
    """The web panel for customers, agents and supervisors (served by the gateway)."""
    return f"http://127.0.0.1:{os.environ.get('GATEWAY_HTTP_PORT', '8000')}/panel/"


def processes() -> list[Process]:
    python = sys.executable
    tickets_metrics = os.environ.get("TICKETS_METRICS_PORT", "9101")
    relay_metrics = os.environ.get("TICKETS_RELAY_METRICS_PORT", "9102")
    identity_metrics = os.environ.get("IDENTITY_METRICS_PORT", "9103")
    identity_relay_metrics = os.environ.get("IDENTITY_RELAY_METRICS_PORT", "9104")
    gateway_port = os.environ.get("GATEWAY_HTTP_PORT", "8000")
    gateway_metrics = os.environ.get("GATEWAY_METRICS_PORT", "9109")
    notify_metrics = os.environ.get("NOTIFY_METRICS_PORT", "9107")
    notify_relay_metrics = os.environ.get("NOTIFY_RELAY_METRICS_PORT", "9108")
    sla_metrics = os.environ.get("SLA_METRICS_PORT", "9105")
    sla_relay_metrics = os.environ.get("SLA_RELAY_METRICS_PORT", "9106")
    webhooks_metrics = os.environ.get("WEBHOOKS_METRICS_PORT", "9110")
    return [
        Process(
            "gateway",
            [
                python,
                "-m",
                "pasokh_common.runner",
                "gateway",
                "gateway.service:GatewayService",
                "--metrics-port",
                gateway_metrics,
            ],
            f"http://127.0.0.1:{gateway_port}/api/v1/docs",
        ),
        Process(
            "notify",
            [
                python,
                "-m",
                "pasokh_common.runner",
                "notify",
                "services.notify.service:NotifyService",
                "--metrics-port",
                notify_metrics,
            ],
            f"http://127.0.0.1:{notify_metrics}/metrics",
        ),
        Process(
            "notify-relay",
            [python, "-m", "pasokh_common.eventlog.relay_main", "--service", "notify"],
            f"http://127.0.0.1:{notify_relay_metrics}/metrics",
        ),
        Process(
            "webhooks",
            [
                python,
                "-m",
                "pasokh_common.runner",
                "webhooks",
                "services.webhooks.service:WebhooksService",
                "--metrics-port",
                webhooks_metrics,
            ],
            f"http://127.0.0.1:{webhooks_metrics}/metrics",
        ),
        Process(
            "sla",
            [
                python,
                "-m",
                "pasokh_common.runner",
                "sla",
                "services.sla.service:SlaService",
                "--metrics-port",
                sla_metrics,
            ],
            f"http://127.0.0.1:{sla_metrics}/metrics",
        ),
        Process(
            "sla-relay",
            [python, "-m", "pasokh_common.eventlog.relay_main", "--service", "sla"],
            f"http://127.0.0.1:{sla_relay_metrics}/metrics",
        ),
        Process(
            "identity",
            [
                python,
                "-m",
                "pasokh_common.runner",
                "identity",
                "services.identity.service:IdentityService",
                "--metrics-port",
                identity_metrics,
            ],
            f"http://127.0.0.1:{identity_metrics}/metrics",
        ),
        Process(
            "identity-relay",
            [python, "-m", "pasokh_common.eventlog.relay_main", "--service", "identity"],
            f"http://127.0.0.1:{identity_relay_metrics}/metrics",
        ),
        Process(
            "tickets",
            [
                python,
                "-m",
                "pasokh_common.runner",
                "tickets",
                "services.tickets.service:TicketsService",
                "--metrics-port",
                tickets_metrics,
            ],
            f"http://127.0.0.1:{tickets_metrics}/metrics",
        ),
        Process(
            "tickets-relay",
            [python, "-m", "pasokh_common.eventlog.relay_main"],
            f"http://127.0.0.1:{relay_metrics}/metrics",
        ),
    ]


def wait_for_services(
    amqp_uri: str,
    running: list,
    services: tuple[str, ...] = ("identity", "notify", "sla", "tickets", "webhooks"),
    timeout: float = 60,
) -> None:
    """Seeding and the printed URLs only make sense once the services consume RPC."""
    from amqp.exceptions import NotFound
    from kombu import Connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for _, p in running):
            return
        try:
            with Connection(amqp_uri, connect_timeout=3) as conn:
                channel = conn.channel()
                if all(channel.queue_declare(f"rpc-{s}", passive=True)[2] for s in services):
                    return
        except (NotFound, OSError):
            pass
        time.sleep(0.3)


def main() -> int:
    env = dict(os.environ)
    env.setdefault("TICKETS_RELAY_METRICS_PORT", "9102")
    env.setdefault("IDENTITY_RELAY_METRICS_PORT", "9104")
    env.setdefault("SLA_RELAY_METRICS_PORT", "9106")
    env.setdefault("GATEWAY_MAX_WORKERS", "100")
    env.setdefault("NOTIFY_RELAY_METRICS_PORT", "9108")
    running: list[tuple[Process, subprocess.Popen]] = []
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for proc in processes():
        running.append((proc, subprocess.Popen(proc.argv, env=env)))
    wait_for_services(env["AMQP_URI"], running)
    if env.get("PASOKH_SEED_DEMO") == "1":
        subprocess.run([sys.executable, "-m", "tools.seed_demo"], env=env, check=False)
    print("\nPasokh is running:", flush=True)
    for proc, _ in running:
        kind = "API docs" if proc.name == "gateway" else "metrics"
        print(f"  {proc.name:<16} {kind} {proc.url}", flush=True)
    print(f"  {'rabbitmq':<16} {os.environ.get('AMQP_URI', '')}".rstrip(), flush=True)
    print(f"  {'web panel':<16} {panel_url()}", flush=True)
    print("Press Ctrl-C to stop.\n", flush=True)

    exit_code = 0
    while not stopping:
        for proc, popen in running:
            if popen.poll() is not None:
                print(f"{proc.name} exited with {popen.returncode}; stopping", flush=True)
                stopping, exit_code = True, 1
                break
        time.sleep(0.3)

    for _, popen in running:
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for proc, popen in running:
        try:
            popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{proc.name} did not stop in {GRACE_SECONDS}s; killing", flush=True)
            popen.kill()
            popen.wait()
    print("Pasokh stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
