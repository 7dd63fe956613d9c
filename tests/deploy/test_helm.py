"""The Helm chart renders, with Helm's own template engine, into manifests Kubernetes accepts.

Rendering runs offline through ``helm-python-sdk`` (Helm's Go SDK bundled in a PyPI wheel, so no
``helm`` binary is needed), and every rendered manifest is validated against the Kubernetes
OpenAPI schemas bundled in ``kubernetes-validate``, strictly (an unknown field is an error), for
the oldest and the newest Kubernetes version the chart claims.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "identity-store"
RELEASE = "prod"
NAMESPACE = "identity"
OLDEST, NEWEST = "1.25.0", "1.37.0"
# The pod's writable mount path, not a file these tests create.
TMP = "/tmp"  # noqa: S108

# Every optional part switched on, and every pass-through value given, so no template line is left unrendered.
EVERYTHING_ON: dict[str, Any] = {
    "image": {"digest": "sha256:" + "0" * 64},
    "imagePullSecrets": [{"name": "regcred"}],
    "podAnnotations": {"example.com/reload": "true"},
    "podLabels": {"team": "identity"},
    "config": {"extraEnv": {"IDENTITY_SCIM_MAX_RESULTS": "500"}},
    "secrets": {
        "scimCursorSecret": {"enabled": True},
        "metricsToken": {"enabled": True},
        "consoleSessionSecret": {"enabled": True},
    },
    "service": {"annotations": {"example.com/lb": "internal"}},
    "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    "autoscaling": {"enabled": True},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "identity", "effect": "NoSchedule"}],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}
                ]
            }
        }
    },
}
# Every optional part switched off.
EVERYTHING_OFF: dict[str, Any] = {
    "serviceAccount": {"create": False},
    "secrets": {"oauthSigningKey": {"enabled": False}},
    "podDisruptionBudget": {"enabled": False},
    "topologySpreadConstraints": [],
}
VALUE_SETS = {"defaults": {}, "everything on": EVERYTHING_ON, "everything off": EVERYTHING_OFF}

# Custom resources Kubernetes itself has no schema for; each is checked by its own test below.
CUSTOM_KINDS = frozenset({"ServiceMonitor"})


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Render the chart as ``helm template`` would, and parse every document it produces."""
    with helm_python.Chart.load(CHART) as chart:
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    documents: list[dict[str, Any]] = []
    for path, text in sorted(rendered.items()):
        if not path.endswith((".yaml", ".yml")):
            continue  # NOTES.txt is shown to the operator, not applied
        documents.extend(document for document in yaml.safe_load_all(text) if document)
    return documents


