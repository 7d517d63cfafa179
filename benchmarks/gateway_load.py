"""Load generator for the whole system through the gateway: ticket creation and agent
replies from many concurrent clients, then every resulting SMS waited for and counted.

Run with ``bin/bench-gateway`` (``--help`` for options), or directly::

    python -m benchmarks.gateway_load --seconds 60 --clients 32

It starts the whole stack itself, exactly as ``tools/devstack.py`` does (identity,
tickets, sla, notify with the console SMS provider, the gateway and the four relays),
in ONE scratch database and a scratch RabbitMQ vhost that are removed afterwards, so
the numbers never depend on what a local ``bin/start`` left behind. Then:

1. an admin (identity CLI), a department and an agent; ``--customers`` verified
   customers (register, the code read from the console provider's ``notify.outbox``,
   verify, log in);
2. for ``--seconds``, each of ``--clients`` threads (one keep-alive HTTP connection
   each) opens a ticket as one of the customers and has the agent reply to it
   (``--replies-per-ticket`` below 1 answers only that share of the tickets, spread
   evenly; the "CPU ms per ticket" figures then cover that mix). That is a closed
   loop: throughput is what the system gives that many callers. ``--rate R`` runs an
   open loop instead: R openings per second are due at fixed intervals whatever the
   answers take, each opening's latency counts from when it was due, and
   ``--clients`` only bounds the calls in flight: the way to ask "does it sustain R
   per second with p99 under X";
3. waits until every SMS those events cause (TicketOpened -> "received", an agent's
   ReplyPosted -> "answered") is a row in ``notify.outbox``, and counts the lost and
   the duplicated ones (both must be 0).

Reported: throughput, p50/p95/p99 of the HTTP calls by kind, p50/p95/p99 of
event -> SMS (``tickets.events.recorded_at`` to the outbox row's ``created_at``),
the CPU each process used during the load, which shows what saturates first, and the
CPU milliseconds per ticket by process from the load's start until every SMS is
recorded (also less the idle stack's own CPU, measured before the load), which is
what a change to the code moves and far less what other load on the machine does.

Settings that differ from production and why: the gateway's rate limits are off (one
customer opens many tickets a second here), notify's provider rate limit is raised
(the console provider has no real limit; the default 10/s models a real one), the
duplicate check only refuses identical subjects (every subject here is distinct) and
argon2 is cheap (only the set-up logs in). Nothing else is tuned.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pasokh_common  # noqa: F401  (before psycopg)

import psycopg
from psycopg.rows import dict_row

from tests.support import infra
from tests.support.processes import free_port, rpc_service_ready, stop_all, wait_until
from tools import devstack
from tools.localenv import with_db  # keeps a socket URL's ?user= right, unlike infra's

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("identity", "notify", "sla", "tickets", "webhooks")
PASSWORD = "a long enough benchmark secret"
# The SMS a ticket's events cause, as notify plans them (see services/notify/intake.py).
EXPECTED_SMS_EVENTS = """
    SELECT e.event_id::text AS event_id, e.event_type, e.recorded_at
      FROM tickets.events e
     WHERE e.event_type = 'TicketOpened'
        OR (e.event_type = 'ReplyPosted' AND e.data->>'author_role' <> 'customer')
"""
SMS_OF_EVENTS = f"""
    SELECT x.event_id, x.event_type, x.recorded_at, o.created_at AS sent_at
      FROM ({EXPECTED_SMS_EVENTS}) x
      LEFT JOIN notify.messages m ON m.cause_event_id = x.event_id
      LEFT JOIN notify.outbox o ON o.client_id = m.message_id::text
