"""The Postfix objects the operator makes, as plain functions (no server).

Scenarios: the ConfigMaps hold exactly what ``facteur-mta-config`` renders for the same
values (one renderer); the checksum on the pod template moves when the domains change and
only then; pods are hardened (Postfix's root with a short capability list, the policy
service as nobody); the settings' Secrets, relay and service type land where they belong;
bad settings are refused naming the variable; ``contains`` ignores the apiserver's
defaults; each pod's queue on a claim of the set size and class, whose change is reported
(never patched) while the rest of the StatefulSet is; StatefulSet readiness and MTAReady;
MailDomain conditions recomputed with MTAReady, and Ready waiting for it only when the MTA
is managed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from facteur_mta import queue_metrics, render
from facteur_operator import mta_objects, reconcile, specs
from facteur_operator.conditions import FALSE, TRUE, Condition
from facteur_operator.mta import domain_of, with_mta
from facteur_operator.mta_settings import MtaSettings, SettingError, quantity_bytes
from tests.deploy.paths import ROOT

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ENV = {"FACTEUR_OPERATOR_MTA_HOSTNAME": "mx.example.org"}


def settings(**env: str) -> MtaSettings:
    return MtaSettings.from_env({**ENV, **env}, backend_url="http://backend:8000")


def by_kind(objects: list[dict]) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def test_the_config_maps_are_what_facteur_mta_config_renders() -> None:
    objects = by_kind(mta_objects.desired(settings(), ["example.net", "example.org"]))
    mta_in = objects[("ConfigMap", "facteur-mta-in")]["data"]
    expected = render.render_in(
        render.collect(
            {
                "myhostname": "mx.example.org",
                "domains": "example.net,example.org",
                "lmtp_target": "facteur-delivery:2424",
                "policy_service": "127.0.0.1:10040",
                "smtpd_listen": "2525",
            },
            environ={},
        )
    )
    assert mta_in == expected
    assert "relay_domains = example.net, example.org" in mta_in["main.cf"]
    mta_out = objects[("ConfigMap", "facteur-mta-out")]["data"]
    assert set(mta_out) == {"main.cf", "master.cf", "sasl-smtpd.conf", "smtp_header_checks"}
    assert "sasldb_path: /var/lib/facteur-sasl/sasldb2" in mta_out["sasl-smtpd.conf"]
    assert mta_out["master.cf"].count("2587 inet") == 1


def test_the_checksum_rolls_the_pods_when_the_domains_change_only() -> None:
    one = by_kind(mta_objects.desired(settings(), ["example.org"]))
    same = by_kind(mta_objects.desired(settings(), ["example.org"]))
    two = by_kind(mta_objects.desired(settings(), ["example.net", "example.org"]))
    for role in ("facteur-mta-in", "facteur-mta-out"):
        key = ("StatefulSet", role)
        annotation = one[key]["spec"]["template"]["metadata"]["annotations"]
        assert annotation[mta_objects.CHECKSUM] == mta_objects.checksum(one[("ConfigMap", role)])
        assert one[key] == same[key]
        assert two[key]["spec"]["template"] != one[key]["spec"]["template"]


def test_pods_are_hardened() -> None:
    objects = by_kind(mta_objects.desired(settings(), ["example.org"]))
    pod = objects[("StatefulSet", "facteur-mta-in")]["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["automountServiceAccountToken"] is False
    postfix, policy, queue = pod["containers"]
    assert postfix["securityContext"]["capabilities"] == {
        "drop": ["ALL"],
        "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"],
    }
    assert postfix["securityContext"]["allowPrivilegeEscalation"] is False
    assert postfix["securityContext"]["readOnlyRootFilesystem"] is True
    assert postfix["ports"][0]["containerPort"] > 1024  # no NET_BIND_SERVICE needed
    assert policy["securityContext"]["runAsNonRoot"] is True
    assert policy["securityContext"]["runAsUser"] == 65534
    assert policy["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    # The service token reaches the policy service as a mounted file, never in the spec.
    assert {"name": "FACTEUR_SERVICE_TOKEN_FILE", "value": "/etc/facteur/token/token"} in policy[
        "env"
    ]
    # The queue exporter reads the spool as nobody in postdrop, through a read-only mount.
    assert queue["securityContext"]["runAsUser"] == 65534
    assert queue["securityContext"]["runAsGroup"] == queue_metrics.POSTDROP_GID
    assert queue["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "spool", "mountPath": "/var/spool/postfix", "readOnly": True} in queue[
        "volumeMounts"
    ]
    token = next(v for v in pod["volumes"] if v["name"] == "token")
    assert token["secret"]["secretName"] == "facteur-service-token"
    assert objects[("StatefulSet", "facteur-mta-in")]["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"partition": 0},
    }


def test_each_pod_keeps_its_queue_on_a_claim_of_its_own() -> None:
    objects = by_kind(mta_objects.desired(settings(), ["example.org"]))
    for role in ("facteur-mta-in", "facteur-mta-out"):
        sts = objects[("StatefulSet", role)]
        assert sts["spec"]["serviceName"] == role
        assert ("Service", role) in objects
        (claim,) = sts["spec"]["volumeClaimTemplates"]
        assert claim["metadata"]["name"] == "spool"
        assert claim["spec"] == {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        }  # no storageClassName: the cluster's default class
        pod = sts["spec"]["template"]["spec"]
        # The spool is the claim, not a pod volume; Postfix writes it, the exporter reads it.
        assert "spool" not in {v["name"] for v in pod["volumes"]}
        postfix = next(c for c in pod["containers"] if c["name"] == "postfix")
        assert {"name": "spool", "mountPath": "/var/spool/postfix"} in postfix["volumeMounts"]
    custom = settings(
        FACTEUR_OPERATOR_MTA_SPOOL_SIZE="5Gi", FACTEUR_OPERATOR_MTA_SPOOL_STORAGE_CLASS="fast-ssd"
    )
    claim = mta_objects.spool_claim(custom, mta_objects.OUT)
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert claim["spec"]["storageClassName"] == "fast-ssd"


def live(obj: dict, **claim_spec: object) -> dict:
    """``obj`` as the apiserver gives it back: defaults added, the claim's size canonical."""
    (claim,) = obj["spec"]["volumeClaimTemplates"]
    stored = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": claim["metadata"],
        "spec": {**claim["spec"], "volumeMode": "Filesystem", **claim_spec},
        "status": {"phase": "Pending"},
    }
    spec = {**obj["spec"], "volumeClaimTemplates": [stored], "revisionHistoryLimit": 10}
    return {**obj, "metadata": {**obj["metadata"], "uid": "u"}, "spec": spec}


