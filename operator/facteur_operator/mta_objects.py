"""The Postfix MTA-in and MTA-out objects for a set of domains: ConfigMaps rendered by
``facteur_mta.render`` (the templates of mta/), StatefulSets and Services. Pure: settings and
domains in, Kubernetes objects out; the same input gives the same objects, so a steady
state writes nothing.

Each pod keeps Postfix's queue (/var/spool/postfix) on a PersistentVolumeClaim of its own
(the StatefulSet's ``spool`` claim template): a pod rolled for a new configuration, moved
or restarted comes back as the same name on the same claim and delivers the mail it had
deferred. An emptyDir lost it.

Postfix's master refuses to run as anything but root ("the master command is reserved for
the superuser"): its container runs as uid 0 with every capability dropped except the ones
Postfix uses to hand work to its unprivileged ``postfix`` user, no privilege escalation, a
read-only root filesystem and unprivileged ports (the Services map 25 and 587 to them). The
policy service and the queue exporter (``facteur_mta.queue_metrics``, Prometheus figures of
Postfix's queues on port 9154) run as nobody; the exporter also has Postfix's ``postdrop``
group, which ``postqueue`` needs to read the queue, mounted read-only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from facteur_mta import queue_metrics, render
from facteur_operator.conditions import FALSE, TRUE, Condition
from facteur_operator.mta_settings import MtaSettings, quantity_bytes

MANAGED_BY = {"app.kubernetes.io/managed-by": "facteur-operator"}
CHECKSUM = "mail.facteur.dev/config-checksum"
CONFIG_DIR = "/etc/facteur/postfix"
TLS_DIR = "/etc/facteur/tls"
SASL_SECRET_DIR = "/etc/facteur/sasl"
RELAY_DIR = "/etc/facteur/relay"
SASLDB = "/var/lib/facteur-sasl/sasldb2"
IN_PORT, OUT_PORT, POLICY_PORT = 2525, 2587, 10040
# What Postfix's master, as root, needs once every capability is dropped: hand its queue
# and sockets to the postfix user (CHOWN, FOWNER, DAC_OVERRIDE), become it (SETUID,
# SETGID) and signal its children (KILL). No NET_BIND_SERVICE: the ports are above 1024.
POSTFIX_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"]
NOBODY = 65534


class NotConfigured(Exception):
    """The settings cannot give a working MTA (a missing host name, no domain)."""


@dataclass(frozen=True)
class Role:
    name: str  # in | out
    object_name: str  # facteur-mta-in | facteur-mta-out
    port: int
    service_port: int
    port_name: str


IN = Role("in", "facteur-mta-in", IN_PORT, 25, "smtp")
OUT = Role("out", "facteur-mta-out", OUT_PORT, 587, "submission")
ROLES = (IN, OUT)


def labels(role: Role) -> dict[str, str]:
    return {"app.kubernetes.io/name": "facteur-mta", "app.kubernetes.io/component": role.name}


def _values(settings: MtaSettings, role: Role, domains: list[str]) -> dict[str, str]:
    """The ``facteur-mta-config`` values of a role, as the pod lays out its files."""
    hostname = settings.hostname if role is IN else settings.out_hostname
    if not hostname:
        raise NotConfigured(
            "no MTA host name: set FACTEUR_OPERATOR_MTA_HOSTNAME (or FACTEUR_OPERATOR_MX_HOST)"
        )
    if not domains:
        raise NotConfigured("no MailDomain to serve yet")
    values = {
        "myhostname": hostname,
        "domains": ",".join(domains),
        "lmtp_target": settings.lmtp_target,
    }
    tls = settings.in_tls_secret if role is IN else settings.out_tls_secret
    if tls:
        values.update(tls_cert_file=f"{TLS_DIR}/tls.crt", tls_key_file=f"{TLS_DIR}/tls.key")
    if role is IN:
        values.update(policy_service=f"127.0.0.1:{POLICY_PORT}", smtpd_listen=str(IN_PORT))
        if settings.in_proxy_protocol:
            values["proxy_protocol"] = "yes"
    else:
        values.update(submission_listen=str(OUT_PORT), sasldb_path=SASLDB)
        if settings.relayhost:
            values["relayhost"] = settings.relayhost
            if settings.relay_secret:
                values["relayhost_password_map"] = f"{RELAY_DIR}/password-map"
    return render.collect(values, environ={}, role=role.name)


def _key(file_name: str) -> str:
    return file_name.replace("/", "-")  # ConfigMap keys hold no slash


def config_map(settings: MtaSettings, role: Role, domains: list[str]) -> dict:
    try:
        files = render.render(role.name, _values(settings, role, domains))
    except render.ConfigError as exc:
        raise NotConfigured(f"MTA-{role.name}: {exc}") from None
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": role.object_name,
            "namespace": settings.namespace,
            "labels": {**labels(role), **MANAGED_BY},
        },
        "data": {_key(name): text for name, text in sorted(files.items())},
    }


def checksum(config: dict) -> str:
    return hashlib.sha256(json.dumps(config["data"], sort_keys=True).encode()).hexdigest()


def _secret_volume(name: str, secret: str, items: list[tuple[str, str]] | None = None) -> dict:
    source: dict = {"secretName": secret, "defaultMode": 0o440}
    if items:
        source["items"] = [{"key": k, "path": p} for k, p in items]
    return {"name": name, "secret": source}


def _postfix_container(settings: MtaSettings, role: Role, mounts: list[dict]) -> dict:
    start = f"exec postfix -c {CONFIG_DIR} start-fg"
    if role is OUT:
        # The sasldb is made at each start from the mounted password (never in the image or
        # the ConfigMap), then Postfix runs in the foreground as the container's process.
        start = (
            f"python3 -m facteur_mta.sasldb --password-file {SASL_SECRET_DIR}/password "
            f"--path {SASLDB} --username facteur --realm {settings.out_hostname} && {start}"
        )
    probe = {"tcpSocket": {"port": role.port_name}, "periodSeconds": 10}
    return {
        "name": "postfix",
        "image": settings.image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": ["/bin/sh", "-ec", start],
        "ports": [{"name": role.port_name, "containerPort": role.port, "protocol": "TCP"}],
        "readinessProbe": {**probe, "initialDelaySeconds": 2},
        "livenessProbe": {**probe, "initialDelaySeconds": 30, "failureThreshold": 6},
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"memory": "512Mi"},
        },
        "securityContext": {
            "runAsUser": 0,
            "runAsNonRoot": False,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"], "add": POSTFIX_CAPABILITIES},
        },
        "volumeMounts": mounts,
    }


def _queue_metrics_container(settings: MtaSettings) -> dict:
    port = queue_metrics.DEFAULT_PORT
    probe = {"tcpSocket": {"port": queue_metrics.PORT_NAME}}
    return {
        "name": "queue-metrics",
        "image": settings.image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": [
            *("python3", "-m", "facteur_mta.queue_metrics", "--config-dir", CONFIG_DIR),
            *("--host", "$(POD_IP)", "--port", str(port)),
        ],
        "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "ports": [{"name": queue_metrics.PORT_NAME, "containerPort": port, "protocol": "TCP"}],
        "readinessProbe": {**probe, "periodSeconds": 10},
        "livenessProbe": {**probe, "periodSeconds": 30},
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
        "securityContext": {
            "runAsUser": NOBODY,
            "runAsGroup": queue_metrics.POSTDROP_GID,
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "spool", "mountPath": "/var/spool/postfix", "readOnly": True},
        ],
    }


def _policy_container(settings: MtaSettings) -> dict:
    return {
        "name": "policy",
        "image": settings.image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": ["facteur-policy", "--host", "127.0.0.1", "--port", str(POLICY_PORT)],
        "env": [
            {"name": "FACTEUR_API_URL", "value": settings.api_url},
            {"name": "FACTEUR_SERVICE_TOKEN_FILE", "value": "/etc/facteur/token/token"},
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": {
            "runAsUser": NOBODY,
            "runAsGroup": NOBODY,
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "token", "mountPath": "/etc/facteur/token", "readOnly": True}],
    }


def spool_claim(settings: MtaSettings, role: Role) -> dict:
    """The claim template of a pod's Postfix queue (immutable once the StatefulSet exists)."""
    spec: dict = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": settings.spool_size}},
    }
    if settings.spool_storage_class:
        spec["storageClassName"] = settings.spool_storage_class
    return {"metadata": {"name": "spool", "labels": labels(role)}, "spec": spec}


