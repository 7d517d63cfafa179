"""The image and docker-compose.yml, without a Docker engine: the Dockerfile follows the
rules hadolint would check that matter here (non-root, exec form, no build tools in the
final stage), its entrypoint really exec's the process (it is PID 1 and gets SIGTERM),
and the compose file wires every process the way the Kubernetes manifests do."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.deploy import registry
from tests.deploy.conftest import DEPLOY, REPO_ROOT, of_kind, pod_spec

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
DOCKERIGNORE = DEPLOY / "docker" / "Dockerfile.dockerignore"
COMPOSE = REPO_ROOT / "docker-compose.yml"
BUILD_TOOLS = re.compile(
    r"\b(gcc|g\+\+|clang|make|build-essential|python3?-dev|libpq-dev|libffi-dev|cargo|rustc)\b"
)
INSTALLERS = re.compile(r"\b(apt-get|apt|apk|yum|dnf)\s+(-\S+\s+)*(install|add)\b|\bpip\b")


# --- the Dockerfile -------------------------------------------------------------------


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages), with continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif not stages and keyword == "ARG":
            key, _, default = rest.partition("=")
            args[key.strip()] = default.strip()
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def expand(image: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)


def test_images_build_from_a_pinned_slim_python_311(dockerfile):
    args, stages = dockerfile
    for stage in stages:
        image = expand(stage.image, args)
        if image in {s.name for s in stages}:
            continue  # FROM an earlier stage
        assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", image), image


def test_final_stage_runs_as_an_unprivileged_user(dockerfile):
    _, stages = dockerfile
    final = stages[-1]
    users = [rest for keyword, rest in final.instructions if keyword == "USER"]
    assert users, "the final stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert not user.isdigit() or int(user) >= 1000


def test_final_stage_starts_the_process_in_exec_form(dockerfile):
    """Shell form would make /bin/sh PID 1, and SIGTERM would never reach the process."""
    _, stages = dockerfile
    final = stages[-1]
    for keyword in ("ENTRYPOINT", "CMD"):
        forms = [rest for k, rest in final.instructions if k == keyword]
        assert forms, f"final stage lacks {keyword}"
        assert isinstance(json.loads(forms[-1]), list), f"{keyword} must be a JSON array"
    entrypoint = json.loads([r for k, r in final.instructions if k == "ENTRYPOINT"][-1])
    assert entrypoint == ["/usr/local/bin/pasokh-entrypoint"]


def test_final_stage_installs_nothing_and_has_no_build_tools(dockerfile):
    _, stages = dockerfile
    final = stages[-1]
    for keyword, rest in final.instructions:
        if keyword == "RUN":
            assert not INSTALLERS.search(rest), f"install in the final stage: {rest}"
            assert not BUILD_TOOLS.search(rest), f"build tool in the final stage: {rest}"
        assert keyword != "ADD", "COPY, not ADD (no remote URLs, no implicit unpacking)"
    copied = [rest for keyword, rest in final.instructions if keyword == "COPY"]
    assert any(c.startswith("--from=build ") for c in copied), "copy the built venv only"


def test_build_context_sends_only_what_the_image_needs():
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "deny everything first, then allow"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed >= {"pyproject.toml", "pasokh_common", "services", "gateway"}
    assert not any(a.startswith((".run", ".venv", "tests", ".git")) for a in allowed)


# --- the entrypoint -------------------------------------------------------------------


def _entrypoint_env(**extra: str) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}", **extra}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_entrypoint_is_valid_posix_shell():
    result = subprocess.run(["sh", "-n", str(registry.ENTRYPOINT)], capture_output=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("argv", [[], ["no-such-process"], ["bad_name-relay"]])
def test_entrypoint_refuses_unknown_processes(argv):
    result = subprocess.run(
        ["sh", str(registry.ENTRYPOINT), *argv],
        env=_entrypoint_env(PASOKH_PROCESS=""),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 64
    assert "usage: pasokh-entrypoint" in result.stderr


def test_entrypoint_execs_the_process_which_stops_cleanly_on_sigterm():
    """The relay stands in for every process: the entrypoint's PID becomes the Python
    process itself (no shell in between), it serves its probes on PASOKH_METRICS_PORT,
    and SIGTERM reaches it: it stops and exits 0. Its database and broker are
    unreachable on purpose: the relay keeps retrying, which is enough here."""
    port = _free_port()
    process = subprocess.Popen(
        ["sh", str(registry.ENTRYPOINT), "tickets-relay"],
        env=_entrypoint_env(
            PASOKH_METRICS_PORT=str(port),
            TICKETS_DATABASE_URL="postgresql://nobody@127.0.0.1:9/nothing?connect_timeout=1",
            AMQP_URI="amqp://guest:guest@127.0.0.1:9/",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = None
        deadline = time.monotonic() + 30
        while ready is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    ready = r.status
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        assert ready == 200, "the relay never served /healthz on PASOKH_METRICS_PORT"
        argv = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
        assert argv[:3] == [b"python", b"-m", b"pasokh_common.eventlog.relay_main"], argv
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --- docker-compose.yml -----------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def pasokh_services(compose: dict) -> dict[str, dict]:
    return {
        name: svc
        for name, svc in compose["services"].items()
        if svc.get("image") == "pasokh:local" and name != "setup"
    }


def test_compose_has_the_backing_services_and_monitoring(compose):
    services = compose["services"]
    assert {"postgres", "rabbitmq", "setup", "prometheus", "grafana"} <= set(services)
    for name in ("postgres", "rabbitmq"):
        assert services[name]["healthcheck"]["test"], name
    plugins = (DEPLOY / "compose" / "rabbitmq" / "enabled_plugins").read_text()
    assert "rabbitmq_management" in plugins and "rabbitmq_prometheus" in plugins
    assert "management" in services["rabbitmq"]["image"]


def test_compose_runs_every_deployed_process_like_kubernetes_does(compose, rendered):
    processes = {name: svc["command"] for name, svc in pasokh_services(compose).items()}
    for name, command in processes.items():
        assert command == [name], f"{name}: command must be its process name"
        assert registry.is_known_process(name), name
    deployed = {
        pod_spec(d)["containers"][0]["args"][0] for d in of_kind(rendered["small"], "Deployment")
    }
    assert set(processes) == deployed


def test_compose_processes_are_locked_down_and_wait_for_setup(compose):
    for name, svc in pasokh_services(compose).items():
        assert svc["build"]["dockerfile"] == "deploy/docker/Dockerfile", name
        assert svc["read_only"] is True, name
        assert svc["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in svc["security_opt"], name
        assert svc["depends_on"]["setup"]["condition"] == "service_completed_successfully", name
        assert "/readyz" in " ".join(svc["healthcheck"]["test"]), name
        assert int(svc["stop_grace_period"].rstrip("s")) >= 45, name
        assert svc["environment"]["AMQP_URI"].startswith("amqp://")
    setup = compose["services"]["setup"]
    assert setup["command"] == ["setup"]
    assert setup["restart"] == "no"
    for backing in ("postgres", "rabbitmq"):
        assert setup["depends_on"][backing]["condition"] == "service_healthy"


def _values(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for value in node.values() for v in _values(value)]
    if isinstance(node, list):
        return [v for value in node for v in _values(value)]
    return [node] if isinstance(node, str) else []


def test_compose_keeps_secrets_out_of_the_file(compose):
    """Passwords and keys are ${VARIABLES} from .run/compose.env, never literals."""
    for name, svc in compose["services"].items():
        env = svc.get("environment", {})
        for key, value in env.items():
            if re.search(r"PASS|SECRET|TOKEN|KEY", key):
                assert str(value).startswith("${"), f"{name}.{key} is a literal secret"
        for value in _values(svc):
            credentials = re.search(r"://[^/@\s]+:([^@\s]+)@", value)
            if credentials:
                assert credentials.group(1).startswith("${"), f"{name}: password in {value}"
    example = (DEPLOY / "compose" / "compose.env.example").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text(encoding="utf-8")))
    listed = set(re.findall(r"^(\w+)=", example, re.MULTILINE))
    assert used == listed, "compose.env.example lists exactly the variables compose needs"
    make_env = (DEPLOY / "compose" / "make-env").read_text(encoding="utf-8")
    assert set(re.findall(r'echo "(\w+)=', make_env)) == used


def test_compose_publishes_ports_on_localhost_only(compose):
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} to the network"


def test_compose_mounts_exist_in_the_repository(compose):
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO_ROOT / source).exists(), f"{name} mounts missing {source}"


def test_compose_prometheus_scrapes_every_process(compose):
    targets = json.loads((DEPLOY / "prometheus" / "targets" / "pasokh-compose.json").read_text())
    scraped = {t["labels"]["app"]: t["targets"] for t in targets}
    assert set(scraped) == set(pasokh_services(compose))
    for app, addresses in scraped.items():
        assert addresses == [f"{app}:9100"]