def test_a_claim_change_is_reported_not_patched() -> None:
    wanted = mta_objects.statefulset(
        settings(FACTEUR_OPERATOR_MTA_SPOOL_SIZE="1024Mi"), mta_objects.IN, {"data": {}}
    )
    # Stored as "1Gi" (canonical): the same size, nothing to say or patch.
    same = live(wanted, resources={"requests": {"storage": "1Gi"}})
    assert mta_objects.immutable_drift(same, wanted) == ""
    assert mta_objects.mutable_part(same, wanted)
    bigger = mta_objects.statefulset(
        settings(FACTEUR_OPERATOR_MTA_SPOOL_SIZE="5Gi"), mta_objects.IN, {"data": {}}
    )
    drift = mta_objects.immutable_drift(same, bigger)
    assert "spool claim is 1Gi of class (default), the settings want 5Gi" in drift
    assert "kubectl delete statefulset facteur-mta-in --cascade=orphan" in drift
    assert mta_objects.mutable_part(same, bigger)  # the rest needs no patch
    classed = mta_objects.statefulset(
        settings(FACTEUR_OPERATOR_MTA_SPOOL_STORAGE_CLASS="fast"), mta_objects.IN, {"data": {}}
    )
    assert "want 1Gi of class fast" in mta_objects.immutable_drift(same, classed)
    more = mta_objects.statefulset(
        settings(FACTEUR_OPERATOR_MTA_IN_REPLICAS="3"), mta_objects.IN, {"data": {}}
    )
    assert not mta_objects.mutable_part(same, more)


