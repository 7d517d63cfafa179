"""Prometheus and Grafana: the scrape config and the alert rules pass promtool, every
alert is unit-tested and documented, the Kubernetes copy of the rules is current, and
every metric the alerts and the dashboard read is served by the code with those labels
(or listed, with its promised shape, in deploy/prometheus/metrics-contract.yml)."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import DEPLOY, REPO_ROOT, require_tool, run

PROMETHEUS = DEPLOY / "prometheus"
RULES = PROMETHEUS / "rules" / "pasokh-alerts.yml"
RULE_TESTS = PROMETHEUS / "tests" / "pasokh-alerts.test.yml"
CONTRACT = PROMETHEUS / "metrics-contract.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "pasokh.json"
OPERATIONS_DOC = REPO_ROOT / "docs" / "operations.md"
CODE_ROOTS = ("pasokh_common", "services", "gateway")
# Labels every scraped series carries (prometheus.yml's targets, the PodMonitor).
TARGET_LABELS = {"job", "app", "instance"}
METRIC_CLASSES = {
    "Counter",
    "Gauge",
    "Histogram",
    "Summary",
    "GaugeMetricFamily",
    "CounterMetricFamily",
}
SEVERITIES = {"critical", "warning", "info"}


def alert_rules() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def dashboard_queries() -> list[str]:
    board = dashboard()
    queries = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            queries.append(variable["definition"])
    return queries


def grafana_to_promql(query: str) -> str:
    """Grafana's variables replaced by what they stand for, so promtool can parse it."""
    query = query.replace("$__rate_interval", "5m").replace("$__interval", "1m")
    return re.sub(r"\$\{?\w+\}?", ".*", query)


# --- promtool -----------------------------------------------------------------------