def statefulset(settings: MtaSettings, role: Role, config: dict) -> dict:
    config_items = [{"key": key, "path": key} for key in sorted(config["data"])]
    if "sasl-smtpd.conf" in config["data"]:
        config_items = [
            {**i, "path": "sasl/smtpd.conf"} if i["key"] == "sasl-smtpd.conf" else i
            for i in config_items
        ]
    volumes: list[dict] = [
        {
            "name": "config",
            "configMap": {"name": role.object_name, "items": config_items, "defaultMode": 0o444},
        },
        # The spool is the claim template's volume. /var/lib/postfix holds only caches
        # (TLS sessions, PRNG state) and locks, made again at start: an emptyDir.
        {"name": "data", "emptyDir": {}},
    ]
    mounts = [
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "spool", "mountPath": "/var/spool/postfix"},
        {"name": "data", "mountPath": "/var/lib/postfix"},
    ]
    tls = settings.in_tls_secret if role is IN else settings.out_tls_secret
    if tls:
        volumes.append(_secret_volume("tls", tls, [("tls.crt", "tls.crt"), ("tls.key", "tls.key")]))
        mounts.append({"name": "tls", "mountPath": TLS_DIR, "readOnly": True})
    containers = []
    if role is IN:
        volumes.append(
            _secret_volume("token", settings.token_secret, [(settings.token_key, "token")])
        )
        containers.append(_postfix_container(settings, role, mounts))
        containers.append(_policy_container(settings))
    else:
        volumes.append(
            _secret_volume("sasl", settings.sasl_secret, [(settings.sasl_key, "password")])
        )
        volumes.append({"name": "sasldb", "emptyDir": {}})
        mounts += [
            {"name": "sasl", "mountPath": SASL_SECRET_DIR, "readOnly": True},
            {"name": "sasldb", "mountPath": SASLDB.rsplit("/", 1)[0]},
        ]
        if settings.relayhost and settings.relay_secret:
            volumes.append(
                _secret_volume("relay", settings.relay_secret, [("password-map", "password-map")])
            )
            mounts.append({"name": "relay", "mountPath": RELAY_DIR, "readOnly": True})
        containers.append(_postfix_container(settings, role, mounts))
    containers.append(_queue_metrics_container(settings))
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": role.object_name,
            "namespace": settings.namespace,
            "labels": {**labels(role), **MANAGED_BY},
        },
        "spec": {
            "replicas": settings.in_replicas if role is IN else settings.out_replicas,
            "selector": {"matchLabels": labels(role)},
            "serviceName": role.object_name,
            # The pods do not depend on one another: Parallel starts (or stops) them all at
            # once, so one pod stuck Pending (its volume's zone full) does not hold back the
            # others as OrderedReady would. Rolls are one pod at a time either way.
            "podManagementPolicy": "Parallel",
            # A pod is replaced only once the one before it is ready again: with two or
            # more replicas, mail is accepted throughout a roll. A pod cannot be surged
            # here (its claim is its own), so a single replica is down for its restart.
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "template": {
                "metadata": {
                    "labels": labels(role),
                    "annotations": {CHECKSUM: checksum(config)},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    # Postfix finishes the transactions under way on SIGTERM.
                    "terminationGracePeriodSeconds": 60,
                    "containers": containers,
                    "volumes": volumes,
                },
            },
            "volumeClaimTemplates": [spool_claim(settings, role)],
        },
    }