def test_settings_reach_their_objects() -> None:
    custom = settings(
        FACTEUR_OPERATOR_MTA_IMAGE="registry.example/mta:1.2",
        FACTEUR_OPERATOR_MTA_IN_REPLICAS="3",
        FACTEUR_OPERATOR_MTA_OUT_REPLICAS="1",
        FACTEUR_OPERATOR_MTA_NAMESPACE="mail-system",
        FACTEUR_OPERATOR_MTA_IN_TLS_SECRET="mx-tls",
        FACTEUR_OPERATOR_MTA_SASL_SECRET="relay-login",
        FACTEUR_OPERATOR_MTA_RELAYHOST="[smtp.example.net]:587",
        FACTEUR_OPERATOR_MTA_RELAY_SECRET="smarthost",
        FACTEUR_OPERATOR_MTA_IN_SERVICE_TYPE="NodePort",
        FACTEUR_OPERATOR_MTA_OUT_HOSTNAME="out.example.org",
    )
    objects = by_kind(mta_objects.desired(custom, ["example.org"]))
    assert {o["metadata"]["namespace"] for o in objects.values()} == {"mail-system"}
    mta_in = objects[("StatefulSet", "facteur-mta-in")]
    mta_out = objects[("StatefulSet", "facteur-mta-out")]
    assert (mta_in["spec"]["replicas"], mta_out["spec"]["replicas"]) == (3, 1)
    image = mta_in["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "registry.example/mta:1.2"
    in_cf = objects[("ConfigMap", "facteur-mta-in")]["data"]["main.cf"]
    assert "smtpd_tls_cert_file = /etc/facteur/tls/tls.crt" in in_cf
    out_cf = objects[("ConfigMap", "facteur-mta-out")]["data"]["main.cf"]
    assert "myhostname = out.example.org" in out_cf
    assert "relayhost = [smtp.example.net]:587" in out_cf
    assert "smtp_sasl_password_maps = texthash:/etc/facteur/relay/password-map" in out_cf
    assert "smtpd_tls_cert_file" not in out_cf  # no TLS Secret for MTA-out
    volumes = {v["name"]: v for v in mta_out["spec"]["template"]["spec"]["volumes"]}
    assert volumes["sasl"]["secret"]["secretName"] == "relay-login"
    assert volumes["relay"]["secret"]["secretName"] == "smarthost"
    service = objects[("Service", "facteur-mta-in")]["spec"]
    assert service["type"] == "NodePort" and service["externalTrafficPolicy"] == "Local"
    assert objects[("Service", "facteur-mta-out")]["spec"]["ports"][0]["port"] == 587


def secret_items(deployment: dict, volume: str) -> list[dict]:
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    return volumes[volume]["secret"]["items"]


def test_the_secrets_keys_are_the_charts_by_default_and_settable() -> None:
    objects = by_kind(mta_objects.desired(settings(), ["example.org"]))
    assert secret_items(objects[("StatefulSet", "facteur-mta-in")], "token") == [
        {"key": "service-token", "path": "token"}
    ]
    assert secret_items(objects[("StatefulSet", "facteur-mta-out")], "sasl") == [
        {"key": "relay-password", "path": "password"}
    ]
    custom = settings(
        FACTEUR_OPERATOR_MTA_TOKEN_KEY="tok", FACTEUR_OPERATOR_MTA_SASL_KEY="relay-pass"
    )
    objects = by_kind(mta_objects.desired(custom, ["example.org"]))
    mta_in = objects[("StatefulSet", "facteur-mta-in")]
    assert secret_items(mta_in, "token") == [{"key": "tok", "path": "token"}]
    # The mounted file keeps its name: the commands reading it do not change.
    policy = mta_in["spec"]["template"]["spec"]["containers"][1]
    assert {"name": "FACTEUR_SERVICE_TOKEN_FILE", "value": "/etc/facteur/token/token"} in policy[
        "env"
    ]
    mta_out = objects[("StatefulSet", "facteur-mta-out")]
    assert secret_items(mta_out, "sasl") == [{"key": "relay-pass", "path": "password"}]
    start = mta_out["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert "--password-file /etc/facteur/sasl/password" in start


def test_the_public_service_takes_annotations_and_source_ranges() -> None:
    plain = by_kind(mta_objects.desired(settings(), ["example.org"]))
    assert "annotations" not in plain[("Service", "facteur-mta-in")]["metadata"]
    assert "loadBalancerSourceRanges" not in plain[("Service", "facteur-mta-in")]["spec"]
    nlb = {"service.beta.kubernetes.io/aws-load-balancer-type": "external"}
    for raw in (
        '{"service.beta.kubernetes.io/aws-load-balancer-type": "external"}',
        "service.beta.kubernetes.io/aws-load-balancer-type=external",
    ):
        custom = settings(
            FACTEUR_OPERATOR_MTA_IN_SERVICE_ANNOTATIONS=raw,
            FACTEUR_OPERATOR_MTA_IN_SOURCE_RANGES="192.0.2.0/24, 2001:db8::/32",
        )
        objects = by_kind(mta_objects.desired(custom, ["example.org"]))
        service = objects[("Service", "facteur-mta-in")]
        assert service["metadata"]["annotations"] == nlb
        assert service["spec"]["loadBalancerSourceRanges"] == ["192.0.2.0/24", "2001:db8::/32"]
        # MTA-out's Service is cluster-internal: none of the public options.
        out = objects[("Service", "facteur-mta-out")]
        assert "annotations" not in out["metadata"]
        assert "loadBalancerSourceRanges" not in out["spec"]
    # Source ranges mean something to a LoadBalancer only; the apiserver refuses them else.
    node_port = settings(
        FACTEUR_OPERATOR_MTA_IN_SERVICE_TYPE="NodePort",
        FACTEUR_OPERATOR_MTA_IN_SOURCE_RANGES="192.0.2.0/24",
    )
    assert "loadBalancerSourceRanges" not in mta_objects.service(node_port, mta_objects.IN)["spec"]


def test_proxy_protocol_reaches_mta_in_main_cf() -> None:
    def main_cf(**env: str) -> str:
        objects = by_kind(mta_objects.desired(settings(**env), ["example.org"]))
        return objects[("ConfigMap", "facteur-mta-in")]["data"]["main.cf"]

    assert "upstream_proxy_protocol" not in main_cf()
    with_proxy = main_cf(FACTEUR_OPERATOR_MTA_IN_PROXY_PROTOCOL="true")
    assert "postscreen_upstream_proxy_protocol = haproxy" in with_proxy.splitlines()
    # Turning it on changes the ConfigMap, so the checksum rolls the pods.
    assert with_proxy != main_cf()


def test_the_default_image_names_a_version() -> None:
    image = MtaSettings.from_env({}).image
    assert image.rsplit(":", 1)[1] not in ("", "latest"), image


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"FACTEUR_OPERATOR_MTA_IN_SERVICE_ANNOTATIONS": "{not json"}, "ANNOTATIONS"),
        ({"FACTEUR_OPERATOR_MTA_IN_SERVICE_ANNOTATIONS": '{"a": 1}'}, "ANNOTATIONS"),
        ({"FACTEUR_OPERATOR_MTA_IN_SERVICE_ANNOTATIONS": "=x"}, "ANNOTATIONS"),
        ({"FACTEUR_OPERATOR_MTA_IN_SOURCE_RANGES": "10.0.0.0/8,everywhere"}, "SOURCE_RANGES"),
        ({"FACTEUR_OPERATOR_MTA_IN_PROXY_PROTOCOL": "haproxy"}, "PROXY_PROTOCOL"),
        ({"FACTEUR_OPERATOR_MTA_MANAGED": "maybe"}, "FACTEUR_OPERATOR_MTA_MANAGED"),
        ({"FACTEUR_OPERATOR_MTA_IN_REPLICAS": "two"}, "FACTEUR_OPERATOR_MTA_IN_REPLICAS"),
        ({"FACTEUR_OPERATOR_MTA_IN_SERVICE_TYPE": "Ingress"}, "SERVICE_TYPE"),
        ({"FACTEUR_OPERATOR_MTA_SPOOL_SIZE": "lots"}, "FACTEUR_OPERATOR_MTA_SPOOL_SIZE"),
        ({"FACTEUR_OPERATOR_MTA_SPOOL_SIZE": "1 GB"}, "FACTEUR_OPERATOR_MTA_SPOOL_SIZE"),
        ({"FACTEUR_OPERATOR_MTA_SPOOL_SIZE": "0"}, "FACTEUR_OPERATOR_MTA_SPOOL_SIZE"),
        ({"FACTEUR_OPERATOR_MTA_SPOOL_STORAGE_CLASS": "Fast SSD"}, "SPOOL_STORAGE_CLASS"),
    ],
)
def test_bad_settings_are_refused_by_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingError, match=named):
        settings(**env)


