"""Write the Kubernetes PrometheusRule from the plain Prometheus rules file.

    python deploy/tools/sync_prometheusrule.py          # rewrite the PrometheusRule
    python deploy/tools/sync_prometheusrule.py --check  # exit 1 if it is out of date

Why a copy: Prometheus (compose, the end-to-end test, promtool) reads
deploy/prometheus/rules/pasokh-alerts.yml, and the Prometheus Operator reads a
PrometheusRule resource, which kustomize cannot build from a file outside its
directory. The rules file is the one to edit; tests/deploy fails while the two differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent.parent
RULES = DEPLOY / "prometheus" / "rules" / "pasokh-alerts.yml"
PROMETHEUS_RULE = DEPLOY / "k8s" / "components" / "monitoring" / "prometheusrule.yaml"

HEADER = """\
# GENERATED from deploy/prometheus/rules/pasokh-alerts.yml by
# deploy/tools/sync_prometheusrule.py: edit the rules file, then run the script.
"""


class _Dumper(yaml.SafeDumper):
    """Multi-line PromQL as literal blocks and indented lists, like the original."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(rules_path: Path = RULES) -> str:
    groups = yaml.safe_load(rules_path.read_text(encoding="utf-8"))["groups"]
    resource = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "pasokh",
            # The label kube-prometheus-stack's Prometheus selects rules by; adjust to yours.
            "labels": {"release": "prometheus"},
        },
        "spec": {"groups": groups},
    }
    body = yaml.dump(
        resource, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=96, indent=2
    )
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    args = parser.parse_args(argv)
    wanted = render()
    current = PROMETHEUS_RULE.read_text(encoding="utf-8") if PROMETHEUS_RULE.exists() else ""
    if args.check:
        if current != wanted:
            print(f"{PROMETHEUS_RULE} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    PROMETHEUS_RULE.write_text(wanted, encoding="utf-8")
    print(f"wrote {PROMETHEUS_RULE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
