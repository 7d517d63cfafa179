"""A real Prometheus server for the end-to-end test, configured from deploy/prometheus.

The test runs the very configuration and rules operators deploy: the directory is
copied, the compose targets (host names that only exist under docker-compose) are
replaced by one file of 127.0.0.1 targets, and the intervals are shortened to one
second so a scrape and a rule evaluation happen within the test's patience.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.support.processes import REPO_ROOT, free_port, http_get, stop, wait_until

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
INSTALL_HINT = (
    "the prometheus binary is not installed; install Debian's package with "
    "`apt-get install --no-install-recommends prometheus` (bin/lib.sh ensure_deploy_tools)"
)


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def write_config(workdir: Path, targets: dict[str, int]) -> Path:
    """Copy deploy/prometheus into ``workdir`` with only our targets; return the config."""
    config_dir = workdir / "config"
    shutil.copytree(PROMETHEUS_DIR, config_dir)
    for stale in (config_dir / "targets").glob("*.json"):
        stale.unlink()  # compose host names: they would only ever be `up == 0`
    groups = [
        {"targets": [f"127.0.0.1:{port}"], "labels": {"app": app}}
        for app, port in sorted(targets.items())
    ]
    (config_dir / "targets" / "pasokh-e2e.json").write_text(json.dumps(groups, indent=2))
    config_path = config_dir / "prometheus.yml"
    config = yaml.safe_load(config_path.read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    for job in config["scrape_configs"]:
        for discovery in job.get("file_sd_configs", []):
            discovery["refresh_interval"] = "1s"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return config_path


class Prometheus:
    """The server's HTTP API, as far as the test needs it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        status, body = http_get(f"{self.base_url}/api/v1/{path}{query}")
        payload = json.loads(body)
        if status != 200 or payload.get("status") != "success":
            raise AssertionError(f"Prometheus /api/v1/{path} answered {status}: {body[:500]}")
        return payload["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant vector: ``[{"metric": {...}, "value": [ts, "1"]}, ...]``."""
        return self.api("query", query=expr)["result"]

    def rule_groups(self) -> list[str]:
        return [group["name"] for group in self.api("rules")["groups"]]

    def active_targets(self) -> list[dict[str, Any]]:
        return self.api("targets", state="active")["activeTargets"]


@contextmanager
def running_prometheus(binary: str, targets: dict[str, int], workdir: Path) -> Iterator[Prometheus]:
    """Start Prometheus on a free local port, wait until it is ready, stop it after."""
    config = write_config(workdir, targets)
    port = free_port()
    log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115  (closed below)
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(
                f"prometheus exited with {process.returncode}; see {workdir / 'prometheus.log'}"
            )
        try:
            return http_get(f"{base_url}/-/ready", timeout=2)[0] == 200
        except OSError:
            return False

    try:
        if not wait_until(ready, timeout=30, interval=0.2):
            raise TimeoutError(f"prometheus was not ready in 30 s; see {workdir}")
        yield Prometheus(base_url)
    finally:
        stop(process, timeout=10)
        log.close()


def poll(check: Any, timeout: float, interval: float = 0.5) -> Any:
    """Call ``check`` until it returns something truthy; return that (or the last value).

    Prometheus learns of a change only at its next scrape and rule evaluation, so the
    test waits for the state it expects rather than for a fixed time.
    """
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    return value