def test_nothing_is_rendered_without_a_host_name_a_domain_or_with_a_bad_value() -> None:
    with pytest.raises(mta_objects.NotConfigured, match="FACTEUR_OPERATOR_MTA_HOSTNAME"):
        mta_objects.desired(MtaSettings.from_env({}), ["example.org"])
    with pytest.raises(mta_objects.NotConfigured, match="no MailDomain"):
        mta_objects.desired(settings(), [])
    with pytest.raises(mta_objects.NotConfigured, match="lmtp_target"):
        mta_objects.desired(settings(FACTEUR_OPERATOR_MTA_LMTP_TARGET="nowhere"), ["a.example"])


def test_contains_ignores_what_the_apiserver_adds() -> None:
    wanted = mta_objects.service(settings(), mta_objects.IN)
    current = {
        **wanted,
        "metadata": {**wanted["metadata"], "uid": "u", "resourceVersion": "7"},
        "spec": {
            **wanted["spec"],
            "clusterIP": "10.0.0.9",
            "ports": [{**wanted["spec"]["ports"][0], "nodePort": 31025}],
        },
    }
    assert mta_objects.contains(current, wanted)
    changed = {**current, "spec": {**current["spec"], "type": "ClusterIP"}}
    assert not mta_objects.contains(changed, wanted)
    fewer = {**current, "spec": {**current["spec"], "ports": []}}
    assert not mta_objects.contains(fewer, wanted)


