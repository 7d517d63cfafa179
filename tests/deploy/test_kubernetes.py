"""The Kubernetes manifests, offline: every overlay renders with kustomize, validates
strictly against a pinned Kubernetes release, its custom resources validate against the
schemas in deploy/schemas, and the rendered pods follow the rules operators rely on
(non-root, read-only root, probes, budgets, autoscaling on the right queues)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.deploy import registry
from tests.deploy.conftest import (
    DEPLOY,
    KUBERNETES_VERSION,
    OVERLAYS,
    REPO_ROOT,
    by_name,
    of_kind,
    pod_spec,
    require_tool,
    run,
)

SCHEMAS = DEPLOY / "schemas"
# Groups whose kinds are custom resources (their schemas live in deploy/schemas).
CRD_GROUPS = ("keda.sh", "monitoring.coreos.com", "rabbitmq.com", "postgresql.cnpg.io")
WORKLOAD_KINDS = ("Deployment", "Job")
OPERATIONS_DOC = REPO_ROOT / "docs" / "operations.md"


def is_custom(resource: dict) -> bool:
    return resource["apiVersion"].split("/")[0] in CRD_GROUPS


def schema_for(resource: dict) -> Path:
    group, version = resource["apiVersion"].split("/")
    return SCHEMAS / group / f"{resource['kind'].lower()}_{version}.json"


def workloads(resources: list[dict]) -> list[dict]:
    return [r for r in resources if r["kind"] in WORKLOAD_KINDS]


def process_name(resource: dict) -> str:
    return resource["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]


def selects(selector: dict, labels: dict) -> bool:
    """matchLabels only: the manifests use nothing else for Pasokh's own pods."""
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()) and all(
        _match_expression(e, labels) for e in selector.get("matchExpressions", [])
    )


def _match_expression(expression: dict, labels: dict) -> bool:
    value, op = labels.get(expression["key"]), expression["operator"]
    if op == "In":
        return value in expression["values"]
    if op == "NotIn":
        return value not in expression["values"]
    return (value is not None) == (op == "Exists")


