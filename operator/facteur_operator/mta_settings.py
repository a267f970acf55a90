"""The settings of the Postfix MTA-in and MTA-out the operator runs (docs/operator.md, "The
MTA objects"), from ``FACTEUR_OPERATOR_MTA_*`` environment variables."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# The image of the release this operator belongs to: the chart's registry and appVersion
# (charts/facteur/Chart.yaml; a test keeps them equal). Never "latest": a pod restarted
# later would run another release's Postfix configuration code.
DEFAULT_IMAGE = "docker.io/facteur/facteur-mta:0.1.0"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingError(ValueError):
    pass


def _flag(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE | _FALSE:
        return raw in _TRUE
    raise SettingError(f"{key} must be true or false, got {raw!r}")


def _annotations(env: Mapping[str, str], key: str) -> dict[str, str]:
    """A JSON object (what the chart passes) or ``name=value`` pairs separated by commas."""
    raw = env.get(key, "").strip()
    if not raw:
        return {}
    if raw.startswith("{"):
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise SettingError(f"{key} is not valid JSON: {exc}") from None
        if not all(isinstance(v, str) for v in parsed.values()):
            raise SettingError(f"{key}: every annotation value must be a string")
        pairs = list(parsed.items())
    else:
        pairs = [tuple(p.strip() for p in item.partition("=")[::2]) for item in raw.split(",")]
        if any(not name for name, _ in pairs):
            raise SettingError(f"{key} must be a JSON object or name=value,..., got {raw!r}")
    return dict(pairs)


def _cidrs(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    ranges = tuple(r.strip() for r in env.get(key, "").split(",") if r.strip())
    for cidr in ranges:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise SettingError(f"{key}: {cidr!r} is not an address range (CIDR)") from None
    return ranges


def count(env: Mapping[str, str], key: str, default: int, minimum: int = 0) -> int:
    """A whole-number setting (every operator setting of that kind reads through here)."""
    raw = env.get(key, "").strip() or str(default)
    if not raw.isdigit() or int(raw) < minimum:
        raise SettingError(f"{key} must be a whole number of at least {minimum}, got {raw!r}")
    return int(raw)


def seconds(env: Mapping[str, str], key: str, default: float) -> float:
    """A duration setting, in seconds (more than 0)."""
    raw = env.get(key, "").strip() or str(default)
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise SettingError(f"{key} must be a number of seconds above 0, got {raw!r}")
    return value


# A Kubernetes resource quantity (k8s.io/apimachinery resource.Quantity): a decimal number,
# then a binary (Ki...Ei), decimal (k, M...E, m) or exponent (e3, E6) suffix.
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?"
)
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def quantity_bytes(text: str) -> float | None:
    """The value of a Kubernetes quantity ("1Gi", "500M", "1e9"), None when it is not one.
    The apiserver stores a quantity in its canonical form ("1024Mi" comes back "1Gi"):
    compare values, not strings."""
    match = _QUANTITY.fullmatch(text.strip())
    if not match:
        return None
    number, suffix = float(match["number"]), match["suffix"] or ""
    if suffix in _BINARY:
        return number * 1024 ** _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * 10 ** _DECIMAL[suffix]
    return number * 10 ** int(suffix[1:]) if suffix else number


def _size(env: Mapping[str, str], key: str, default: str) -> str:
    raw = env.get(key, "").strip() or default
    value = quantity_bytes(raw)
    if value is None or value <= 0:
        raise SettingError(f"{key} must be a positive Kubernetes quantity like 1Gi, got {raw!r}")
    return raw


def _name(env: Mapping[str, str], key: str) -> str:
    """An object name (a StorageClass's: a DNS subdomain), or empty."""
    raw = env.get(key, "").strip()
    if raw and not re.fullmatch(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", raw):
        raise SettingError(f"{key} must be a StorageClass name, got {raw!r}")
    return raw


@dataclass(frozen=True)
class MtaSettings:
    managed: bool  # False: Postfix is run otherwise; MTAReady is NotManaged
    namespace: str  # where the StatefulSets, Services and ConfigMaps live
    image: str  # Postfix, facteur-mta-config and facteur-policy
    image_pull_policy: str
    in_replicas: int
    out_replicas: int
    hostname: str  # MTA-in's public name (myhostname, banner); default: the MX host
    out_hostname: str  # MTA-out's HELO name; default: hostname
    lmtp_target: str  # the delivery service, host:port
    api_url: str  # the backend, for the policy service
    token_secret: str  # Secret with the backend's service token
    token_key: str  # its key in token_secret
    in_tls_secret: str  # kubernetes.io/tls Secret for MTA-in's STARTTLS; empty: none
    out_tls_secret: str  # kubernetes.io/tls Secret for MTA-out's submission port
    sasl_secret: str  # Secret with the backend's password for its login to MTA-out
    sasl_key: str  # its key in sasl_secret
    relayhost: str  # empty: deliver to each domain's MX
    relay_secret: str  # Secret with key "password-map": the smarthost login (texthash)
    in_service_type: str  # LoadBalancer (the public MX) | NodePort | ClusterIP
    debounce_seconds: float  # domain changes gathered into one rendering
    # MTA-in's public Service: cloud load balancer options, allowed client ranges
    in_service_annotations: dict[str, str] = field(default_factory=dict)
    in_source_ranges: tuple[str, ...] = ()
    in_proxy_protocol: bool = False  # the balancer sends a PROXY header (postscreen reads it)
    # Each MTA pod's Postfix queue: a PersistentVolumeClaim of this size and StorageClass
    # (empty: the cluster's default class).
    spool_size: str = "1Gi"
    spool_storage_class: str = ""

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, mx_host: str = "", backend_url: str = ""
    ) -> MtaSettings:
        env = os.environ if env is None else env
        hostname = env.get("FACTEUR_OPERATOR_MTA_HOSTNAME", "") or mx_host
        service_type = env.get("FACTEUR_OPERATOR_MTA_IN_SERVICE_TYPE", "") or "LoadBalancer"
        if service_type not in ("LoadBalancer", "NodePort", "ClusterIP"):
            raise SettingError(
                "FACTEUR_OPERATOR_MTA_IN_SERVICE_TYPE must be LoadBalancer, NodePort or "
                f"ClusterIP, got {service_type!r}"
            )
        return cls(
            managed=_flag(env, "FACTEUR_OPERATOR_MTA_MANAGED", True),
            namespace=env.get("FACTEUR_OPERATOR_MTA_NAMESPACE", "") or "facteur",
            image=env.get("FACTEUR_OPERATOR_MTA_IMAGE", "") or DEFAULT_IMAGE,
            image_pull_policy=env.get("FACTEUR_OPERATOR_MTA_IMAGE_PULL_POLICY", "")
            or "IfNotPresent",
            in_replicas=count(env, "FACTEUR_OPERATOR_MTA_IN_REPLICAS", 2),
            out_replicas=count(env, "FACTEUR_OPERATOR_MTA_OUT_REPLICAS", 2),
            hostname=hostname,
            out_hostname=env.get("FACTEUR_OPERATOR_MTA_OUT_HOSTNAME", "") or hostname,
            lmtp_target=env.get("FACTEUR_OPERATOR_MTA_LMTP_TARGET", "") or "facteur-delivery:2424",
            api_url=env.get("FACTEUR_OPERATOR_MTA_API_URL", "") or backend_url,
            token_secret=env.get("FACTEUR_OPERATOR_MTA_TOKEN_SECRET", "")
            or "facteur-service-token",
            token_key=env.get("FACTEUR_OPERATOR_MTA_TOKEN_KEY", "") or "service-token",
            in_tls_secret=env.get("FACTEUR_OPERATOR_MTA_IN_TLS_SECRET", ""),
            out_tls_secret=env.get("FACTEUR_OPERATOR_MTA_OUT_TLS_SECRET", ""),
            sasl_secret=env.get("FACTEUR_OPERATOR_MTA_SASL_SECRET", "") or "facteur-relay",
            sasl_key=env.get("FACTEUR_OPERATOR_MTA_SASL_KEY", "") or "relay-password",
            relayhost=env.get("FACTEUR_OPERATOR_MTA_RELAYHOST", ""),
            relay_secret=env.get("FACTEUR_OPERATOR_MTA_RELAY_SECRET", ""),
            in_service_type=service_type,
            debounce_seconds=seconds(env, "FACTEUR_OPERATOR_MTA_DEBOUNCE_SECONDS", 1.0),
            in_service_annotations=_annotations(env, "FACTEUR_OPERATOR_MTA_IN_SERVICE_ANNOTATIONS"),
            in_source_ranges=_cidrs(env, "FACTEUR_OPERATOR_MTA_IN_SOURCE_RANGES"),
            in_proxy_protocol=_flag(env, "FACTEUR_OPERATOR_MTA_IN_PROXY_PROTOCOL", False),
            spool_size=_size(env, "FACTEUR_OPERATOR_MTA_SPOOL_SIZE", "1Gi"),
            spool_storage_class=_name(env, "FACTEUR_OPERATOR_MTA_SPOOL_STORAGE_CLASS"),
        )