@pytest.mark.parametrize(
    ("quantity", "value"),
    [("1Gi", 2**30), ("1024Mi", 2**30), ("500M", 5e8), ("1.5Gi", 1.5 * 2**30), ("1e9", 1e9),
     ("2E6", 2e6), ("3E", 3e18), ("100", 100), ("lots", None), ("1 Gi", None), ("Gi", None)],
)  # fmt: skip
def test_quantities_are_read_as_kubernetes_does(quantity: str, value: float | None) -> None:
    assert quantity_bytes(quantity) == value


def statefulset(
    replicas: int, available: int, updated: int, observed: int = 2, revisions=("r2", "r2")
) -> dict:
    return {
        "metadata": {"generation": 2},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "readyReplicas": available,
            "availableReplicas": available,
            "updatedReplicas": updated,
            "currentRevision": revisions[0],
            "updateRevision": revisions[1],
        },
    }


def test_statefulset_readiness() -> None:
    readiness = mta_objects.statefulset_readiness
    assert readiness("m", statefulset(2, 2, 2)) == (True, "m: 2/2 replicas available")
    assert readiness("m", statefulset(2, 1, 2)) == (
        False,
        "m: 1/2 replicas available, 2/2 updated",
    )
    assert readiness("m", statefulset(2, 2, 1))[0] is False  # still rolling the new config
    assert readiness("m", statefulset(2, 2, 2, observed=1)) == (False, "m: rolling out")
    rolling = statefulset(2, 2, 2, revisions=("r1", "r2"))
    assert readiness("m", rolling) == (False, "m: rolling out revision r2")
    # A cluster that does not count available replicas: ready ones are.
    older = statefulset(2, 2, 2)
    del older["status"]["availableReplicas"]
    assert readiness("m", older)[0] is True
    older["status"]["readyReplicas"] = 1
    assert readiness("m", older)[0] is False
    assert readiness("m", None) == (False, "m: not created yet")


def test_mta_ready_condition() -> None:
    up = {"facteur-mta-in": (True, "in ok"), "facteur-mta-out": (True, "out ok")}
    deployed = frozenset({"example.org"})
    cond = mta_objects.condition("example.org", deployed=deployed, ready=up, problem="")
    assert (cond.status, cond.reason, cond.message) == (TRUE, "Available", "in ok; out ok")
    pending = mta_objects.condition("example.net", deployed=deployed, ready=up, problem="")
    assert (pending.status, pending.reason) == (FALSE, "ConfigPending")
    down = {**up, "facteur-mta-out": (False, "out 0/2")}
    cond = mta_objects.condition("example.org", deployed=deployed, ready=down, problem="")
    assert (cond.status, cond.reason) == (FALSE, "MTAUnavailable")
    assert "out 0/2" in cond.message
    cond = mta_objects.condition("example.org", deployed=deployed, ready=up, problem="no host")
    assert (cond.reason, cond.message) == ("MTANotConfigured", "no host")