"""
PERSIAN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


# -- the stack ------------------------------------------------------------------------


@dataclass
class Stack:
    admin_url: str  # the scratch database, as its owner
    env: dict[str, str]
    gateway: tuple[str, int]
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)


def stack_env(server_url: str, database: str, amqp_uri: str, gateway_port: int) -> dict:
    """What each process needs (tools/localenv.py's variables, for the scratch database:
    one database, a schema and an unprivileged role per service)."""
    admin_url = with_db(server_url, database)
    env = {
        "AMQP_URI": amqp_uri,
        "GATEWAY_HTTP_PORT": str(gateway_port),
        "GATEWAY_HTTP_ADDRESS": f"127.0.0.1:{gateway_port}",
        "GATEWAY_MAX_WORKERS": "100",
        "GATEWAY_TRUSTED_PROXY_HOPS": "1",
        "GATEWAY_RATE_AUTH": "off",
        "GATEWAY_RATE_OPEN_TICKET": "off",
        "GATEWAY_DUPLICATE_SIMILARITY": "1.0",
        "IDENTITY_JWT_SECRET": secrets.token_urlsafe(48),
        "IDENTITY_CONTACT_SECRET": secrets.token_urlsafe(24),
        "IDENTITY_CODE_COOLDOWN_SECONDS": "0",
        "IDENTITY_ARGON2_TIME_COST": "1",
        "IDENTITY_ARGON2_MEMORY_KIB": "8192",
        "IDENTITY_ARGON2_PARALLELISM": "1",
        "SMS_PROVIDER": "console",
        "NOTIFY_RATE_LIMIT_PER_SECOND": "100000",
        "LOG_LEVEL": "WARNING",
    }
    for service in SERVICES:
        prefix = service.upper()
        role = f"pasokh_{service}_app"
        env[f"{prefix}_MIGRATION_DATABASE_URL"] = admin_url
        env[f"{prefix}_APP_ROLE"] = role
        env[f"{prefix}_DATABASE_URL"] = with_db(server_url, database, role)
    for name in ("TICKETS", "IDENTITY", "SLA", "NOTIFY", "GATEWAY", "WEBHOOKS"):
        env[f"{name}_METRICS_PORT"] = str(free_port())
    for name in ("TICKETS", "IDENTITY", "SLA", "NOTIFY"):
        env[f"{name}_RELAY_METRICS_PORT"] = str(free_port())
    return env


def run_tool(env: dict[str, str], *argv: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, *argv], env={**os.environ, **env}, cwd=REPO_ROOT, input=stdin,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr[-2000:]}")
    return result.stdout


@contextlib.contextmanager
def running_stack(
    server_url: str, base_amqp_uri: str, logs: Path, cpu_profile: Path | None = None
) -> Iterator[Stack]:
    name = f"pasokh_bench_{uuid.uuid4().hex[:8]}"
    gateway_port = free_port()
    with contextlib.ExitStack() as cleanup:
        infra.create_database(server_url, name)
        cleanup.callback(infra.drop_database, server_url, name)
        amqp_uri = infra.create_vhost(base_amqp_uri, name)
        cleanup.callback(infra.delete_vhost, base_amqp_uri, name)
        admin_url = with_db(server_url, name)
        env = stack_env(server_url, name, amqp_uri, gateway_port)
        run_tool(env, "-m", "pasokh_common.cli", "migrate", "--create-app-role")
        run_tool(env, "-m", "pasokh_common.cli", "topology")
        stack = Stack(admin_url, env, ("127.0.0.1", gateway_port), logs)
        cleanup.callback(lambda: stop_all(stack.processes.values()))
        # devstack reads the ports from the environment: this process's is the stack's.
        os.environ.update(env)
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **sampler_env(cpu_profile)}
        for proc in devstack.processes():
            log = open(logs / f"{proc.name}.log", "wb")  # noqa: SIM115
            cleanup.callback(log.close)
            stack.processes[proc.name] = subprocess.Popen(
                proc.argv, env=full_env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        wait_ready(stack, amqp_uri)
        yield stack


def sampler_env(directory: Path | None) -> dict[str, str]:
    """The stack's processes load ``benchmarks/cpu_sampler`` (see its docstring)."""
    if directory is None:
        return {}
    directory.mkdir(parents=True, exist_ok=True)
    path = [str(REPO_ROOT / "benchmarks" / "cpu_sampler"), os.environ.get("PYTHONPATH", "")]
    return {
        "PYTHONPATH": os.pathsep.join(p for p in path if p),
        "PASOKH_CPU_PROFILE_DIR": str(directory.resolve()),
    }


