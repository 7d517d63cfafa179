"""Every YAML file of the deployment passes yamllint (deploy/yamllint.yaml), and the
linter does catch a broken file."""

from __future__ import annotations

from tests.deploy.conftest import DEPLOY, REPO_ROOT, require_tool, run

CONFIG = DEPLOY / "yamllint.yaml"


def test_deploy_yaml_and_compose_pass_yamllint():
    yamllint = require_tool("yamllint")
    result = run(
        [yamllint, "--strict", "-c", str(CONFIG), "-f", "parsable", "docker-compose.yml", "deploy"]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_catches_a_duplicate_key(tmp_path):
    yamllint = require_tool("yamllint")
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec:\n  replicas: 1\n  replicas: 2\n")
    result = run([yamllint, "-c", str(CONFIG), "-f", "parsable", str(broken)], cwd=REPO_ROOT)
    assert result.returncode != 0
    assert "key-duplicates" in result.stdout