def test_domain_of_counts_valid_domains_not_being_deleted() -> None:
    body = {"metadata": {"name": "x"}, "spec": {"domain": "example.org"}}
    assert domain_of(body) == "example.org"
    assert domain_of({**body, "spec": {"domain": "Not A Domain"}}) is None
    deleting = {"metadata": {"name": "x", "deletionTimestamp": "2026-11-24T12:00:00Z"}}
    assert domain_of({**body, **deleting}) is None


def _reconciled(mta: Condition) -> dict:
    spec = specs.domain_spec({"domain": "example.org"})
    return reconcile.domain_status(
        spec=spec,
        key=None,
        secret_name="s",
        dkim=reconcile.ok("DKIMReady", "KeyReady"),
        dns=reconcile.ok("DNSReady", "RecordsComputed"),
        backend=reconcile.ok("BackendSynced", "Synced"),
        found=[],
        current={},
        generation=1,
        now=NOW,
        mta=mta,
    )


def test_ready_waits_for_the_mta_only_when_it_is_managed() -> None:
    conds = {c["type"]: c for c in _reconciled(mta_objects.NOT_MANAGED)["conditions"]}
    assert conds["Ready"]["status"] == TRUE and conds["MTAReady"]["reason"] == "NotManaged"
    pending = Condition("MTAReady", FALSE, "ConfigPending", "not listed yet")
    conds = {c["type"]: c for c in _reconciled(pending)["conditions"]}
    assert (conds["Ready"]["status"], conds["Ready"]["reason"]) == (FALSE, "ConfigPending")


def test_with_mta_recomputes_ready_and_is_stable() -> None:
    pending = Condition("MTAReady", FALSE, "ConfigPending", "not listed yet")
    status = _reconciled(pending)
    available = Condition("MTAReady", TRUE, "Available", "in ok; out ok")
    merged = with_mta(status, available, "example.org", NOW)
    assert [c["type"] for c in merged] == [c["type"] for c in status["conditions"]]
    conds = {c["type"]: c for c in merged}
    assert conds["Ready"]["status"] == TRUE and conds["MTAReady"]["reason"] == "Available"
    # What the handler computes with the same facts: the same conditions, nothing to write.
    assert _reconciled(available)["conditions"] == merged
    assert with_mta({"conditions": merged}, available, "example.org", NOW) == merged
    # Not reconciled by its handler yet, or Ready about an invalid spec: left alone.
    assert with_mta({}, available, "example.org", NOW) is None
    invalid = {"conditions": [{"type": "Ready", "status": FALSE, "reason": "InvalidSpec"}]}
    assert with_mta(invalid, available, "example.org", NOW) is None


def test_both_mtas_export_their_queue_where_the_chart_scrapes_it() -> None:
    objects = by_kind(mta_objects.desired(settings(), ["example.org"]))
    monitors = (ROOT / "charts/facteur/templates/monitoring/monitors.yaml").read_text()
    assert f"- port: {queue_metrics.PORT_NAME}" in monitors
    for role in ("facteur-mta-in", "facteur-mta-out"):
        pod = objects[("StatefulSet", role)]["spec"]["template"]["spec"]
        queue = next(c for c in pod["containers"] if c["name"] == "queue-metrics")
        assert queue["ports"] == [
            {"name": queue_metrics.PORT_NAME, "containerPort": 9154, "protocol": "TCP"}
        ]
        assert queue["command"][:3] == ["python3", "-m", "facteur_mta.queue_metrics"]
        # It reads the same main.cf (queue_directory) as the Postfix beside it.
        postfix = next(c for c in pod["containers"] if c["name"] == "postfix")
        assert f"-c {mta_objects.CONFIG_DIR}" in postfix["command"][-1]
        assert (
            queue["command"][queue["command"].index("--config-dir") + 1] == mta_objects.CONFIG_DIR
        )
