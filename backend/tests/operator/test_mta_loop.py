"""The MTA loop (facteur_operator.mta) against the emulator, without kopf: the Deployment
an earlier version ran a role as is deleted only once that role's StatefulSet is ready,
and looked for no more afterwards."""

from __future__ import annotations

import asyncio

import kopf
import requests

from facteur_operator import mta_objects
from facteur_operator.kube import Kube
from facteur_operator.mta import MtaLoop
from facteur_operator.mta_settings import MtaSettings
from tests.operator.emulator import running_api_server

APPS = "/apis/apps/v1/namespaces/facteur"
DOMAINS = "/apis/mail.facteur.dev/v1alpha1/namespaces/mail/maildomains"


def legacy_deployment(role: mta_objects.Role) -> dict:
    labels = mta_objects.labels(role)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": role.object_name, "labels": {**labels, **mta_objects.MANAGED_BY}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": []}},
        },
    }


def set_available(url: str, name: str, available: int) -> None:
    response = requests.patch(
        f"{url}{APPS}/statefulsets/{name}/status",
        json={"status": {"availableReplicas": available, "readyReplicas": available}},
        headers={"Content-Type": "application/merge-patch+json"},
        timeout=5,
    )
    assert response.status_code == 200, response.text


def test_the_old_deployment_goes_only_once_the_statefulset_is_ready() -> None:
    settings = MtaSettings.from_env(
        {"FACTEUR_OPERATOR_MTA_HOSTNAME": "mx.example.org"}, backend_url="http://backend:8000"
    )
    with running_api_server() as (emulator, url):
        body = {"metadata": {"name": "example-org"}, "spec": {"domain": "example.org"}}
        assert requests.post(f"{url}{DOMAINS}", json=body, timeout=5).status_code == 201
        for role in mta_objects.ROLES:
            response = requests.post(
                f"{url}{APPS}/deployments", json=legacy_deployment(role), timeout=5
            )
            assert response.status_code == 201, response.text
        # MTA-in's StatefulSet exists as the operator wants it, but its pods are not ready.
        (_, mta_in, _, _, _, _) = mta_objects.desired(settings, ["example.org"])
        assert mta_in["kind"] == "StatefulSet"
        response = requests.post(f"{url}{APPS}/statefulsets", json=mta_in, timeout=5)
        assert response.status_code == 201, response.text
        set_available(url, "facteur-mta-in", 0)

        def exists(kind: str, name: str) -> bool:
            return requests.get(f"{url}{APPS}/{kind}/{name}", timeout=5).status_code == 200

        def deployment_calls() -> list[str]:
            return [
                f"{str(r.method).upper().rpartition('.')[2]} {r.url.path}"
                for r in list(emulator)
                if "/deployments/" in r.url.path
                and r.headers.get("User-Agent", "").startswith("facteur-operator")
            ]

        async def scenario() -> None:
            kube = Kube(kopf.ConnectionInfo(server=url, insecure=True))
            loop = MtaLoop(settings, lambda: kube, namespaces=[], resync_seconds=1)
            try:
                await loop.reconcile()
                # MTA-out's StatefulSet was made, ready at once: its Deployment goes.
                assert loop.ready["facteur-mta-out"][0] is True
                assert not exists("deployments", "facteur-mta-out")
                # MTA-in's is not ready: its Deployment keeps serving mail.
                assert loop.ready["facteur-mta-in"] == (
                    False,
                    "facteur-mta-in: 0/2 replicas available, 2/2 updated",
                )
                assert exists("deployments", "facteur-mta-in")
                await loop.reconcile()
                assert exists("deployments", "facteur-mta-in")
                set_available(url, "facteur-mta-in", 2)
                await loop.reconcile()
                assert not exists("deployments", "facteur-mta-in")
                before = deployment_calls()
                await loop.reconcile()  # both roles migrated: no Deployment read again
                assert deployment_calls() == before
            finally:
                await kube.close()

        asyncio.run(scenario())
        calls = deployment_calls()
    assert calls.count(f"DELETE {APPS}/deployments/facteur-mta-in") == 1
    assert calls.count(f"DELETE {APPS}/deployments/facteur-mta-out") == 1
    # MTA-out checked once (ready at once), MTA-in only once its StatefulSet was ready.
    assert calls.count(f"GET {APPS}/deployments/facteur-mta-in") == 1
