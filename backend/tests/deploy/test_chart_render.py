"""The chart rendered with each scenario of charts/facteur/ci/ (minimal, production-like with
every service external, all-in-one): valid Kubernetes 1.33 objects (kubernetes-validate,
strict: unknown fields refused), secure pods, resolvable Secrets, and one source of truth
for the CRDs and the operator's RBAC."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.chart import NAMESPACE, SCENARIOS, Rendered, helm, render, template
from tests.deploy.paths import CHART, ROOT

KUBERNETES = "1.33.0"
# Prometheus Operator kinds: their CRDs are not part of Kubernetes' schemas.
PROMETHEUS_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def rendered(request: pytest.FixtureRequest) -> Rendered:
    return render(SCENARIOS[request.param])


def containers(rendered: Rendered):
    for workload, spec in rendered.pod_specs():
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield f"{workload}/{container['name']}", spec, container


def test_the_scenarios_are_there() -> None:
    assert set(SCENARIOS) == {"minimal", "production", "all-in-one"}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_helm_lint_is_clean(scenario: str) -> None:
    result = helm("lint", str(CHART), "--strict", "--values", str(SCENARIOS[scenario]), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_manifest_is_valid_for_kubernetes_1_33(rendered: Rendered) -> None:
    failures = []
    for doc in rendered.documents:
        if doc["kind"] in PROMETHEUS_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    assert not failures, "\n".join(failures)


def test_every_container_is_locked_down(rendered: Rendered) -> None:
    for where, pod, container in containers(rendered):
        pod_context = pod.get("securityContext", {})
        context = {**pod_context, **container.get("securityContext", {})}
        assert context.get("runAsNonRoot") is True, where
        assert context.get("runAsUser", 0) != 0, where
        assert context.get("readOnlyRootFilesystem") is True, where
        assert context.get("allowPrivilegeEscalation") is False, where
        assert context.get("capabilities", {}).get("drop") == ["ALL"], where
        assert not context.get("capabilities", {}).get("add"), where
        assert context.get("seccompProfile", {}).get("type") == "RuntimeDefault", where


def test_every_container_has_resources_and_probes(rendered: Rendered) -> None:
    for where, _, container in containers(rendered):
        resources = container.get("resources", {})
        assert resources.get("requests", {}).get("cpu"), where
        assert resources.get("requests", {}).get("memory"), where
        assert resources.get("limits", {}).get("memory"), where
        if where.startswith(("Job/", "Pod/")):
            continue  # the migrations Job and the helm test run to completion: nothing to probe
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert probe in container, f"{where}: no {probe}"


def test_images_are_pinned(rendered: Rendered) -> None:
    for where, _, container in containers(rendered):
        image = container["image"]
        name, _, tag = image.split("@")[0].rpartition(":")
        assert name and tag and tag != "latest", f"{where}: {image}"
    for doc in rendered.kind("Deployment"):
        for env in doc["spec"]["template"]["spec"]["containers"][0].get("env", []):
            if env["name"].endswith("_IMAGE"):
                assert not env["value"].endswith(":latest"), env


def test_writable_paths_are_volumes(rendered: Rendered) -> None:
    """A read-only root filesystem: Python, gunicorn, Celery beat and nginx write to /tmp."""
    for where, _, container in containers(rendered):
        mounts = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
        if "postgresql" in where:
            assert {"/var/lib/postgresql/data", "/var/run/postgresql", "/tmp"} <= mounts
        elif "redis" in where:
            assert "/data" in mounts
        elif not where.startswith("Pod/"):  # the helm test writes nothing
            assert "/tmp" in mounts, where


def secrets_provided(rendered: Rendered, values: dict[str, Any]) -> set[str]:
    """Secrets the chart makes, and those the values name (the operator creates them)."""
    made = {doc["metadata"]["name"] for doc in rendered.kind("Secret")}
    named: set[str] = set()

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif key in {"existingSecret", "secretName", "tlsSecretName", "caSecret"} and node:
            named.add(node)

    walk(values)
    return made | named


def referenced_secrets(rendered: Rendered) -> set[str]:
    found = set()
    for _, _pod, container in containers(rendered):
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                found.add(ref["name"])
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                found.add(source["secretRef"]["name"])
    for _, pod in rendered.pod_specs():
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                found.add(volume["secret"]["secretName"])
            for source in volume.get("projected", {}).get("sources", []):
                if "secret" in source:
                    found.add(source["secret"]["name"])
    for ingress in rendered.kind("Ingress"):
        found |= {tls["secretName"] for tls in ingress["spec"].get("tls", [])}
    return found


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_secret_reference_resolves(scenario: str) -> None:
    rendered = render(SCENARIOS[scenario])
    values = yaml.safe_load(SCENARIOS[scenario].read_text())
    referenced = referenced_secrets(rendered)
    assert referenced, "no Secret referenced at all"
    assert referenced <= secrets_provided(rendered, values)


def test_nothing_secret_is_rendered_from_values() -> None:
    """Outside all-in-one the chart makes no Secret: credentials stay in the user's Secrets."""
    for scenario in ("minimal", "production"):
        assert render(SCENARIOS[scenario]).kind("Secret") == []
    (generated,) = render(SCENARIOS["all-in-one"]).kind("Secret")
    assert {"secret-key", "service-token", "database-url", "redis-url"} <= set(generated["data"])