def service(settings: MtaSettings, role: Role) -> dict:
    spec: dict = {
        "type": settings.in_service_type if role is IN else "ClusterIP",
        "selector": labels(role),
        "ports": [
            {
                "name": role.port_name,
                "port": role.service_port,
                "targetPort": role.port_name,
                "protocol": "TCP",
            }
        ],
    }
    metadata: dict = {
        "name": role.object_name,
        "namespace": settings.namespace,
        "labels": {**labels(role), **MANAGED_BY},
    }
    if spec["type"] != "ClusterIP":
        # The client's own address reaches Postfix (postscreen, logs, SPF of the HELO).
        spec["externalTrafficPolicy"] = "Local"
    if role is IN:
        if settings.in_service_annotations:
            metadata["annotations"] = dict(sorted(settings.in_service_annotations.items()))
        if settings.in_source_ranges and spec["type"] == "LoadBalancer":
            spec["loadBalancerSourceRanges"] = list(settings.in_source_ranges)
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}


def desired(settings: MtaSettings, domains: list[str]) -> list[dict]:
    """Every MTA object for ``domains`` (sorted): ConfigMap, StatefulSet, Service per role."""
    objects = []
    for role in ROLES:
        config = config_map(settings, role, domains)
        objects += [config, statefulset(settings, role, config), service(settings, role)]
    return objects


def contains(current: object, wanted: object) -> bool:
    """Whether ``current`` already says everything ``wanted`` says. The apiserver fills
    defaults (a pod template's dnsPolicy, a Service's clusterIP...): those are not ours to
    compare, or a steady state would write at every reconcile."""
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(
            contains(current.get(k), v) for k, v in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(current, list)
            and len(current) == len(wanted)
            and all(contains(c, w) for c, w in zip(current, wanted, strict=True))
        )
    return current == wanted


# What the API server lets change in a StatefulSet's spec; the rest it refuses to update.
MUTABLE_SPEC = ("replicas", "template", "updateStrategy", "minReadySeconds")