# --- rendering and validation ---------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_every_process_and_the_migrations_job(rendered, overlay):
    resources = rendered[overlay]
    deployments = by_name(resources, "Deployment")
    assert {"pasokh-tickets", "pasokh-tickets-relay", "pasokh-identity"} <= set(deployments)
    assert len(of_kind(resources, "Job")) == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_manifests_validate_strictly_against_kubernetes(rendered, overlay):
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="to run it: `.venv/bin/pip install kubernetes-validate`"
    )
    errors = []
    for resource in rendered[overlay]:
        if is_custom(resource):
            continue
        name = f"{resource['kind']}/{resource['metadata']['name']}"
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            errors.append(f"{name}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            errors.append(f"{name}: {error.message}")
    assert not errors, "\n".join(errors)


def _check_jsonschema(schema: Path, instances: list[Path]) -> tuple[int, str]:
    tool = require_tool("check-jsonschema")
    result = run([tool, "--schemafile", str(schema), *map(str, instances)])
    return result.returncode, result.stdout + result.stderr


def test_custom_resources_validate_against_the_repository_schemas(rendered, tmp_path):
    by_schema: dict[Path, list[Path]] = {}
    for overlay, resources in rendered.items():
        for index, resource in enumerate(r for r in resources if is_custom(r)):
            schema = schema_for(resource)
            assert schema.exists(), f"no schema in deploy/schemas for {resource['apiVersion']}"
            instance = tmp_path / f"{overlay}-{index}-{resource['kind']}.json"
            instance.write_text(json.dumps(resource))
            by_schema.setdefault(schema, []).append(instance)
    used = {p.relative_to(SCHEMAS).as_posix() for p in by_schema}
    assert used == {
        "keda.sh/scaledobject_v1alpha1.json",
        "keda.sh/triggerauthentication_v1alpha1.json",
        "monitoring.coreos.com/podmonitor_v1.json",
        "monitoring.coreos.com/prometheusrule_v1.json",
        "postgresql.cnpg.io/cluster_v1.json",
        "rabbitmq.com/rabbitmqcluster_v1beta1.json",
    }
    for schema, instances in sorted(by_schema.items()):
        code, output = _check_jsonschema(schema, instances)
        assert code == 0, output


@pytest.mark.parametrize(
    "mistake",
    ["misspelt spec field", "misspelt trigger metadata", "unknown queue mode"],
)
def test_the_schemas_reject_what_the_operator_would_silently_drop(rendered, tmp_path, mistake):
    scaled = of_kind(rendered["production"], "ScaledObject")[0]
    broken = json.loads(json.dumps(scaled))
    trigger = next(t for t in broken["spec"]["triggers"] if t["type"] == "rabbitmq")
    if mistake == "misspelt spec field":
        broken["spec"]["pollingIntervall"] = 15
    elif mistake == "misspelt trigger metadata":
        trigger["metadata"]["queuename"] = trigger["metadata"].pop("queueName")
    else:
        trigger["metadata"]["mode"] = "Length"
    instance = tmp_path / "broken.json"
    instance.write_text(json.dumps(broken))
    code, output = _check_jsonschema(schema_for(broken), [instance])
    assert code != 0, output


# --- pod security and resources ---------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_are_non_root_with_a_read_only_root_and_no_privileges(rendered, overlay):
    """The restricted Pod Security Standard, which the namespace enforces, and more."""
    problems = []
    for workload in workloads(rendered[overlay]):
        name = workload["metadata"]["name"]
        spec = pod_spec(workload)
        pod = spec.get("securityContext", {})
        if pod.get("runAsNonRoot") is not True or not pod.get("runAsUser"):
            problems.append(f"{name}: pod must set runAsNonRoot and a non-zero runAsUser")
        if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: seccompProfile RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: no process uses the Kubernetes API; do not mount a token")
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            problems.append(f"{name}: host namespaces")
        for container in spec["containers"] + spec.get("initContainers", []):
            ctx = container.get("securityContext", {})
            where = f"{name}/{container['name']}"
            if ctx.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem")
            if ctx.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation false")
            if ctx.get("capabilities", {}).get("drop") != ["ALL"] or ctx.get(
                "capabilities", {}
            ).get("add"):
                problems.append(f"{where}: drop ALL capabilities, add none")
            if ctx.get("privileged"):
                problems.append(f"{where}: privileged")
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            if "/tmp" not in mounts:
                problems.append(f"{where}: a writable /tmp (emptyDir) beside the read-only root")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_cpu_and_memory_requests_and_limits(rendered, overlay):
    problems = []
    for workload in workloads(rendered[overlay]):
        for container in pod_spec(workload)["containers"]:
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(resources.get(kind, {}))
                if missing:
                    problems.append(f"{workload['metadata']['name']}: {kind} lack {missing}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_processes_have_cheap_liveness_readiness_and_a_drain_period(rendered, overlay):
    """Alive: /healthz (never the broker or database, so their outage restarts nothing);
    ready: /readyz (503 from SIGTERM on); grace longer than the relay's confirm timeout."""
    for deployment in of_kind(rendered[overlay], "Deployment"):
        spec = pod_spec(deployment)
        (container,) = spec["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports.get("metrics") == 9100
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        assert container["startupProbe"]["httpGet"]["port"] in ports
        assert spec["terminationGracePeriodSeconds"] >= 45
        assert spec["serviceAccountName"] == deployment["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_process_has_its_service_account_service_and_disruption_budget(rendered, overlay):
    resources = rendered[overlay]
    accounts = by_name(resources, "ServiceAccount")
    deployments = of_kind(resources, "Deployment")
    for kind in ("Service", "PodDisruptionBudget"):
        objects = by_name(resources, kind)
        for deployment in deployments:
            name = deployment["metadata"]["name"]
            assert name in objects, f"{kind} {name} missing"
            spec = objects[name]["spec"]
            # A Service's selector is a plain map; a budget's is a LabelSelector.
            selector = (
                spec["selector"]
                if kind == "PodDisruptionBudget"
                else {"matchLabels": spec["selector"]}
            )
            picked = [
                d["metadata"]["name"]
                for d in deployments
                if selects(selector, d["spec"]["template"]["metadata"]["labels"])
            ]
            assert picked == [name], f"{kind} {name} selects {picked}"
    for workload in workloads(resources):
        account = accounts[pod_spec(workload)["serviceAccountName"]]
        assert account.get("automountServiceAccountToken") is False
    for budget in of_kind(resources, "PodDisruptionBudget"):
        # minAvailable would block every node drain of a single-replica process.
        assert budget["spec"].get("maxUnavailable") == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_namespaced_objects_live_in_the_restricted_pasokh_namespace(rendered, overlay):
    resources = rendered[overlay]
    (namespace,) = of_kind(resources, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for resource in resources:
        if resource["kind"] != "Namespace":
            assert resource["metadata"].get("namespace") == "pasokh", resource["metadata"]


# --- processes, release, configuration --------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_containers_run_processes_the_image_knows(rendered, overlay):
    for workload in workloads(rendered[overlay]):
        for container in pod_spec(workload)["containers"]:
            process = container["args"][0]
            assert registry.is_known_process(process), (
                f"{workload['metadata']['name']} runs {process!r}, which "
                "deploy/docker/pasokh-entrypoint does not start"
            )


def test_every_service_in_the_code_is_deployed(rendered):
    """A nameko service that lands in the code needs its process in the image table,
    the base manifests and docker-compose.yml (see deploy/k8s/base/kustomization.yaml)."""
    table = registry.nameko_table()
    for module in registry.service_modules_in_code():
        specs = [s for s in table.values() if registry.module_path(s) == module]
        assert specs, (
            f"{module.relative_to(REPO_ROOT)} is not in deploy/docker/pasokh-entrypoint's "
            "nameko_class table"
        )
    deployed = {process_name(d) for d in of_kind(rendered["small"], "Deployment")}
    for process in registry.landed_services():
        cls = registry.service_class(process)
        assert cls.name == process, f"{cls.__name__}.name is {cls.name!r}, not {process!r}"
        assert process in deployed, (
            f"{process} exists in the code but not in deploy/k8s/base: add "
            f"deploy/k8s/base/processes/{process} (copy processes/tickets) and list it"
        )


def test_every_event_log_has_its_relay(rendered):
    """A service whose migrations create an event log publishes it through a relay."""
    deployed = {process_name(d) for d in of_kind(rendered["small"], "Deployment")}
    for migrations in sorted((REPO_ROOT / "services").glob("*/migrations")):
        text = "".join(p.read_text(encoding="utf-8") for p in migrations.glob("*.sql"))
        relay = f"{migrations.parent.name}-relay"
        has_log = "-- pasokh:include event_log" in text
        assert (relay in deployed) == has_log, (
            f"{relay}: deploy it (deploy/k8s/base/processes/{relay}, docker-compose.yml) "
            "when the service has an event log, and only then"
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_job_is_named_after_the_release_and_runs_setup(rendered, overlay):
    resources = rendered[overlay]
    images = {c["image"] for w in workloads(resources) for c in pod_spec(w)["containers"]}
    assert len(images) == 1, f"one image and tag for every process, got {images}"
    tag = images.pop().rpartition(":")[2]
    (job,) = of_kind(resources, "Job")
    assert job["metadata"]["name"] == f"pasokh-migrate-{tag}"
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", job["metadata"]["name"])
    assert len(job["metadata"]["name"]) <= 63, "the job-name label takes at most 63 characters"
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert pod_spec(job)["containers"][0]["args"] == ["setup"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_migrations_step_applies_on_its_own(rendered, overlay):
    """docs/operations.md applies the Job before the processes with
    `-l 'app.kubernetes.io/component in (config,migrations)'`: what the Job needs must
    carry those labels (or be outside Pasokh's own objects, applied before)."""
    resources = rendered[overlay]

    def selected(resource: dict) -> bool:
        labels = resource["metadata"].get("labels", {})
        return labels.get("app.kubernetes.io/component") in {"config", "migrations"} or (
            "app.kubernetes.io/part-of" not in labels
        )

    step = [r for r in resources if selected(r)]
    (job,) = of_kind(step, "Job")
    spec = pod_spec(job)
    assert spec["serviceAccountName"] in by_name(step, "ServiceAccount")
    config_maps = by_name(step, "ConfigMap")
    for source in spec["containers"][0]["envFrom"]:
        if "configMapRef" in source:
            assert source["configMapRef"]["name"] in config_maps
    assert not of_kind(step, "Deployment"), "the processes come after the migrations"


def _secret_names(resources: list[dict]) -> set[str]:
    names = set()
    text = json.dumps(resources)
    for key in ("secretRef", "secretKeyRef", "passwordSecret", "secret"):
        names.update(re.findall(rf'"{key}": \{{"name": "([^"]+)"', text))
    for auth in of_kind(resources, "TriggerAuthentication"):
        names.update(ref["name"] for ref in auth["spec"]["secretTargetRef"])
    return names


def test_secrets_are_not_in_the_repository_and_each_is_documented(rendered):
    doc = OPERATIONS_DOC.read_text(encoding="utf-8")
    for overlay, resources in rendered.items():
        assert not of_kind(resources, "Secret"), f"{overlay} renders a Secret: keep them out"
        names = _secret_names(resources)
        assert "pasokh-amqp" in names
        undocumented = {n for n in names if f"`{n}`" not in doc}
        assert not undocumented, f"document these Secrets in docs/operations.md: {undocumented}"


# Settings every service reads under its own prefix (pasokh_common.settings): the README
# documents them once, for tickets.
PER_SERVICE_SUFFIXES = ("_DATABASE_URL", "_MIGRATION_DATABASE_URL", "_APP_ROLE", "_DB_POOL_SIZE")


def _documented(key: str, readme: str) -> bool:
    if f"| `{key}` |" in readme:
        return True
    prefix, suffix = next(
        ((key.removesuffix(s), s) for s in PER_SERVICE_SUFFIXES if key.endswith(s)), ("", "")
    )
    return (
        bool(suffix)
        and (REPO_ROOT / "services" / prefix.lower()).is_dir()
        and (f"| `TICKETS{suffix}` |" in readme)
    )


def test_configuration_keys_are_in_the_readme_table(rendered):
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for overlay, resources in rendered.items():
        for config in of_kind(resources, "ConfigMap"):
            missing = [k for k in config["data"] if not _documented(k, readme)]
            assert not missing, f"{overlay}: README's configuration table lacks {missing}"


# --- overlays ---------------------------------------------------------------------------


def test_small_is_one_replica_each_and_needs_no_operator(rendered):
    resources = rendered["small"]
    assert not [r for r in resources if is_custom(r)]
    assert not of_kind(resources, "HorizontalPodAutoscaler")
    for deployment in of_kind(resources, "Deployment"):
        assert deployment["spec"]["replicas"] == 1


def test_production_autoscales_services_and_keeps_a_standby_relay(rendered):
    resources = rendered["production"]
    targets: dict[str, int] = {}
    for hpa in of_kind(resources, "HorizontalPodAutoscaler"):
        targets[hpa["spec"]["scaleTargetRef"]["name"]] = hpa["spec"]["minReplicas"]
    for scaled in of_kind(resources, "ScaledObject"):
        name = scaled["spec"]["scaleTargetRef"]["name"]
        assert name not in targets, f"{name}: an HPA and a ScaledObject would fight"
        targets[name] = scaled["spec"]["minReplicaCount"]
    for deployment in of_kind(resources, "Deployment"):
        name = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if labels["app.kubernetes.io/component"] == "relay":
            assert name not in targets, f"{name}: a relay has one leader; never autoscale it"
            assert deployment["spec"]["replicas"] >= 2, f"{name}: a standby takes over"
        else:
            assert targets.get(name, 0) >= 2, f"{name}: autoscaled from at least 2 replicas"
            assert "replicas" not in deployment["spec"], (
                f"{name}: an autoscaled Deployment must not set replicas (apply would reset it)"
            )
        spread = pod_spec(deployment).get("topologySpreadConstraints", [])
        assert {c["topologyKey"] for c in spread} >= {"kubernetes.io/hostname"}


def _rpc_entrypoints(cls: type) -> bool:
    from nameko.rpc import Rpc

    return any(
        isinstance(entrypoint, Rpc)
        for attr in dir(cls)
        for entrypoint in getattr(getattr(cls, attr, None), "nameko_entrypoints", ())
    )


def test_scaled_objects_watch_exactly_the_queues_the_service_consumes(rendered):
    """nameko's names: rpc-<service> and evt-<source>-<event>--<service>.<method>."""
    from pasokh_common.consumer import service_topologies

    resources = rendered["production"]
    deployments = by_name(resources, "Deployment")
    auths = by_name(resources, "TriggerAuthentication")
    scaled_objects = of_kind(resources, "ScaledObject")
    assert scaled_objects
    for scaled in scaled_objects:
        process = process_name(deployments[scaled["spec"]["scaleTargetRef"]["name"]])
        cls = registry.service_class(process)
        expected = {t.queue.name for t in service_topologies(cls)}
        if _rpc_entrypoints(cls):
            expected.add(f"rpc-{cls.name}")
        triggers = [t for t in scaled["spec"]["triggers"] if t["type"] == "rabbitmq"]
        assert {t["metadata"]["queueName"] for t in triggers} == expected
        for trigger in triggers:
            assert trigger["authenticationRef"]["name"] in auths
            assert trigger["metadata"]["protocol"] == "amqp"


def test_production_uses_quorum_queues_on_a_three_node_cluster(rendered):
    resources = rendered["production"]
    (config,) = [
        c
        for c in of_kind(resources, "ConfigMap")
        if c["metadata"]["name"].startswith("pasokh-config")
    ]
    assert config["data"]["PASOKH_CONSUMER_QUEUE_TYPE"] == "quorum"
    (rabbitmq,) = of_kind(resources, "RabbitmqCluster")
    assert rabbitmq["spec"]["replicas"] >= 3, "a quorum queue needs three nodes to lose one"


def test_podmonitor_scrapes_every_process_with_the_labels_the_rules_use(rendered):
    resources = rendered["production"]
    (monitor,) = of_kind(resources, "PodMonitor")
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/part-of"  # job="pasokh"
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert {"targetLabel": "app"}.items() <= endpoint["relabelings"][0].items()
    for deployment in of_kind(resources, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "pasokh"
        assert selects(monitor["spec"]["selector"], labels), deployment["metadata"]["name"]
        ports = {p["name"] for p in pod_spec(deployment)["containers"][0]["ports"]}
        assert endpoint["port"] in ports
    (job,) = of_kind(resources, "Job")
    assert not selects(monitor["spec"]["selector"], job["spec"]["template"]["metadata"]["labels"])


def test_prometheusrule_carries_the_rules_file_unchanged(rendered):
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "pasokh-alerts.yml").read_text())
    (rule,) = of_kind(rendered["production"], "PrometheusRule")
    assert rule["spec"]["groups"] == rules["groups"], (
        "run `python deploy/tools/sync_prometheusrule.py` after editing the rules file"
    )