def test_config_changes_roll_the_pods() -> None:
    base = render(SCENARIOS["minimal"]).named("Deployment", "mail-facteur-web")
    other = render(SCENARIOS["production"]).named("Deployment", "mail-facteur-web")
    key = "checksum/config"
    assert base["spec"]["template"]["metadata"]["annotations"][key]
    assert (
        base["spec"]["template"]["metadata"]["annotations"][key]
        != other["spec"]["template"]["metadata"]["annotations"][key]
    )


def test_probes_use_the_backend_health_endpoints() -> None:
    web = render(SCENARIOS["minimal"]).named("Deployment", "mail-facteur-web")
    (container,) = web["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # the kubelet's Host header is the pod's address: Django must accept it
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert "$(POD_IP)" in env["FACTEUR_ALLOWED_HOSTS"].split(",")


def test_migrations_run_as_a_hook_before_upgrades() -> None:
    for scenario, hook in [
        ("minimal", "pre-install,pre-upgrade"),
        ("all-in-one", "post-install,pre-upgrade"),
    ]:
        (job,) = render(SCENARIOS[scenario]).kind("Job")
        assert job["metadata"]["annotations"]["helm.sh/hook"] == hook
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["command"][-2:] == ["migrate", "--noinput"]


def test_helm_test_checks_the_services() -> None:
    (pod,) = render(SCENARIOS["minimal"]).kind("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["command"][-1]
    for target in ("mail-facteur-web:8000/readyz", "mail-facteur-frontend:8080/", "2424"):
        assert target in script
    compile(script, "helm-test", "exec")  # the script is valid Python


def test_beat_and_operator_never_run_twice() -> None:
    rendered = render(SCENARIOS["production"])
    for name in ("mail-facteur-beat", "mail-facteur-operator"):
        deployment = rendered.named("Deployment", name)
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"]["type"] == "Recreate"
    assert {hpa["metadata"]["name"] for hpa in rendered.kind("HorizontalPodAutoscaler")} == {
        "mail-facteur-web",
        "mail-facteur-worker",
    }


def test_ingress_routes_the_webmail_and_the_api() -> None:
    (ingress,) = render(SCENARIOS["production"]).kind("Ingress")
    (rule,) = ingress["spec"]["rules"]
    routes = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    assert routes["/"] == routes["/static/webmail"] == "mail-facteur-frontend"
    assert routes["/api"] == routes["/oidc"] == routes["/admin"] == "mail-facteur-web"
    assert ingress["spec"]["tls"] == [{"hosts": ["mail.example.org"], "secretName": "facteur-tls"}]


def test_network_policies_guard_the_delivery_service() -> None:
    rendered = render(SCENARIOS["production"])
    policy = rendered.named("NetworkPolicy", "mail-facteur-delivery")
    (rule, metrics) = policy["spec"]["ingress"]
    (source,) = rule["from"]
    # the labels of the operator's MTA pods (facteur_operator/mta_objects.py)
    assert source["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "facteur-mta"}}
    assert rule["ports"] == [{"port": 2424, "protocol": "TCP"}]
    # Prometheus, on the metrics port only.
    (source,) = metrics["from"]
    assert "namespaceSelector" in source
    assert metrics["ports"] == [{"port": 9102, "protocol": "TCP"}]
    assert rendered.named("NetworkPolicy", "mail-facteur-beat")["spec"]["ingress"] == []


def test_delivery_metrics_on_the_pods_address_scraped_by_a_pod_monitor() -> None:
    rendered = render(SCENARIOS["production"])
    delivery = rendered.named("Deployment", "mail-facteur-delivery")
    (container,) = delivery["spec"]["template"]["spec"]["containers"]
    assert "--metrics-port=9102" in container["command"]
    # $(POD_IP) is expanded by the kubelet from the container's own env.
    assert "--metrics-host=$(POD_IP)" in container["command"]
    assert "POD_IP" in {e["name"] for e in container["env"]}
    assert {"name": "metrics", "containerPort": 9102, "protocol": "TCP"} in container["ports"]
    monitor = rendered.named("PodMonitor", "mail-facteur-delivery")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= (
        delivery["spec"]["template"]["metadata"]["labels"].items()
    )
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["metrics"]


def test_worker_metrics_from_every_pool_process_on_the_pods_address() -> None:
    rendered = render(SCENARIOS["production"])
    worker = rendered.named("Deployment", "mail-facteur-worker")
    pod = worker["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["FACTEUR_WORKER_METRICS_PORT"] == "9103"
    assert env["FACTEUR_WORKER_METRICS_HOST"] == "$(POD_IP)" and "POD_IP" in env
    # The multiprocess directory is writable although the root filesystem is not.
    assert env["PROMETHEUS_MULTIPROC_DIR"] == "/run/prometheus"
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/run/prometheus"]]
    assert {"name": "metrics", "containerPort": 9103, "protocol": "TCP"} in container["ports"]
    monitor = rendered.named("PodMonitor", "mail-facteur-worker")
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["metrics"]
    (rule,) = rendered.named("NetworkPolicy", "mail-facteur-worker")["spec"]["ingress"]
    assert rule["ports"] == [{"port": 9103, "protocol": "TCP"}]


def test_mta_queue_exporters_are_scraped_where_the_operator_runs_them() -> None:
    """The PodMonitor selects the operator's MTA pods on the exporter's port name."""
    from facteur_mta import queue_metrics
    from facteur_operator import mta_objects

    rendered = render(SCENARIOS["production"])
    monitor = rendered.named("PodMonitor", "mail-facteur-mta")
    selector = monitor["spec"]["selector"]["matchLabels"]
    for role in mta_objects.ROLES:
        assert selector.items() <= mta_objects.labels(role).items()
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == queue_metrics.PORT_NAME
    (relabel,) = endpoint["relabelings"]
    assert relabel["targetLabel"] == "role"
    unmanaged = template(SCENARIOS["production"], "mta.managed=false")
    assert unmanaged.returncode == 0, unmanaged.stderr
    documents = [doc for doc in yaml.safe_load_all(unmanaged.stdout) if doc]
    assert "mail-facteur-mta" not in {d["metadata"]["name"] for d in documents}
    (rule,) = [doc for doc in documents if doc["kind"] == "PrometheusRule"]
    assert "facteur-mta" not in {group["name"] for group in rule["spec"]["groups"]}


def test_crds_are_the_repository_crds_kept_on_uninstall() -> None:
    rendered = render(SCENARIOS["minimal"])
    by_name = {crd["metadata"]["name"]: crd for crd in rendered.kind("CustomResourceDefinition")}
    sources = [yaml.safe_load(path.read_text()) for path in sorted((ROOT / "crds").glob("*.yaml"))]
    assert set(by_name) == {source["metadata"]["name"] for source in sources}
    for source in sources:
        crd = by_name[source["metadata"]["name"]]
        assert crd["spec"] == source["spec"]
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_crds_links_point_at_the_single_sources() -> None:
    files = CHART / "files"
    assert (files / "crds").resolve() == (ROOT / "crds").resolve()
    assert (files / "operator-rbac.yaml").resolve() == (
        ROOT / "operator/deploy/rbac.yaml"
    ).resolve()


def test_sample_resources_are_valid_against_the_rendered_crds() -> None:
    rendered = render(SCENARIOS["minimal"])
    schemas = {
        crd["spec"]["names"]["kind"]: crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        for crd in rendered.kind("CustomResourceDefinition")
    }
    samples = [
        doc
        for path in sorted((ROOT / "docs" / "examples").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
    assert {doc["kind"] for doc in samples} == set(schemas)
    for doc in samples:
        jsonschema.Draft7Validator(schemas[doc["kind"]]).validate(doc)
    (domain,) = [doc for doc in samples if doc["kind"] == "MailDomain"]
    refused = {**domain, "spec": {**domain["spec"], "domain": "NOT A DOMAIN"}}
    assert list(jsonschema.Draft7Validator(schemas["MailDomain"]).iter_errors(refused))


def operator_rbac_in_repository(kind: str) -> list[dict[str, Any]]:
    docs = yaml.safe_load_all((ROOT / "operator" / "deploy" / "rbac.yaml").read_text())
    return [doc for doc in docs if doc["kind"] == kind]


def operator_rules_in_repository() -> list[dict[str, Any]]:
    (role,) = operator_rbac_in_repository("ClusterRole")
    return role["rules"]


def test_operator_rbac_is_the_tested_rbac() -> None:
    rendered = render(SCENARIOS["minimal"])
    role = rendered.named("ClusterRole", "mail-facteur-operator")
    assert role["rules"] == operator_rules_in_repository()
    (binding,) = rendered.kind("ClusterRoleBinding")
    account = {"kind": "ServiceAccount", "name": "mail-facteur-operator", "namespace": NAMESPACE}
    assert binding["subjects"] == [account]
    # Roles (the MTA objects, in the namespace the operator runs Postfix in): the same rules,
    # bound in the release's namespace.
    roles = {role["metadata"]["name"]: role for role in rendered.kind("Role")}
    expected = operator_rbac_in_repository("Role")
    assert len(roles) == len(expected)
    for source in expected:
        name = "mail-facteur-operator" + source["metadata"]["name"].removeprefix("facteur-operator")
        assert roles[name]["rules"] == source["rules"]
        binding = rendered.named("RoleBinding", name)
        assert binding["subjects"] == [account] and binding["roleRef"]["name"] == name


def test_operator_rbac_narrowed_to_watched_namespaces() -> None:
    rendered = render(SCENARIOS["production"])
    # The MTA objects' Role stays in the release's namespace (the test above).
    bindings = [b for b in rendered.kind("RoleBinding") if b["roleRef"]["kind"] == "ClusterRole"]
    assert {b["metadata"]["namespace"] for b in bindings} == {"mail-tenants", "mail-internal"}
    crd_role = rendered.named("ClusterRole", "mail-facteur-operator-crds")
    namespaced = rendered.named("ClusterRole", "mail-facteur-operator")
    assert crd_role["rules"] + namespaced["rules"] == sorted(
        operator_rules_in_repository(),
        key=lambda rule: "apiextensions.k8s.io" not in rule["apiGroups"],
    )
    assert all("apiextensions.k8s.io" not in rule["apiGroups"] for rule in namespaced["rules"])


def test_backend_service_account_has_no_token() -> None:
    rendered = render(SCENARIOS["production"])
    for doc in rendered.kind("Deployment"):
        spec = doc["spec"]["template"]["spec"]
        if doc["metadata"]["name"] != "mail-facteur-operator":
            assert spec["automountServiceAccountToken"] is False, doc["metadata"]["name"]


def test_all_in_one_says_it_is_not_for_production() -> None:
    rendered = render(SCENARIOS["all-in-one"])
    for statefulset in rendered.kind("StatefulSet"):
        assert "not-for-production" in " ".join(statefulset["metadata"]["annotations"])
    notes = helm(
        "install", "mail", str(CHART), "--dry-run=client", "--values", str(SCENARIOS["all-in-one"])
    ).stdout
    assert "NOT FOR PRODUCTION" in notes
    assert "kubectl -n default get maildomain -o yaml" in notes


def test_switches_off_leave_valid_manifests() -> None:
    result = template(
        SCENARIOS["minimal"],
        "operator.enabled=false",
        "ingress.enabled=false",
        "networkPolicy.enabled=false",
        "crds.install=false",
        "monitoring.enabled=true",
        "web.autoscaling.enabled=false",
        "web.replicas=3",
        "delivery.podDisruptionBudget.enabled=false",
        "delivery.metricsPort=0",
        "worker.metricsPort=0",
        "secrets.secretEnv[0].name=FACTEUR_RELAY_USERNAME",
        "secrets.secretEnv[0].secretName=relay-login",
        "secrets.secretEnv[0].key=username",
    )
    assert result.returncode == 0, result.stderr
    documents = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    kinds = {doc["kind"] for doc in documents}
    assert not kinds & {"Ingress", "NetworkPolicy", "CustomResourceDefinition", "PodMonitor"}
    assert not [doc for doc in documents if "operator" in doc["metadata"]["name"]]
    (rule,) = [doc for doc in documents if doc["kind"] == "PrometheusRule"]
    assert [group["name"] for group in rule["spec"]["groups"]] == ["facteur-web"]
    (delivery,) = [d for d in documents if d["metadata"]["name"] == "mail-facteur-delivery"
                   and d["kind"] == "Deployment"]  # fmt: skip
    container = delivery["spec"]["template"]["spec"]["containers"][0]
    assert not [a for a in container["command"] if a.startswith("--metrics")]
    assert [p["name"] for p in container["ports"]] == ["lmtp"]
    (worker,) = [d for d in documents if d["metadata"]["name"] == "mail-facteur-worker"
                 and d["kind"] == "Deployment"]  # fmt: skip
    container = worker["spec"]["template"]["spec"]["containers"][0]
    assert "ports" not in container and "FACTEUR_WORKER_METRICS_PORT" not in str(container)
    (web,) = [
        d
        for d in documents
        if d["metadata"]["name"] == "mail-facteur-web" and d["kind"] == "Deployment"
    ]
    assert web["spec"]["replicas"] == 3
    (container,) = web["spec"]["template"]["spec"]["containers"]
    assert {
        "name": "FACTEUR_RELAY_USERNAME",
        "valueFrom": {"secretKeyRef": {"name": "relay-login", "key": "username"}},
    } in container["env"]
    assert "mail-facteur-delivery" not in {
        d["metadata"]["name"] for d in documents if d["kind"] == "PodDisruptionBudget"
    }
    for doc in documents:
        if doc["kind"] not in PROMETHEUS_KINDS:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def names_read(*sources: Path) -> set[str]:
    """Environment variables the code reads: env.<parser>("NAME", env.get("NAME" and the
    operator's parsers, <parser>(env, "NAME" (mta_settings.count, seconds, _flag...)."""
    pattern = re.compile(
        r'(?:env\.\w+\(|environ\.get\(|env\.get\(|\b\w+\(env,)\s*"([A-Z][A-Z0-9_]+)"'
    )
    return {name for source in sources for name in pattern.findall(source.read_text())}


BACKEND_READS = names_read(ROOT / "backend" / "facteur" / "config" / "settings.py") | {
    "DJANGO_SETTINGS_MODULE",
    "PROMETHEUS_MULTIPROC_DIR",  # facteur/ops/metrics.py
}
OPERATOR_READS = names_read(*(ROOT / "operator" / "facteur_operator").glob("*.py"))


def test_every_variable_the_chart_sets_is_read() -> None:
    """A misspelt variable would be ignored silently: each one must be a setting."""
    rendered = render(SCENARIOS["production"])
    (config,) = [c for c in rendered.kind("ConfigMap") if c["metadata"]["name"].endswith("-config")]
    extra = set(yaml.safe_load(SCENARIOS["production"].read_text())["config"]["extraEnv"])
    assert set(config["data"]) - extra <= BACKEND_READS, set(config["data"]) - BACKEND_READS
    web = rendered.named("Deployment", "mail-facteur-web")
    for env in web["spec"]["template"]["spec"]["containers"][0]["env"]:
        name = env["name"].removesuffix("_FILE")
        assert name in BACKEND_READS | {"POD_IP"}, name
    operator = rendered.named("Deployment", "mail-facteur-operator")
    extra = set(yaml.safe_load(SCENARIOS["production"].read_text())["operator"]["env"])
    names = {env["name"] for env in operator["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert names - extra <= OPERATOR_READS, names - OPERATOR_READS


def test_the_operator_reads_the_charts_mta_settings_as_meant() -> None:
    """Same names, same formats: the operator turns the chart's values into its MTA objects."""
    from facteur_operator import mta_objects
    from facteur_operator.mta_settings import MtaSettings

    operator = render(SCENARIOS["production"]).named("Deployment", "mail-facteur-operator")
    containers = operator["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in containers[0]["env"] if "value" in e}
    settings = MtaSettings.from_env(env)
    assert (settings.token_secret, settings.token_key) == ("facteur-core", "service-token")
    assert (settings.sasl_secret, settings.sasl_key) == ("facteur-relay", "password")
    service = mta_objects.service(settings, mta_objects.IN)
    annotation = "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol"
    assert service["metadata"]["annotations"] == {annotation: "*"}
    assert service["spec"]["loadBalancerSourceRanges"] == ["0.0.0.0/0"]
    (mta_in, *_) = mta_objects.desired(settings, ["example.org"])
    assert "postscreen_upstream_proxy_protocol = haproxy" in mta_in["data"]["main.cf"]
    # The queue's claims: the chart's size; no class named, the cluster's default.
    claim = mta_objects.spool_claim(settings, mta_objects.IN)
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert "storageClassName" not in claim["spec"]


def test_the_spool_values_reach_the_operator_and_bad_ones_are_refused() -> None:
    from facteur_operator.mta_settings import MtaSettings

    sets = ("mta.spool.size=20Gi", "mta.spool.storageClass=fast-ssd")
    rendered = template(SCENARIOS["production"], *sets)
    assert rendered.returncode == 0, rendered.stderr
    (operator,) = [
        d
        for d in yaml.safe_load_all(rendered.stdout)
        if d and d["kind"] == "Deployment" and d["metadata"]["name"] == "mail-facteur-operator"
    ]
    env = {
        e["name"]: e.get("value")
        for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    settings = MtaSettings.from_env(env)
    assert (settings.spool_size, settings.spool_storage_class) == ("20Gi", "fast-ssd")
    for bad in ("mta.spool.size=lots", "mta.spool.storageClass=Fast SSD"):
        refused = template(SCENARIOS["production"], bad)
        assert refused.returncode != 0 and "spool" in refused.stderr, bad


def test_the_operators_default_mta_image_is_the_charts() -> None:
    """Run without the chart, the operator starts the MTA of its own release."""
    from facteur_operator.mta_settings import DEFAULT_IMAGE

    operator = render(SCENARIOS["minimal"]).named("Deployment", "mail-facteur-operator")
    env = {
        e["name"]: e.get("value")
        for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["FACTEUR_OPERATOR_MTA_IMAGE"] == DEFAULT_IMAGE


def test_packaged_chart_carries_the_linked_files(tmp_path: Path) -> None:
    """`helm package` copies what files/crds and files/operator-rbac.yaml link to."""
    result = helm("package", str(CHART), "--destination", str(tmp_path))
    (archive,) = tmp_path.glob("facteur-*.tgz")
    assert archive.stat().st_size > 0, result.stdout
    rendered = helm("template", "mail", str(archive), "--values", str(SCENARIOS["minimal"]))
    documents = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    assert len([d for d in documents if d["kind"] == "CustomResourceDefinition"]) == 2
    (role,) = [
        d
        for d in documents
        if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "mail-facteur-operator"
    ]
    assert role["rules"] == operator_rules_in_repository()
    assert not [name for name in archive_names(archive) if "/ci/" in name]


def archive_names(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return tar.getnames()