def test_prometheus_config_is_valid():
    promtool = require_tool("promtool")
    result = run([promtool, "check", "config", "prometheus.yml"], cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_pass_promtool_check():
    promtool = require_tool("promtool")
    result = run([promtool, "check", "rules", str(RULES)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_pass_their_unit_tests():
    promtool = require_tool("promtool")
    result = run([promtool, "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_in_a_unit_test():
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    missing = {rule["alert"] for rule in alert_rules()} - fired
    assert not missing, f"no promtool test makes these fire: {missing}"


def github_anchors(markdown: str) -> set[str]:
    anchors = set()
    for heading in re.findall(r"^#+\s+(.+?)\s*$", markdown, re.MULTILINE):
        text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
        anchors.add(text.replace(" ", "-"))
    return anchors


def test_every_alert_is_labelled_explained_and_has_a_runbook_section():
    anchors = github_anchors(OPERATIONS_DOC.read_text(encoding="utf-8"))
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, name
        annotations = rule["annotations"]
        assert {"summary", "description", "runbook"} <= set(annotations), name
        path, _, anchor = annotations["runbook"].partition("#")
        assert path == "docs/operations.md", name
        assert anchor == name.lower(), f"{name}: runbook anchor should be #{name.lower()}"
        assert anchor in anchors, f"docs/operations.md has no section '### {name}'"


def test_kubernetes_prometheusrule_is_generated_from_the_rules_file():
    path = DEPLOY / "tools" / "sync_prometheusrule.py"
    spec = importlib.util.spec_from_file_location("sync_prometheusrule", path)
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    assert sync.PROMETHEUS_RULE.read_text(encoding="utf-8") == sync.render(), (
        "run `python deploy/tools/sync_prometheusrule.py`"
    )


# --- the dashboard ------------------------------------------------------------------


def test_dashboard_panels_are_laid_out_and_use_the_datasource_variable():
    board = dashboard()
    assert board["uid"] == "pasokh-overview"
    names = [v["name"] for v in board["templating"]["list"]]
    assert names[0] == "datasource"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    occupied: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
    titles = " ".join(p["title"] for p in board["panels"] if p["type"] == "row")
    for section in ("Service health", "SLA", "Event pipeline"):
        assert section in titles


def test_dashboard_queries_are_valid_promql(tmp_path):
    """promtool parses every panel's query, written as a recording rule."""
    promtool = require_tool("promtool")
    rules = [
        {"record": f"dashboard:query_{i}", "expr": grafana_to_promql(q)}
        for i, q in enumerate(dashboard_queries())
        if not q.startswith("label_values(")
    ]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run([promtool, "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


# --- metrics: served, or promised -----------------------------------------------------


def _literal_labels(node: ast.AST | None, assignments: dict[str, ast.AST]) -> list[str]:
    if isinstance(node, ast.Name):
        node = assignments.get(node.id)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant)]
    return []


def served_metrics() -> dict[str, dict]:
    """name -> {type, labels} of every prometheus_client metric defined in the code."""
    found = {}
    for root in CODE_ROOTS:
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assignments = {
                target.id: node.value
                for node in tree.body
                if isinstance(node, ast.Assign)
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                kind = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if kind not in METRIC_CLASSES or not node.args:
                    continue
                first = node.args[0]
                if not (isinstance(first, ast.Constant) and str(first.value).startswith("pasokh_")):
                    continue
                labels_node = node.args[2] if len(node.args) > 2 else None
                for keyword in node.keywords:
                    if keyword.arg in ("labelnames", "labels"):
                        labels_node = keyword.value
                found[first.value] = {
                    "type": kind.lower().replace("metricfamily", ""),
                    "labels": _literal_labels(labels_node, assignments),
                }
    return found


def promised_metrics() -> dict[str, dict]:
    return yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))["assumed"]


def used_queries() -> list[str]:
    return [rule["expr"] for rule in alert_rules()] + dashboard_queries()


SERIES_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def resolve(name: str, known: dict[str, dict]) -> str | None:
    """The metric a series name belongs to (``x_bucket`` -> histogram ``x``)."""
    if name in known:
        return name
    for base, meta in known.items():
        if any(name == base + s for s in SERIES_SUFFIXES.get(meta["type"], ())):
            return base
    return None


def test_code_metrics_are_found():
    """Guards the extraction below: it must see the metrics we know exist."""
    served = served_metrics()
    assert served["pasokh_consumer_dead_lettered_total"]["labels"] == ["consumer", "event_type"]
    assert served["pasokh_relay_lag_seconds"] == {"type": "gauge", "labels": ["source"]}
    assert served["pasokh_tickets_command_seconds"]["type"] == "histogram"


def test_every_metric_used_is_served_or_promised():
    known = {**promised_metrics(), **served_metrics()}
    used = {m for q in used_queries() for m in re.findall(r"\bpasokh_\w+", q)}
    unknown = sorted(m for m in used if resolve(m, known) is None)
    assert not unknown, (
        f"no code serves {unknown}: fix the name, or promise the metric in "
        "deploy/prometheus/metrics-contract.yml"
    )


def test_promised_metrics_are_not_served_yet():
    served = served_metrics()
    for name, promise in promised_metrics().items():
        assert name not in served, (
            f"{name} is served now: check its labels {served.get(name)} against the promise "
            f"{promise['labels']}, then delete it from metrics-contract.yml"
        )


def _labels_by_use(query: str) -> list[tuple[str, set[str]]]:
    """(metric, label names) for each selector's matchers and each `by (...)` clause
    (attributed to the first metric after it)."""
    uses = []
    for metric, matchers in re.findall(r"\b(pasokh_\w+)\{([^}]*)\}", query):
        uses.append((metric, set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers))))
    for match in re.finditer(r"\bby \(([^)]*)\)", query):
        following = re.search(r"\b(pasokh_\w+|rabbitmq_\w+|up)\b", query[match.end() :])
        if following and following.group(1).startswith("pasokh_"):
            labels = {label.strip() for label in match.group(1).split(",")}
            uses.append((following.group(1), labels))
    return uses


def test_queries_use_only_labels_the_metric_has():
    known = {**promised_metrics(), **served_metrics()}
    problems = []
    for query in used_queries():
        for metric, labels in _labels_by_use(grafana_to_promql(query)):
            base = resolve(metric, known)
            if base is None:
                continue  # reported by test_every_metric_used_is_served_or_promised
            allowed = set(known[base]["labels"]) | TARGET_LABELS
            if metric.endswith("_bucket"):
                allowed.add("le")
            extra = labels - allowed
            if extra:
                problems.append(f"{metric} has no label {sorted(extra)} in: {query}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("label", ["department", "status", "priority"])
def test_label_checks_can_fail(label):
    """A query grouping by a label the metric lacks is caught."""
    uses = _labels_by_use(f"sum by ({label}) (rate(pasokh_relay_published_total[5m]))")
    assert uses == [("pasokh_relay_published_total", {label})]
    assert label not in served_metrics()["pasokh_relay_published_total"]["labels"]


def test_grafana_provisioning_loads_the_dashboard_directory():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    mounts = compose["services"]["grafana"]["volumes"]
    dashboards_mount = next(m for m in mounts if m.startswith("./deploy/grafana/dashboards:"))
    container_path = dashboards_mount.split(":")[1]
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "pasokh.yml").read_text()
    )["providers"][0]
    assert provider["options"]["path"] == container_path
    datasource = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"][0]
    assert datasource["type"] == "prometheus"
    assert Path(DASHBOARD).parent.name == "dashboards"
