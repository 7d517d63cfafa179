"""Which Pasokh processes exist: the table in deploy/docker/pasokh-entrypoint (the one
place that maps a process name to what it runs), checked against the code."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from tests.deploy.conftest import DEPLOY, REPO_ROOT

ENTRYPOINT = DEPLOY / "docker" / "pasokh-entrypoint"
# Processes that are not long-running services: one-shots and tools.
TOOLS = ("setup", "pasokh", "dlq")


def nameko_table() -> dict[str, str]:
    """process name -> ``module:Class`` from the entrypoint's ``nameko_class``."""
    text = ENTRYPOINT.read_text(encoding="utf-8")
    body = text.split("nameko_class() {", 1)[1].split("\n}", 1)[0]
    return dict(re.findall(r"^\s*([a-z][a-z-]*)\) echo (\S+) ;;$", body, re.MULTILINE))


def module_path(spec: str) -> Path:
    return REPO_ROOT / (spec.partition(":")[0].replace(".", "/") + ".py")


def landed_services() -> dict[str, str]:
    """The table's services whose module exists in the repository now."""
    return {name: spec for name, spec in nameko_table().items() if module_path(spec).exists()}


def service_class(process: str) -> type:
    module_name, _, class_name = nameko_table()[process].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def is_known_process(name: str) -> bool:
    if name in TOOLS or name in nameko_table():
        return True
    if name.endswith("-relay"):
        return (REPO_ROOT / "services" / name.removesuffix("-relay") / "migrations").is_dir()
    return False


def service_modules_in_code() -> list[Path]:
    """Every nameko service module: services/<name>/service.py and gateway/service.py."""
    found = sorted((REPO_ROOT / "services").glob("*/service.py"))
    gateway = REPO_ROOT / "gateway" / "service.py"
    return [*found, gateway] if gateway.exists() else found