def wait_ready(stack: Stack, amqp_uri: str) -> None:
    def alive() -> None:
        for name, process in stack.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {stack.logs}")

    def ready() -> bool:
        alive()
        if not all(rpc_service_ready(amqp_uri, s) for s in SERVICES):
            return False
        try:
            return http_call(stack.gateway, "GET", "/readyz")[0] == 200
        except OSError:
            return False

    if not wait_until(ready, timeout=90, interval=0.3):
        raise TimeoutError(f"the stack was not ready in 90 s; see {stack.logs}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_command(commands: dict[str, str]) -> dict[str, float]:
    """CPU seconds of the servers we do not start (PostgreSQL's backends, RabbitMQ's
    Erlang VM), summed over every process whose command name matches."""
    totals = dict.fromkeys(commands.values(), 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            if comm in commands:
                totals[commands[comm]] += cpu_seconds(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return totals


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    numbers = [int(n) for n in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = numbers[3] + numbers[4]
    return sum(numbers) - idle, sum(numbers)


SERVERS = {"postgres": "postgresql", "beam.smp": "rabbitmq"}


def backend_pids(admin_url: str) -> list[int]:
    """PostgreSQL backends connected to the scratch database (ours, not other users')."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
    return [row[0] for row in rows]


def cpu_snapshot(pids: dict[str, int], admin_url: str) -> dict[str, float]:
    """CPU seconds so far of each of our processes, of RabbitMQ (the whole broker, so
    other vhosts' traffic counts too) and of the PostgreSQL backends serving the scratch
    database (``postgresql (our backends)``, a backend that exits meanwhile is lost)."""
    snapshot = {name: cpu_seconds(pid) for name, pid in pids.items()}
    snapshot |= cpu_by_command(SERVERS)
    for pid in backend_pids(admin_url):
        with contextlib.suppress(OSError, ValueError, IndexError):
            snapshot[f"pg-backend-{pid}"] = cpu_seconds(pid)
    return snapshot


def cpu_spent(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds between two snapshots by process, our backends summed; "postgresql
    (whole server)" also counts other users of a shared server, "rabbitmq" likewise."""
    spent: dict[str, float] = {}
    for name, total in after.items():
        key = "postgresql (our backends)" if name.startswith("pg-backend-") else name
        key = "postgresql (whole server)" if key == "postgresql" else key
        spent[key] = spent.get(key, 0.0) + total - before.get(name, 0.0)
    spent["system (services, relays, our backends)"] = sum(
        v
        for k, v in spent.items()
        if k not in ("rabbitmq", "postgresql (whole server)", "load-generator")
    )
    return spent


METRIC_SAMPLE = re.compile(r"^(pasokh_\w+_seconds)_(sum|count)(\{[^}]*\})? (\S+)$")


def duration_totals(env: dict[str, str]) -> dict[str, tuple[float, float]]:
    """(sum, count) of every pasokh_*_seconds histogram of every process, by series."""
    totals: dict[str, tuple[float, float]] = {}
    for name, value in env.items():
        if not name.endswith("METRICS_PORT"):
            continue
        try:
            status, text = http_call(("127.0.0.1", int(value)), "GET", "/metrics")
        except OSError:
            continue
        if status != 200 or not isinstance(text, str):
            continue
        for line in text.splitlines():
            match = METRIC_SAMPLE.match(line)
            if match and "business" not in match[1]:  # durations only, not SLA times
                key = f"{match[1]}{match[3] or ''}"
                total, count = totals.get(key, (0.0, 0.0))
                if match[2] == "sum":
                    totals[key] = (float(match[4]), count)
                else:
                    totals[key] = (total, float(match[4]))
    return totals


def busiest_durations(before: dict, after: dict, top: int = 12) -> list[tuple[str, int, float]]:
    """(series, calls, mean ms) during the load, the series with most time spent first:
    where the work went, from the services' own histograms."""
    rows = []
    for key, (total, count) in after.items():
        total0, count0 = before.get(key, (0.0, 0.0))
        if count - count0 > 0:
            rows.append((key, int(count - count0), total - total0))
    rows.sort(key=lambda r: -r[2])
    return [(key, calls, round(1000 * spent / calls, 1)) for key, calls, spent in rows[:top]]


# -- HTTP -----------------------------------------------------------------------------


def http_call(
    address: tuple[str, int],
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    conn: http.client.HTTPConnection | None = None,
    client_address: str | None = None,
) -> tuple[int, Any]:
    own = conn is None
    conn = conn or http.client.HTTPConnection(*address, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if client_address:
        headers["X-Forwarded-For"] = client_address  # the gateway trusts one proxy hop here
    payload = json.dumps(body).encode() if body is not None else None
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        if own:
            conn.close()
    try:
        return response.status, json.loads(raw) if raw else None
    except ValueError:
        return response.status, raw.decode(errors="replace")


def expect(result: tuple[int, Any], status: int, what: str) -> Any:
    if result[0] != status:
        raise RuntimeError(f"{what}: HTTP {result[0]} {str(result[1])[:500]}")
    return result[1]


# -- people ---------------------------------------------------------------------------

_phones = itertools.count(1_000_000 + (os.getpid() % 1000) * 1000)


def new_phone() -> str:
    return f"+98936{next(_phones):07d}"


def login(stack: Stack, name: str) -> str:
    body = {"login": name, "password": PASSWORD}
    session = expect(http_call(stack.gateway, "POST", "/api/v1/auth/login", body), 200, "login")
    return session["access_token"]


def latest_code(admin_url: str, phone: str) -> str | None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT body FROM notify.outbox WHERE recipient = %s"
            " AND template = 'verification_code' ORDER BY outbox_id DESC LIMIT 1",
            (phone,),
        ).fetchone()
    if row is None:
        return None
    found = re.search(r"\d{4,8}", row[0].translate(PERSIAN_DIGITS))
    return found.group(0) if found else None


def new_customer(stack: Stack, index: int) -> str:
    phone = new_phone()
    body = {"kind": "person", "name": f"مشتری آزمون بار {index}", "phone": phone,
            "password": PASSWORD}  # fmt: skip
    # A client address of its own: identity limits codes per address, as it should.
    address = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    register = http_call(
        stack.gateway, "POST", "/api/v1/auth/register", body, client_address=address
    )
    expect(register, 201, "register")
    wait_until(lambda: latest_code(stack.admin_url, phone) is not None, timeout=30)
    code = latest_code(stack.admin_url, phone)
    if code is None:
        raise RuntimeError(f"no verification code reached notify.outbox for {phone}")
    verify = {"phone": phone, "code": code}
    verified = http_call(
        stack.gateway, "POST", "/api/v1/auth/verify-phone", verify, client_address=address
    )
    expect(verified, 200, "verify")
    return login(stack, phone)


def set_up_people(stack: Stack, customers: int) -> tuple[str, str, list[str]]:
    """(department, agent token, customer tokens)."""
    admin = f"admin.{uuid.uuid4().hex[:8]}"
    run_tool(
        stack.env, "-m", "services.identity.cli", "create-admin", "--phone", new_phone(),
        "--name", "مدیر آزمون بار", "--username", admin, stdin=PASSWORD + "\n",
    )  # fmt: skip
    admin_token = login(stack, admin)
    department = f"load-{uuid.uuid4().hex[:6]}"
    expect(
        http_call(stack.gateway, "POST", "/api/v1/departments",
                  {"department_id": department, "name": "واحد آزمون بار"}, admin_token),
        201, "create department",
    )  # fmt: skip
    agent = f"agent.{uuid.uuid4().hex[:8]}"
    expect(
        http_call(stack.gateway, "POST", "/api/v1/agents",
                  {"name": "کارشناس آزمون بار", "username": agent, "password": PASSWORD,
                   "role": "agent", "departments": [department]}, admin_token),
        201, "create agent",
    )  # fmt: skip
    agent_token = login(stack, agent)
    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(lambda i: new_customer(stack, i), range(customers)))
    return department, agent_token, tokens


# -- the load -------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str  # "open" or "reply"
    status: int
    seconds: float


@dataclass
class LoadResult:
    samples: list[Sample]
    elapsed: float
    errors: list[str]


def replies_due(n: int, replies_per_ticket: float) -> bool:
    """Whether the ``n``-th ticket (from 0) gets an agent's reply: spread evenly, so
    that any stretch of tickets has the asked share of replies."""
    return int((n + 1) * replies_per_ticket) > int(n * replies_per_ticket)


class Schedule:
    """Where each client's next ticket comes from.

    Closed loop (``rate`` None): a client opens its next ticket as soon as its last
    call returned, until ``seconds`` have passed; throughput is whatever the system
    gives ``clients`` callers. Open loop (``rate``): tickets are due at fixed
    intervals, ``rate`` per second, whatever the answers take, and a free client takes
    the next due one; an opening's latency counts from when it was due, so a system
    that falls behind shows it in the percentiles (no coordinated omission), and
    ``clients`` only bounds the calls in flight.
    """

    def __init__(self, seconds: float, rate: float | None) -> None:
        self.rate = rate
        self.began = time.perf_counter()
        self.stop_at = self.began + seconds
        self.count = int(seconds * rate) if rate else None
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def next(self) -> tuple[int, float] | None:
        """The next ticket's number and the time it is due, waiting until then; None
        when the run is over."""
        with self._lock:
            n = next(self._counter)
        if self.rate is None:
            now = time.perf_counter()
            return (n, now) if now < self.stop_at else None
        if n >= self.count:
            return None
        due = self.began + n / self.rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        return n, due


def drive(
    stack: Stack,
    department: str,
    agent: str,
    customers: list[str],
    clients: int,
    seconds: float,
    replies_per_ticket: float = 1.0,
    rate: float | None = None,
) -> LoadResult:
    schedule = Schedule(seconds, rate)
    samples: list[Sample] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        conn = http.client.HTTPConnection(*stack.gateway, timeout=60)
        mine: list[Sample] = []
        try:
            while (due := schedule.next()) is not None:
                n, started = due
                body = {"department": department, "subject": f"درخواست بار {uuid.uuid4().hex}",
                        "body": "متن درخواست آزمون بار"}  # fmt: skip
                status, ticket = http_call(
                    stack.gateway,
                    "POST",
                    "/api/v1/tickets",
                    body,
                    customers[n % len(customers)],
                    conn,
                )
                mine.append(Sample("open", status, time.perf_counter() - started))
                if status != 201:
                    with lock:
                        errors.append(f"open: {status} {str(ticket)[:200]}")
                    continue
                if not replies_due(n, replies_per_ticket):
                    continue
                started = time.perf_counter()
                status, reply = http_call(
                    stack.gateway, "POST", f"/api/v1/tickets/{ticket['ticket_id']}/replies",
                    {"body": "پاسخ کارشناس آزمون بار"}, agent, conn,
                )  # fmt: skip
                mine.append(Sample("reply", status, time.perf_counter() - started))
                if status != 201:
                    with lock:
                        errors.append(f"reply: {status} {str(reply)[:200]}")
        except (OSError, http.client.HTTPException) as exc:
            with lock:
                errors.append(f"client {number}: {exc!r}")
        finally:
            conn.close()
            with lock:
                samples.extend(mine)

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(samples, time.monotonic() - began, errors)


def wait_for_sms(admin_url: str, patience: float) -> list[dict]:
    """Poll until every expected SMS is in the outbox, or nothing moved for ``patience``."""
    last, moved_at = -1, time.monotonic()
    while True:
        with psycopg.connect(admin_url, autocommit=True, row_factory=dict_row) as conn:
            rows = conn.execute(SMS_OF_EVENTS).fetchall()
        sent = sum(1 for r in rows if r["sent_at"] is not None)
        missing = len({r["event_id"] for r in rows if r["sent_at"] is None})
        if missing == 0:
            return rows
        if sent != last:
            last, moved_at = sent, time.monotonic()
        elif time.monotonic() - moved_at > patience:
            return rows
        time.sleep(0.5)


# -- report ---------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        f"p{int(q * 100)}": round(percentile(values, q) * 1000, 1) for q in (0.5, 0.95, 0.99)
    } | {"max": round(max(values) * 1000, 1) if values else float("nan")}


def report(
    load: LoadResult, rows: list[dict], cpu: dict[str, float], args: argparse.Namespace
) -> dict:
    by_event: dict[str, list[dict]] = {}
    for row in rows:
        by_event.setdefault(row["event_id"], []).append(row)
    lost = sum(1 for sms in by_event.values() if all(r["sent_at"] is None for r in sms))
    duplicated = sum(len(sms) - 1 for sms in by_event.values() if len(sms) > 1)
    delays = [
        (r["sent_at"] - r["recorded_at"]).total_seconds() for r in rows if r["sent_at"] is not None
    ]
    ok = {"open": 201, "reply": 201}
    result: dict[str, Any] = {
        "seconds": round(load.elapsed, 1),
        "clients": args.clients,
        "replies_per_ticket": args.replies_per_ticket,
        "rate": args.rate,
        "customers": args.customers,
        "http": {},
        "errors": len(load.errors),
        "sms_expected": len(by_event),
        "sms_in_outbox": len(delays),
        "sms_lost": lost,
        "sms_duplicated": duplicated,
        "event_to_sms_ms": summary_ms(delays),
        "cpu_percent_of_one_core": cpu,
    }
    for kind in ("open", "reply", "all"):
        chosen = [s for s in load.samples if kind == "all" or s.kind == kind]
        good = [s for s in chosen if s.status == ok.get(s.kind)]
        result["http"][kind] = {
            "requests": len(chosen),
            "ok": len(good),
            "per_second": round(len(good) / load.elapsed, 1),
            **summary_ms([s.seconds for s in chosen]),
        }
    return result


def print_report(result: dict, errors: list[str]) -> None:
    pace = f"open loop at {result['rate']:g} tickets/s" if result["rate"] else "closed loop"
    print(f"\ngateway load: {result['clients']} clients, {result['seconds']} s, "
          f"{result['customers']} customers, "
          f"{result['replies_per_ticket']:g} agent replies per ticket, {pace}")  # fmt: skip
    print(f"{'calls':<8}{'requests':>10}{'ok':>9}{'ok/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'p99 ms':>9}{'max ms':>9}")  # fmt: skip
    for kind, h in result["http"].items():
        print(f"{kind:<8}{h['requests']:>10}{h['ok']:>9}{h['per_second']:>9}{h['p50']:>9}"
              f"{h['p95']:>9}{h['p99']:>9}{h['max']:>9}")  # fmt: skip
    d = result["event_to_sms_ms"]
    print(f"event -> SMS ms: p50 {d['p50']}  p95 {d['p95']}  p99 {d['p99']}  max {d['max']}")
    print(f"SMS expected {result['sms_expected']}, in outbox {result['sms_in_outbox']}, "
          f"lost {result['sms_lost']}, duplicated {result['sms_duplicated']}")  # fmt: skip
    print("CPU during the load (% of one core): " + ", ".join(
        f"{name} {pct}" for name, pct in sorted(
            result["cpu_percent_of_one_core"].items(), key=lambda kv: -kv[1])
    ))  # fmt: skip
    print("CPU ms per ticket (opened and answered), from the load's start until every SMS"
          " was recorded: " + ", ".join(
        f"{name} {ms}" for name, ms in sorted(
            result["cpu_ms_per_ticket_until_drained"].items(), key=lambda kv: -kv[1])
    ))  # fmt: skip
    print("marginal CPU ms per ticket (the same, less what the idle stack uses in that time):"
          " " + ", ".join(
        f"{name} {ms}" for name, ms in sorted(
            result["marginal_cpu_ms_per_ticket"].items(), key=lambda kv: -kv[1])
    ))  # fmt: skip
    print("idle stack CPU (% of one core): " + ", ".join(
        f"{name} {pct}" for name, pct in sorted(
            result["idle_cpu_percent_of_one_core"].items(), key=lambda kv: -kv[1])
    ))  # fmt: skip
    print("where the time went during the load (series, calls, mean ms):")
    for key, calls, mean in result["mean_ms_by_series"]:
        print(f"  {key:<90} {calls:>7} {mean:>9}")
    if errors:
        print(f"{len(errors)} failed calls; first: {errors[:3]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--customers", type=int, default=64)
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="open loop: this many ticket openings per second, due at fixed intervals"
        " whatever the answers take (latency counts from when each was due);"
        " --clients then bounds the calls in flight (default: closed loop)",
    )
    parser.add_argument(
        "--replies-per-ticket",
        type=float,
        default=1.0,
        help="share of opened tickets an agent answers at once, 0 to 1 (default 1: every one)",
    )
    parser.add_argument(
        "--sms-patience",
        type=float,
        default=60,
        help="give up waiting for SMS after this long without progress",
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=5,
        help="measure the idle stack's CPU this long before the load",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "PASOKH_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a role that may create databases (default: $PASOKH_BENCH_DATABASE_URL)",
    )
    parser.add_argument(
        "--amqp-uri",
        default=os.environ.get("PASOKH_BENCH_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
    )
    parser.add_argument("--logs", type=Path, default=None, help="keep process logs here")
    parser.add_argument(
        "--cpu-profile",
        type=Path,
        default=None,
        help="sample every service's and relay's CPU into this folder (read it with"
        " `python -m benchmarks.cpu_report DIR`)",
    )
    args = parser.parse_args(argv)

    logs = args.logs or Path(tempfile.mkdtemp(prefix="pasokh-bench-gateway-"))
    logs.mkdir(parents=True, exist_ok=True)
    print(f"starting the stack (logs in {logs})", file=sys.stderr)
    with running_stack(args.database_url, args.amqp_uri, logs, args.cpu_profile) as stack:
        print(f"creating {args.customers} customers and an agent", file=sys.stderr)
        department, agent, customers = set_up_people(stack, args.customers)
        if not 0 <= args.replies_per_ticket <= 1:
            parser.error("--replies-per-ticket must be between 0 and 1")
        if args.rate is not None and args.rate <= 0:
            parser.error("--rate must be positive")
        pace = f"open loop at {args.rate:g} tickets/s" if args.rate else "closed loop"
        print(
            f"driving {args.clients} clients for {args.seconds:g} s ({pace}),"
            f" {args.replies_per_ticket:g} agent replies per ticket",
            file=sys.stderr,
        )
        pids = {name: p.pid for name, p in stack.processes.items()}
        pids["load-generator"] = os.getpid()
        # The stack's CPU while idle (relays and sealers polling, timers): a cost per
        # second, not per ticket; subtracted below to give the marginal cost of a ticket.
        idle_start = cpu_snapshot(pids, stack.admin_url)
        idle_began = time.monotonic()
        time.sleep(args.idle_seconds)
        before = cpu_snapshot(pids, stack.admin_url)
        idle_rate = {
            name: seconds / (time.monotonic() - idle_began)
            for name, seconds in cpu_spent(idle_start, before).items()
        }
        load_began = time.monotonic()
        busy_before = machine_busy()
        durations_before = duration_totals(stack.env)
        load = drive(
            stack,
            department,
            agent,
            customers,
            args.clients,
            args.seconds,
            args.replies_per_ticket,
            args.rate,
        )
        busy_after = machine_busy()
        durations = busiest_durations(durations_before, duration_totals(stack.env))
        after = cpu_snapshot(pids, stack.admin_url)
        spent = cpu_spent(before, after)
        cpu = {name: round(100 * seconds / load.elapsed) for name, seconds in spent.items()}
        cpu["machine (all cores)"] = round(
            100
            * os.cpu_count()
            * (busy_after[0] - busy_before[0])
            / max(1, busy_after[1] - busy_before[1])
        )
        print("waiting for every SMS", file=sys.stderr)
        waited = time.monotonic()
        rows = wait_for_sms(stack.admin_url, args.sms_patience)
        drained = cpu_snapshot(pids, stack.admin_url)
        busy_seconds = time.monotonic() - load_began
        result = report(load, rows, cpu, args)
        tickets = max(1, result["http"]["open"]["ok"])
        spent_until_drained = cpu_spent(before, drained)
        result["cpu_ms_per_ticket_until_drained"] = {
            name: round(1000 * seconds / tickets, 1)
            for name, seconds in spent_until_drained.items()
        }
        # rabbitmq and the whole PostgreSQL server also serve other users: no idle rate
        # of theirs means anything, so they are left out of the marginal figures.
        result["marginal_cpu_ms_per_ticket"] = {
            name: round(1000 * (seconds - idle_rate.get(name, 0.0) * busy_seconds) / tickets, 1)
            for name, seconds in spent_until_drained.items()
            if name not in ("rabbitmq", "postgresql (whole server)", "load-generator")
        }
        result["idle_cpu_percent_of_one_core"] = {
            name: round(100 * rate) for name, rate in idle_rate.items()
        }
        result["sms_drain_seconds_after_load"] = round(time.monotonic() - waited, 1)
        result["mean_ms_by_series"] = durations
    print_report(result, load.errors)
    print(f"SMS drained {result['sms_drain_seconds_after_load']} s after the load ended")
    if args.json:
        print(json.dumps(result, indent=2))
    return 0 if result["sms_lost"] == 0 and result["sms_duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
