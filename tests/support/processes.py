"""Start Pasokh processes for tests exactly as production does, and wait for them."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def spawn(argv: list[str], env: dict[str, str], log_path: Path | None = None) -> subprocess.Popen:
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, *argv], env=full_env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT
    )


def stop(process: subprocess.Popen, timeout: float = 20) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def stop_all(processes) -> None:
    """SIGTERM to every process at once, then wait for each: a nameko service takes
    seconds to drain, and one after another that adds up."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        stop(process)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def http_status(url: str, timeout: float = 5) -> int:
    """The status of GET ``url``; 0 while nothing answers (a process still starting)."""
    try:
        return http_get(url, timeout)[0]
    except OSError:
        return 0


def create_first_admin(env: dict[str, str], phone: str, username: str, password: str) -> None:
    """The first admin comes only from the identity CLI (the API cannot mint one)."""
    result = subprocess.run(
        [sys.executable, "-m", "services.identity.cli", "create-admin",
         "--phone", phone, "--name", "مدیر سامانه", "--username", username],
        input=password + "\n", capture_output=True, text=True, cwd=REPO_ROOT,
        env={**os.environ, **env}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def wait_until(condition: Callable[[], bool], timeout: float = 30, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def rpc_service_ready(amqp_uri: str, service: str) -> bool:
    """True once the service consumes its RPC queue (nameko's ``rpc-<service>``)."""
    from amqp.exceptions import NotFound
    from kombu import Connection

    try:
        with Connection(amqp_uri, connect_timeout=3) as conn:
            channel = conn.channel()
            _, _, consumers = channel.queue_declare(f"rpc-{service}", passive=True)
            return consumers > 0
    except (NotFound, OSError):
        return False


def wait_for_rpc_service(
    amqp_uri: str, service: str, process: subprocess.Popen, timeout: float = 60
) -> None:
    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{service} exited with {process.returncode} while starting")
        return rpc_service_ready(amqp_uri, service)

    if not wait_until(ready, timeout=timeout, interval=0.2):
        raise TimeoutError(f"{service} did not start consuming within {timeout}s")


def metric_value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``, from a
    Prometheus text exposition."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total