def one(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [document for document in documents if document["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    containers = one(documents, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    found: dict[str, Any] = containers[0]
    return found


def env(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in container(documents)["env"]}


@pytest.fixture(scope="module")
def defaults() -> list[dict[str, Any]]:
    return render({})


def value_sets() -> list[Any]:
    return [
        pytest.param(values, version, id=f"{label}, Kubernetes {version}")
        for label, values in VALUE_SETS.items()
        for version in (OLDEST, NEWEST)
    ]


@pytest.mark.parametrize(("values", "version"), value_sets())
def test_every_rendered_manifest_is_valid_for_kubernetes(values: dict[str, Any], version: str) -> None:
    """Each manifest passes strict schema validation: right types, required fields, no unknown fields."""
    documents = render(values)
    assert documents
    for document in documents:
        if document["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{document['kind']} {document['metadata']['name']}: {error.message} at {list(error.path)}")


def test_helm_lint_finds_no_error() -> None:
    """``helm lint`` reports no error and no warning (only the informational ones, such as a missing icon)."""
    report = helm_python.lint(CHART)
    assert report["errors"] == []
    # Helm's severities: 1 information, 2 warning, 3 error.
    assert [message for message in report["messages"] if message["severity"] > 1] == []


def test_defaults_render_a_deployment_service_account_service_and_disruption_budget(
    defaults: list[dict[str, Any]],
) -> None:
    """The optional ServiceMonitor and autoscaler are off by default; the disruption budget is on."""
    assert sorted(document["kind"] for document in defaults) == [
        "Deployment",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]


def test_probes_use_readyz_for_traffic_and_healthz_for_restarts(defaults: list[dict[str, Any]]) -> None:
    """Readiness gates traffic on /readyz (database and indexes); liveness and start-up use /healthz."""
    main = container(defaults)
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert main["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_the_container_runs_hardened(defaults: list[dict[str, Any]]) -> None:
    """Non-root, no privilege escalation, every capability dropped, seccomp RuntimeDefault, read-only root."""
    pod = one(defaults, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    hardened = container(defaults)["securityContext"]
    assert hardened["allowPrivilegeEscalation"] is False
    assert hardened["privileged"] is False
    assert hardened["readOnlyRootFilesystem"] is True
    assert hardened["runAsNonRoot"] is True
    assert hardened["capabilities"] == {"drop": ["ALL"]}
    assert "add" not in hardened["capabilities"]
    assert hardened["seccompProfile"] == {"type": "RuntimeDefault"}


def test_the_only_writable_path_is_an_in_memory_tmp(defaults: list[dict[str, Any]]) -> None:
    """With a read-only root, /tmp is an emptyDir; every other mount is read-only."""
    pod = one(defaults, "Deployment")["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in container(defaults)["volumeMounts"]}
    assert volumes[mounts[TMP]["name"]]["emptyDir"]["medium"] == "Memory"
    assert volumes[mounts[TMP]["name"]]["emptyDir"]["sizeLimit"]
    writable = [path for path, mount in mounts.items() if not mount.get("readOnly")]
    assert writable == [TMP]


def test_requests_and_limits_are_set(defaults: list[dict[str, Any]]) -> None:
    """Every container reserves CPU and memory and is capped, so the scheduler and the OOM killer can plan."""
    resources = container(defaults)["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) == {"cpu", "memory"}


def test_secrets_are_referenced_never_inlined(defaults: list[dict[str, Any]]) -> None:
    """MONGODB_URI comes from a Secret key; the signing key is a Secret mounted as a file that the variable names."""
    variables = env(defaults)
    assert variables["MONGODB_URI"]["valueFrom"]["secretKeyRef"] == {"name": "identity-store-mongodb", "key": "uri"}
    assert "value" not in variables["MONGODB_URI"]
    signing_key_path = Path(variables["IDENTITY_OAUTH_SIGNING_KEY"]["value"])
    mount = next(
        mount for mount in container(defaults)["volumeMounts"] if signing_key_path.parent == Path(mount["mountPath"])
    )
    assert mount["readOnly"] is True
    pod = one(defaults, "Deployment")["spec"]["template"]["spec"]
    volume = next(volume for volume in pod["volumes"] if volume["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "identity-store-oauth"
    assert volume["secret"]["items"] == [{"key": signing_key_path.name, "path": signing_key_path.name}]
    assert not [document for document in defaults if document["kind"] == "Secret"]


def test_without_a_signing_key_nothing_points_at_one() -> None:
    """Turning the signing key off removes the variable and the mount (the token endpoint then answers 503)."""
    documents = render(EVERYTHING_OFF)
    assert "IDENTITY_OAUTH_SIGNING_KEY" not in env(documents)
    assert [mount["mountPath"] for mount in container(documents)["volumeMounts"]] == [TMP]


def test_the_service_listens_on_all_pod_interfaces_through_the_console_script(defaults: list[dict[str, Any]]) -> None:
    """The pod binds 0.0.0.0 (the default 127.0.0.1 would be unreachable) and runs ``identity-store serve``."""
    main = container(defaults)
    assert main["command"] == ["identity-store", "serve"]
    assert env(defaults)["IDENTITY_HOST"]["value"] == "0.0.0.0"
    assert env(defaults)["IDENTITY_PORT"]["value"] == str(main["ports"][0]["containerPort"])


def test_the_service_and_budget_select_exactly_the_deployments_pods(defaults: list[dict[str, Any]]) -> None:
    """The Service and the PodDisruptionBudget match the pod labels, and target the named container port."""
    deployment = one(defaults, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    service = one(defaults, "Service")
    assert service["spec"]["selector"] == selector
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert one(defaults, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == selector


def test_the_image_defaults_to_the_chart_app_version_and_a_digest_pins_it(defaults: list[dict[str, Any]]) -> None:
    """No floating tag: the image is the appVersion's tag, or exactly the digest given."""
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    assert container(defaults)["image"].endswith(f":{app_version}")
    assert container(render(EVERYTHING_ON))["image"].endswith("@sha256:" + "0" * 64)


def test_the_autoscaler_owns_the_replica_count_when_on() -> None:
    """With the HorizontalPodAutoscaler on, the Deployment sets no replicas for it to fight with."""
    documents = render(EVERYTHING_ON)
    autoscaler = one(documents, "HorizontalPodAutoscaler")
    deployment = one(documents, "Deployment")
    assert "replicas" not in deployment["spec"]
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }


def test_the_service_monitor_scrapes_metrics_on_the_services_port() -> None:
    """The ServiceMonitor (a Prometheus Operator resource) selects the Service and scrapes /metrics on its port."""
    documents = render(EVERYTHING_ON)
    monitor = one(documents, "ServiceMonitor")
    service = one(documents, "Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}


def test_the_service_monitor_sends_the_metrics_token_the_pod_checks() -> None:
    """Prometheus presents the bearer token from the same Secret key the pod reads IDENTITY_METRICS_TOKEN from."""
    documents = render(EVERYTHING_ON)
    (endpoint,) = one(documents, "ServiceMonitor")["spec"]["endpoints"]
    reference = env(documents)["IDENTITY_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert endpoint["authorization"] == {"type": "Bearer", "credentials": reference}


def test_a_service_monitor_without_a_metrics_token_is_refused() -> None:
    """Without a token /metrics answers only the pod itself: a ServiceMonitor could never scrape it."""
    with pytest.raises(helm_python.errors.HelmRenderError, match="metricsToken"):
        render({"serviceMonitor": {"enabled": True}})


def test_every_value_is_documented() -> None:
    """Each key in values.yaml carries a comment on its own line or on the line just above it."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    undocumented = []
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "- ")) or ":" not in stripped:
            continue
        above = next((previous.strip() for previous in reversed(lines[:number]) if previous.strip()), "")
        if "#" not in line and not above.startswith("#"):
            undocumented.append(f"{number + 1}: {stripped}")
    assert undocumented == []


def test_replicas_have_their_events_numbered_by_a_sequencer(defaults: list[dict[str, Any]]) -> None:
    """Several replicas write each tenant: their writes must not meet at its sequence document."""
    (deployment,) = [m for m in defaults if m["kind"] == "Deployment"]
    assert deployment["spec"]["replicas"] > 1
    assert env(defaults)["IDENTITY_EVENT_NUMBERING"]["value"] == "sequencer"
