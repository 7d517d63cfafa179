"""End-to-end: a real Prometheus (Debian's package) scrapes the running services with the
configuration and alert rules in deploy/prometheus, and a ticket opened through the
gateway's HTTP API shows up in a PromQL query.

This proves what a unit test of one /metrics page cannot: that the ports, the `app`
labels of the file-based discovery, the rule files and the metric names agree with
each other as operators will run them. The stack here is this module's own (its
services serve /metrics on ports the test chooses), not the package's shared one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.prometheus_support import (
    INSTALL_HINT,
    PROMETHEUS_DIR,
    Prometheus,
    poll,
    prometheus_binary,
    running_prometheus,
)
from tests.integration.gateway.client import (
    bootstrap_admin,
    new_department,
    open_ticket,
    register_customer,
)
from tests.integration.gateway.stack import Stack, running_stack
from tests.support.processes import free_port

pytestmark = pytest.mark.skipif(prometheus_binary() is None, reason=INSTALL_HINT)

# Each process of the stack and the variable that sets its metrics port.
METRICS_PORT_VARIABLES = {
    "gateway": "GATEWAY_METRICS_PORT",
    "identity": "IDENTITY_METRICS_PORT",
    "identity-relay": "IDENTITY_RELAY_METRICS_PORT",
    "notify": "NOTIFY_METRICS_PORT",  # the notify double, run by the same runner
    "tickets": "TICKETS_METRICS_PORT",
    "tickets-relay": "TICKETS_RELAY_METRICS_PORT",
}
WAIT_SECONDS = 30


def expected_rule_groups() -> set[str]:
    names: set[str] = set()
    for rules in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        names.update(group["name"] for group in yaml.safe_load(rules.read_text())["groups"])
    return names


@pytest.fixture(scope="module")
def metrics_ports() -> dict[str, int]:
    return {app: free_port() for app in METRICS_PORT_VARIABLES}


@pytest.fixture(scope="module")
def monitored_stack(
    run_id, pg_admin_url, backends, app_role, tickets_template, tmp_path_factory, metrics_ports
) -> Iterator[Stack]:
    extra_env = {METRICS_PORT_VARIABLES[app]: str(port) for app, port in metrics_ports.items()}
    with running_stack(
        run_id=run_id,
        pg_admin_url=pg_admin_url,
        base_amqp_uri=backends.amqp_uri,
        app_role=app_role,
        tickets_template=tickets_template,
        logs=tmp_path_factory.mktemp("prometheus-stack"),
        extra_env=extra_env,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def prometheus(monitored_stack: Stack, metrics_ports, tmp_path_factory) -> Iterator[Prometheus]:
    workdir: Path = tmp_path_factory.mktemp("prometheus")
    with running_prometheus(prometheus_binary() or "", metrics_ports, workdir) as server:
        yield server


def test_a_ticket_opened_through_the_gateway_shows_up_in_prometheus(
    monitored_stack: Stack, prometheus: Prometheus, metrics_ports: dict[str, int]
) -> None:
    admin = bootstrap_admin(monitored_stack)
    department = new_department(admin, "metrics")
    customer = register_customer(monitored_stack)
    ticket = open_ticket(customer, department)
    assert ticket["number"]

    def opened() -> float:
        result = prometheus.query(
            f'sum(pasokh_tickets_opened_total{{job="pasokh",department="{department}"}})'
        )
        return float(result[0]["value"][1]) if result else 0.0

    assert poll(lambda: opened() >= 1, WAIT_SECONDS), (
        f"Prometheus never saw the ticket: sum(pasokh_tickets_opened_total) = {opened()}"
    )
    assert float(prometheus.query("sum(pasokh_tickets_opened_total)")[0]["value"][1]) >= 1

    def up_by_app() -> dict[str, float]:
        return {
            sample["metric"]["app"]: float(sample["value"][1])
            for sample in prometheus.query('up{job="pasokh"}')
        }

    everything_up = poll(
        lambda: set(up_by_app()) == set(metrics_ports) and all(up_by_app().values()),
        WAIT_SECONDS,
    )
    assert everything_up, (
        f"up per app: {up_by_app()}; targets: "
        f"{[(t['labels'], t['health'], t['lastError']) for t in prometheus.active_targets()]}"
    )

    expected = expected_rule_groups()
    assert expected, "deploy/prometheus/rules holds no rule groups"
    loaded = poll(lambda: expected <= set(prometheus.rule_groups()), WAIT_SECONDS)
    assert loaded, f"rule groups loaded: {prometheus.rule_groups()}; expected {sorted(expected)}"