def _same_claims(current: list, wanted: list) -> bool:
    """Whether the live claim templates are the wanted ones; sizes by value (stored canonical)."""
    if len(current) != len(wanted):
        return False
    for have, want in zip(current, wanted, strict=True):
        have_spec, want_spec = have.get("spec") or {}, want["spec"]
        have_size = ((have_spec.get("resources") or {}).get("requests") or {}).get("storage")
        want_size = want_spec["resources"]["requests"]["storage"]
        if (have.get("metadata") or {}).get("name") != want["metadata"]["name"]:
            return False
        if have_spec.get("storageClassName") != want_spec.get("storageClassName"):
            return False
        if have_spec.get("accessModes") != want_spec["accessModes"]:
            return False
        if quantity_bytes(str(have_size or "")) != quantity_bytes(want_size):
            return False
    return True


def _claims_text(claims: list) -> str:
    def one(claim: dict) -> str:
        spec = claim.get("spec") or {}
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "?")
        return f"{size} of class {spec.get('storageClassName') or '(default)'}"

    return ", ".join(one(c) for c in claims) or "none"


def immutable_drift(current: dict, wanted: dict) -> str:
    """What the live StatefulSet says otherwise than ``wanted`` in the fields the API server
    will not update (the spool's claim template: its size or StorageClass); empty when none.
    Not patched: the StatefulSet is deleted with --cascade=orphan, then made again."""
    have, want = current.get("spec") or {}, wanted["spec"]
    name = wanted["metadata"]["name"]
    if not _same_claims(have.get("volumeClaimTemplates") or [], want["volumeClaimTemplates"]):
        return (
            f"{name}: spool claim is {_claims_text(have.get('volumeClaimTemplates') or [])}, "
            f"the settings want {_claims_text(want['volumeClaimTemplates'])}; a StatefulSet's "
            f"claim template cannot change: delete it with "
            f"'kubectl delete statefulset {name} --cascade=orphan' to apply it"
        )
    for field in ("selector", "serviceName", "podManagementPolicy"):
        if not contains(have.get(field), want[field]):
            return f"{name}: spec.{field} cannot change: delete it with --cascade=orphan"
    return ""


def mutable_part(current: dict, wanted: dict) -> bool:
    """Whether the live StatefulSet already has everything ``wanted`` says that can change."""
    want = {k: v for k, v in wanted["spec"].items() if k in MUTABLE_SPEC}
    return contains(current.get("metadata"), {"labels": wanted["metadata"]["labels"]}) and (
        contains(current.get("spec"), want)
    )


def statefulset_readiness(name: str, found: dict | None) -> tuple[bool, str]:
    """Whether a StatefulSet runs its current template on every replica it wants, as its
    controller reports it: the latest generation seen, every replica ready (available when
    the cluster counts it) and updated, the update revision become the current one."""
    if found is None:
        return False, f"{name}: not created yet"
    want = int((found.get("spec") or {}).get("replicas", 1))
    status = found.get("status") or {}
    generation = (found.get("metadata") or {}).get("generation")
    if generation is not None and int(status.get("observedGeneration") or 0) < int(generation):
        return False, f"{name}: rolling out"
    key = "availableReplicas" if "availableReplicas" in status else "readyReplicas"
    available = int(status.get(key) or 0)
    updated = int(status.get("updatedReplicas") or 0)
    if available < want or updated < want:
        return False, f"{name}: {available}/{want} replicas available, {updated}/{want} updated"
    current, update = status.get("currentRevision"), status.get("updateRevision")
    if want and current and update and current != update:
        return False, f"{name}: rolling out revision {update}"
    return True, f"{name}: {available}/{want} replicas available"


def condition(
    domain: str, *, deployed: frozenset[str], ready: dict[str, tuple[bool, str]], problem: str
) -> Condition:
    """MTAReady of one domain, from what the MTA loop last saw."""
    if problem:
        return Condition("MTAReady", FALSE, "MTANotConfigured", problem)
    if domain not in deployed:
        return Condition(
            "MTAReady", FALSE, "ConfigPending", "the MTA configuration does not list it yet"
        )
    messages = "; ".join(ready[r.object_name][1] for r in ROLES if r.object_name in ready)
    if len(ready) < len(ROLES) or not all(ok for ok, _ in ready.values()):
        return Condition("MTAReady", FALSE, "MTAUnavailable", messages)
    return Condition("MTAReady", TRUE, "Available", messages)


NOT_MANAGED = Condition(
    "MTAReady",
    "Unknown",
    "NotManaged",
    "FACTEUR_OPERATOR_MTA_MANAGED is off: Postfix is run outside this operator",
)
