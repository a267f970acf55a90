"""The operator's settings, from the environment (docs/operator.md, "Settings")."""

from __future__ import annotations

import os
from dataclasses import dataclass

from facteur_operator.dns_verify import VerifySettings
from facteur_operator.mta_settings import MtaSettings, count, seconds


@dataclass(frozen=True)
class Settings:
    backend_url: str  # the backend's base URL, e.g. http://facteur-backend:8000
    service_token: str  # FACTEUR_SERVICE_TOKEN, shared with the backend
    mx_host: str  # the suite's MTA-in public host: a MailDomain's MX when it names none
    dns_ttl: int
    resync_seconds: float
    kube_server: str  # empty: in-cluster service account, else kubeconfig
    metrics_port: int  # 0: no /metrics
    metrics_addr: str
    mta: MtaSettings  # the Postfix objects (mta_settings.py)
    dns_verify: VerifySettings  # live DNS checks (dns_verify.py)
    backend_concurrency: int = 8  # backend calls in flight at most (the rest wait their turn)
    workers: int = 256  # objects processed at once by kopf; the others' events wait queued
    namespaces: tuple[str, ...] = ()  # watched and resynced; empty: every namespace

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Raises ``SettingError`` (what is wrong, by name) for a value that is not one."""
        env = os.environ if env is None else env
        return cls(
            backend_url=env.get("FACTEUR_BACKEND_URL", "http://127.0.0.1:8000").rstrip("/"),
            service_token=env.get("FACTEUR_SERVICE_TOKEN", ""),
            mx_host=env.get("FACTEUR_OPERATOR_MX_HOST", ""),
            dns_ttl=count(env, "FACTEUR_OPERATOR_DNS_TTL", 3600, minimum=1),
            resync_seconds=seconds(env, "FACTEUR_OPERATOR_RESYNC_SECONDS", 300),
            kube_server=env.get("FACTEUR_OPERATOR_KUBE_SERVER", ""),
            metrics_port=count(env, "FACTEUR_OPERATOR_METRICS_PORT", 0),
            metrics_addr=env.get("FACTEUR_OPERATOR_METRICS_ADDR", "0.0.0.0"),  # noqa: S104
            mta=MtaSettings.from_env(
                env,
                mx_host=env.get("FACTEUR_OPERATOR_MX_HOST", ""),
                backend_url=env.get("FACTEUR_BACKEND_URL", "http://127.0.0.1:8000").rstrip("/"),
            ),
            dns_verify=VerifySettings.from_env(env),
            backend_concurrency=count(env, "FACTEUR_OPERATOR_BACKEND_CONCURRENCY", 8, minimum=1),
            workers=count(env, "FACTEUR_OPERATOR_WORKERS", 256, minimum=1),
            namespaces=tuple(n for n in env.get("FACTEUR_OPERATOR_NAMESPACES", "").split(",") if n),
        )
