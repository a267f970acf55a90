"""The operator end to end: kopf against the Kubernetes API emulator, the real backend
(Django served on loopback, real PostgreSQL) behind its internal API.

Scenarios: a MailDomain becomes Ready with its DKIM Secret (owned by it), status.dkim,
status.dnsRecords, a DNSEndpoint and the backend's managed domain with its admins and
active key; a Mailbox becomes Ready with its aliases and accesses; updates (new alias,
DMARC change) converge and bump observedGeneration; at steady state resyncs write nothing;
deleting a MailDomain that Mailboxes use is refused in status until they are gone;
deletion with Retain keeps the backend's records (unmanaged), with Delete removes them;
an invalid spec gives a clear condition and deletes nothing; a backend that is down
gives BackendSynced=False, and the operator recovers when it is back; a lost DKIM Secret
is made again under a new selector; operator/deploy/rbac.yaml grants every API call the
operator makes over a whole life, and nothing it does not use; a DKIM key rotates in its
three steps (time passing simulated by moving the Secret's timestamps back).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import yaml
from django.core.cache import cache
from prometheus_client import REGISTRY

from facteur.domains.models import DkimKey, Mailbox, MailDomain
from facteur_operator import dkim as operator_dkim
from tests.net import free_port
from tests.operator import crds
from tests.operator.emulator import ApiServer, running_api_server
from tests.operator.test_dns_verify import publish
from tests.sending.dns_server import DnsServer, Zone

TOKEN = "operator-e2e-token-0123456789"
NS = "mail"
CR = f"/apis/mail.facteur.dev/v1alpha1/namespaces/{NS}"
RESYNC = 1.0

pytestmark = pytest.mark.slow


class Cluster:
    def __init__(self, emulator: ApiServer, url: str, metrics_port: int = 0) -> None:
        self.emulator, self.url, self.metrics_port = emulator, url, metrics_port

    def metrics(self) -> str:
        return requests.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def create(self, plural: str, body: dict) -> dict:
        response = requests.post(f"{self.url}{CR}/{plural}", json=body, timeout=5)
        assert response.status_code == 201, response.text
        return response.json()

    def get(self, path: str) -> dict | None:
        response = requests.get(f"{self.url}{path}", timeout=15)  # a loaded 2-core machine
        return None if response.status_code == 404 else response.json()

    def patch(self, plural: str, name: str, body: dict) -> None:
        response = requests.patch(
            f"{self.url}{CR}/{plural}/{name}",
            json=body,
            headers={"Content-Type": "application/merge-patch+json"},
            timeout=5,
        )
        assert response.status_code == 200, response.text

    def delete(self, plural: str, name: str) -> None:
        response = requests.delete(f"{self.url}{CR}/{plural}/{name}", timeout=5)
        assert response.status_code == 200, response.text

    def secret_reads(self) -> int:
        return sum(
            1
            for r in list(self.emulator)
            if str(r.method).upper().endswith("GET") and r.url.path.endswith("-dkim")
        )

    def writes(self) -> list[str]:
        return [
            f"{r.method} {r.url.path}"
            for r in list(self.emulator)  # kmock keeps every request it served
            if str(r.method).upper().endswith(("POST", "PATCH", "PUT", "DELETE"))
        ]


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def until(cluster: Cluster, path: str, what: str, check: Callable[[dict], bool]) -> dict:
    """The object at ``path`` once ``check`` holds for it."""

    def probe() -> dict | None:
        obj = cluster.get(path)
        return obj if obj is not None and check(obj) else None

    return wait_for(what, probe)


def condition(obj: dict | None, kind: str) -> dict:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond["type"] == kind:
            return cond
    return {}


class BackendProxy:
    """A TCP relay to the live server that the test can take down and bring back."""

    def __init__(self, target_port: int) -> None:
        self.target_port, self.port = target_port, free_port()
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.Server | None = None
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    async def _pipe(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _client(self, reader, writer) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _start(self) -> None:
        self.server = await asyncio.start_server(
            self._client, "127.0.0.1", self.port, reuse_address=True
        )

    async def _stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    def up(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(5)

    def down(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(5)

    def close(self) -> None:
        self.down()
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def backend_proxy(live_server) -> Iterator[BackendProxy]:
    proxy = BackendProxy(int(live_server.url.rsplit(":", 1)[1]))
    proxy.up()
    yield proxy
    proxy.close()


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer(Zone()) as server:
        yield server


@pytest.fixture
def operator_env(request) -> dict[str, str]:
    """More environment for the operator: a test sets it with indirect parametrisation
    (``DNS_ZONE``: the loopback DNS server of ``dns_server`` as its resolver)."""
    env = dict(getattr(request, "param", {}))
    if env.pop("DNS_ZONE", None):
        server = request.getfixturevalue("dns_server")
        env["FACTEUR_OPERATOR_DNS_RESOLVERS"] = f"127.0.0.1:{server.port}"
    return env


@pytest.fixture
def cluster(
    backend_proxy: BackendProxy, settings, monkeypatch, transactional_db, operator_env
) -> Iterator[Cluster]:
    settings.FACTEUR_SERVICE_TOKEN = TOKEN
    cache.delete("throttle_operator_127.0.0.1")
    with running_api_server(dns_endpoint=True) as (emulator, url):
        monkeypatch.setenv("FACTEUR_OPERATOR_KUBE_SERVER", url)
        monkeypatch.setenv("FACTEUR_BACKEND_URL", f"http://127.0.0.1:{backend_proxy.port}")
        monkeypatch.setenv("FACTEUR_SERVICE_TOKEN", TOKEN)
        monkeypatch.setenv("FACTEUR_OPERATOR_MX_HOST", "mx.facteur.example")
        metrics_port = free_port()
        monkeypatch.setenv("FACTEUR_OPERATOR_METRICS_PORT", str(metrics_port))
        monkeypatch.setenv("FACTEUR_OPERATOR_METRICS_ADDR", "127.0.0.1")
        # Read when the handlers are imported (timer intervals): a fast resync for the tests.
        monkeypatch.setenv("FACTEUR_OPERATOR_RESYNC_SECONDS", str(RESYNC))
        monkeypatch.setenv("FACTEUR_OPERATOR_MTA_DEBOUNCE_SECONDS", "0.2")
        for key, value in operator_env.items():
            monkeypatch.setenv(key, value)
        import kopf

        import facteur_operator.handlers  # noqa: F401

        stop, ready = threading.Event(), threading.Event()

        def run() -> None:
            # Its own thread and loop: kopf must never run on (and cancel tasks of) pytest's.
            asyncio.set_event_loop(asyncio.new_event_loop())
            kopf.run(standalone=True, clusterwide=True, stop_flag=stop, ready_flag=ready)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        assert ready.wait(20), "the operator did not start"
        try:
            yield Cluster(emulator, url, metrics_port)
        finally:
            stop.set()
            thread.join(20)


DOMAIN = {
    "apiVersion": "mail.facteur.dev/v1alpha1",
    "kind": "MailDomain",
    "metadata": {"name": "example-org"},
    "spec": {
        "domain": "example.org",
        "dkim": {"algorithm": "ed25519"},
        "admins": ["alice@example.org"],
    },
}


def mailbox_body(name: str, local: str, **spec: Any) -> dict:
    return {
        "apiVersion": "mail.facteur.dev/v1alpha1",
        "kind": "Mailbox",
        "metadata": {"name": name},
        "spec": {"domainRef": {"name": "example-org"}, "localPart": local, **spec},
    }


def events_of(cluster: Cluster, name: str) -> list[dict]:
    """The Kubernetes Events about the object ``name`` of the test namespace."""
    found = cluster.get(f"/api/v1/namespaces/{NS}/events") or {}
    return [e for e in found.get("items", []) if e["involvedObject"]["name"] == name]


def reasons(cluster: Cluster, name: str) -> list[str]:
    return [e["reason"] for e in events_of(cluster, name)]


def ready(cluster: Cluster, plural: str, name: str, status: str = "True") -> dict:
    return until(
        cluster,
        f"{CR}/{plural}/{name}",
        f"{plural}/{name} Ready={status}",
        lambda obj: condition(obj, "Ready").get("status") == status,
    )


def test_a_new_maildomain_becomes_ready(cluster: Cluster) -> None:
    created = cluster.create("maildomains", DOMAIN)
    domain = ready(cluster, "maildomains", "example-org")
    status = domain["status"]
    assert status["observedGeneration"] == 1
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Ready": "True",
        "DKIMReady": "True",
        "DNSReady": "True",
        "BackendSynced": "True",
        "MTAReady": "True",
    }
    # The DKIM key lives in a Secret the MailDomain owns.
    secret = cluster.get(f"/api/v1/namespaces/{NS}/secrets/example-org-dkim")
    assert secret["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
    key = operator_dkim.key_from_secret(secret)
    assert key is not None and key.algorithm == "ed25519-sha256"
    assert status["dkim"] == {
        "activeSelector": key.selector,
        "algorithm": "ed25519-sha256",
        "secretName": "example-org-dkim",
        "publicTxt": f"v=DKIM1; k=ed25519; p={key.public}",
    }
    records = {(r["name"], r["type"]): r["value"] for r in status["dnsRecords"]}
    assert records == {
        ("example.org.", "MX"): "10 mx.facteur.example.",
        ("example.org.", "TXT"): "v=spf1 mx -all",
        (f"{key.selector}._domainkey.example.org.", "TXT"): key.txt,
        ("_dmarc.example.org.", "TXT"): (
            "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org"
        ),
    }
    endpoint = cluster.get(
        f"/apis/externaldns.k8s.io/v1alpha1/namespaces/{NS}/dnsendpoints/example-org"
    )
    targets = {(e["dnsName"], e["recordType"]): e["targets"] for e in endpoint["spec"]["endpoints"]}
    assert targets[("example.org", "MX")] == ["10 mx.facteur.example."]
    # The backend: a managed domain, its admin, the very same key, active.
    backend = MailDomain.objects.get(name="example.org")
    assert backend.managed
    assert list(backend.admins.values_list("user__email", flat=True)) == ["alice@example.org"]
    stored = DkimKey.objects.get(domain=backend, is_active=True)
    assert (stored.selector, stored.public_key) == (key.selector, key.public)
    # Metrics, on the operator's /metrics.
    exposed = cluster.metrics()
    assert 'facteur_operator_reconciles_total{kind="MailDomain",result="ok"}' in exposed
    assert 'facteur_operator_dkim_key_age_seconds{name="example-org",namespace="mail"}' in exposed
    assert "facteur_operator_reconcile_duration_seconds_bucket" in exposed
    # Events on what changed: the key, the records to publish, the backend.
    wait_for("the events", lambda: {"DKIMKeyCreated", "DNSRecordsChanged", "BackendSynced"}
             <= set(reasons(cluster, "example-org")))  # fmt: skip
    posted = {e["reason"]: e for e in events_of(cluster, "example-org")}
    assert posted["DKIMKeyCreated"]["message"] == (
        f"ed25519-sha256 key {key.selector} in Secret example-org-dkim"
    )
    assert posted["DNSRecordsChanged"]["type"] == "Normal"
    assert "+ MX example.org." in posted["DNSRecordsChanged"]["message"]
    assert posted["DNSRecordsChanged"]["involvedObject"]["uid"] == created["metadata"]["uid"]


def test_mailboxes_converge_and_steady_state_writes_nothing(cluster: Cluster) -> None:
    cluster.create("maildomains", DOMAIN)
    ready(cluster, "maildomains", "example-org")
    cluster.create(
        "mailboxes",
        mailbox_body(
            "contact",
            "contact",
            type="shared",
            aliases=["hello"],
            access=[{"user": "alice@example.org", "role": "admin"}],
        ),
    )
    box = ready(cluster, "mailboxes", "contact")
    assert box["status"]["address"] == "contact@example.org"
    # kopf's diff-base went with the status, in one request: the finalizer and that one.
    assert json.loads(box["status"]["lastHandledConfiguration"])["spec"]["localPart"] == "contact"
    assert not [a for a in box["metadata"].get("annotations") or {} if "last-handled" in a]
    assert [
        (w.split(" ")[0].rpartition(".")[2], w.endswith("/status"))
        for w in cluster.writes()
        if "/mailboxes/contact" in w
    ] == [("PATCH", False), ("PATCH", True)]
    # Its domain was read from the MailDomains' watch, not asked for.
    assert not [
        r
        for r in list(cluster.emulator)
        if str(r.method).upper().endswith("GET")
        and r.url.path.endswith("/maildomains/example-org")
        and r.headers.get("User-Agent", "").startswith(("kopf/", "facteur-operator"))
    ]
    mailbox = Mailbox.objects.get(local_part="contact", domain__name="example.org")
    assert mailbox.managed and mailbox.kind == "shared"
    assert list(mailbox.aliases.values_list("local_part", flat=True)) == ["hello"]
    # Update: a new alias, a DMARC change.
    cluster.patch("mailboxes", "contact", {"spec": {"aliases": ["hello", "info"]}})
    cluster.patch("maildomains", "example-org", {"spec": {"dmarc": {"policy": "reject"}}})
    wait_for(
        "the new alias",
        lambda: sorted(mailbox.aliases.values_list("local_part", flat=True)) == ["hello", "info"],
    )
    domain = until(
        cluster,
        f"{CR}/maildomains/example-org",
        "DMARC reject in status",
        lambda d: any("p=reject" in r["value"] for r in d["status"]["dnsRecords"]),
    )
    assert domain["status"]["observedGeneration"] == 2
    wait_for(
        "the mailbox's observedGeneration",
        lambda: cluster.get(f"{CR}/mailboxes/contact")["status"].get("observedGeneration") == 2,
    )
    # Steady state: several resyncs later (each reads the Secret), not one write to the API.
    time.sleep(RESYNC)
    before, reads_before = cluster.writes(), cluster.secret_reads()
    resynced = ("facteur_operator_reconciles_total", {"kind": "Mailbox", "result": "ok"})
    mailbox_reconciles = REGISTRY.get_sample_value(*resynced) or 0
    time.sleep(RESYNC * 3)
    assert cluster.secret_reads() >= reads_before + 2
    assert (REGISTRY.get_sample_value(*resynced) or 0) >= mailbox_reconciles + 2
    assert cluster.writes()[len(before) :] == []


def test_deletion_waits_for_mailboxes_and_follows_the_policies(cluster: Cluster) -> None:
    cluster.create("maildomains", DOMAIN)
    ready(cluster, "maildomains", "example-org")
    cluster.create("mailboxes", mailbox_body("kept", "kept"))
    cluster.create("mailboxes", mailbox_body("gone", "gone", deletionPolicy="Delete"))
    ready(cluster, "mailboxes", "kept")
    ready(cluster, "mailboxes", "gone")
    # The domain is still used: refused in status, nothing removed.
    cluster.delete("maildomains", "example-org")
    waiting = condition(
        until(
            cluster,
            f"{CR}/maildomains/example-org",
            "MailboxesRemain",
            lambda d: condition(d, "Ready").get("reason") == "MailboxesRemain",
        ),
        "Ready",
    )
    assert "gone, kept" in waiting["message"]
    assert MailDomain.objects.filter(name="example.org", managed=True).exists()
    time.sleep(6)  # the deletion is retried every 5 s: one Event, not one per retry
    refused = [e for e in events_of(cluster, "example-org") if e["reason"] == "DeletionRefused"]
    assert len(refused) == 1 and refused[0]["type"] == "Warning"
    cluster.delete("mailboxes", "gone")
    cluster.delete("mailboxes", "kept")
    wait_for("the domain to go", lambda: cluster.get(f"{CR}/maildomains/example-org") is None)
    # Delete removed "gone"; Retain kept "kept" and the domain, no longer managed.
    assert not Mailbox.objects.filter(local_part="gone").exists()
    kept = Mailbox.objects.get(local_part="kept")
    assert not kept.managed and kept.is_disabled
    retained = MailDomain.objects.get(name="example.org")
    assert not retained.managed and retained.is_disabled


def test_invalid_specs_get_a_clear_condition_and_delete_nothing(cluster: Cluster) -> None:
    cluster.create(
        "maildomains", {**DOMAIN, "metadata": {"name": "bad"}, "spec": {"domain": "Not A Domain"}}
    )
    bad = ready(cluster, "maildomains", "bad", status="False")
    assert condition(bad, "Ready")["reason"] == "InvalidSpec"
    assert "spec.domain" in condition(bad, "Ready")["message"]
    cluster.create("maildomains", DOMAIN)
    ready(cluster, "maildomains", "example-org")
    cluster.patch("maildomains", "example-org", {"spec": {"dmarc": {"pct": 500}}})
    broken = until(
        cluster,
        f"{CR}/maildomains/example-org",
        "InvalidSpec",
        lambda d: condition(d, "Ready").get("reason") == "InvalidSpec",
    )
    assert "spec.dmarc.pct" in condition(broken, "Ready")["message"]
    assert broken["status"]["observedGeneration"] == 2
    # A Mailbox's status leaves with kopf's patch: a permanent error's too.
    cluster.create("mailboxes", mailbox_body("odd", "not an address"))
    odd = ready(cluster, "mailboxes", "odd", status="False")
    assert condition(odd, "Ready")["reason"] == "InvalidSpec"
    assert "localPart" in condition(odd, "Ready")["message"]
    assert cluster.get(f"/api/v1/namespaces/{NS}/secrets/example-org-dkim") is not None
    assert MailDomain.objects.filter(name="example.org", managed=True).exists()
    assert not MailDomain.objects.exclude(name="example.org").exists()


def test_backend_down_then_back(cluster: Cluster, backend_proxy: BackendProxy) -> None:
    errors = (
        "facteur_operator_backend_errors_total",
        {"kind": "MailDomain", "reason": "BackendUnavailable"},
    )
    before = REGISTRY.get_sample_value(*errors) or 0
    backend_proxy.down()
    cluster.create("maildomains", DOMAIN)
    down = ready(cluster, "maildomains", "example-org", status="False")
    assert condition(down, "BackendSynced")["reason"] == "BackendUnavailable"
    assert condition(down, "DKIMReady")["status"] == "True"  # the rest goes on
    assert not MailDomain.objects.filter(name="example.org").exists()
    assert REGISTRY.get_sample_value(*errors) > before
    # A Mailbox's retried error (its status leaves with kopf's patch) says so too.
    cluster.create("mailboxes", mailbox_body("contact", "contact"))
    box = ready(cluster, "mailboxes", "contact", status="False")
    assert condition(box, "BackendSynced")["reason"] == "BackendUnavailable"
    backend_proxy.up()
    ready(cluster, "maildomains", "example-org")
    assert MailDomain.objects.filter(name="example.org", managed=True).exists()
    ready(cluster, "mailboxes", "contact")
    assert Mailbox.objects.filter(local_part="contact", domain__name="example.org").exists()


def test_a_lost_dkim_secret_is_made_again_under_a_new_selector(cluster: Cluster) -> None:
    cluster.create("maildomains", DOMAIN)
    first = ready(cluster, "maildomains", "example-org")["status"]["dkim"]["activeSelector"]
    response = requests.delete(
        f"{cluster.url}/api/v1/namespaces/{NS}/secrets/example-org-dkim", timeout=5
    )
    assert response.status_code == 200
    # The periodic resync notices and makes a new key; the backend switches to it.
    domain = until(
        cluster,
        f"{CR}/maildomains/example-org",
        "a new DKIM selector",
        lambda d: d["status"].get("dkim", {}).get("activeSelector") not in (None, first),
    )
    assert condition(domain, "Ready")["status"] == "True"
    selector = domain["status"]["dkim"]["activeSelector"]
    assert selector == f"{first}-2"
    assert DkimKey.objects.get(domain__name="example.org", is_active=True).selector == selector


def test_a_new_domain_adopts_the_objects_it_finds_and_never_overwrites_a_foreign_secret(
    cluster: Cluster,
) -> None:
    """A new MailDomain makes its Secret and DNSEndpoint without reading first; ones there
    already (restored from a backup, made by hand) answer 409 and are read: a key is used,
    a foreign Secret reported and left as it is, a DNSEndpoint brought in line."""
    from facteur_operator import specs

    spec = specs.domain_spec(DOMAIN["spec"])
    key = operator_dkim.new_key(spec, datetime.now(UTC) - timedelta(days=40))
    restored = operator_dkim.secret_body(
        name="example-org-dkim", namespace=NS, domain="example.org", key=key
    )
    secrets = f"{cluster.url}/api/v1/namespaces/{NS}/secrets"
    assert requests.post(secrets, json=restored, timeout=5).status_code == 201
    stale = {
        "apiVersion": "externaldns.k8s.io/v1alpha1",
        "kind": "DNSEndpoint",
        "metadata": {"name": "example-org"},
        "spec": {
            "endpoints": [
                {"dnsName": "old.example.org", "recordType": "A", "targets": ["192.0.2.1"]}
            ]
        },
    }
    endpoints = f"{cluster.url}/apis/externaldns.k8s.io/v1alpha1/namespaces/{NS}/dnsendpoints"
    assert requests.post(endpoints, json=stale, timeout=5).status_code == 201
    cluster.create("maildomains", DOMAIN)
    domain = ready(cluster, "maildomains", "example-org")
    assert domain["status"]["dkim"]["activeSelector"] == key.selector
    assert DkimKey.objects.get(domain__name="example.org", is_active=True).selector == key.selector
    published = cluster.get(
        f"/apis/externaldns.k8s.io/v1alpha1/namespaces/{NS}/dnsendpoints/example-org"
    )
    names = {e["dnsName"] for e in published["spec"]["endpoints"]}
    assert "old.example.org" not in names and "example.org" in names

    foreign = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "other-org-dkim"},
        "data": {"token": base64.b64encode(b"not a key").decode()},
    }
    assert requests.post(secrets, json=foreign, timeout=5).status_code == 201
    other = {
        **DOMAIN,
        "metadata": {"name": "other-org"},
        "spec": {**DOMAIN["spec"], "domain": "other.org"},
    }
    cluster.create("maildomains", other)
    refused = until(
        cluster,
        f"{CR}/maildomains/other-org",
        "SecretInvalid",
        lambda d: condition(d, "DKIMReady").get("reason") == "SecretInvalid",
    )
    assert condition(refused, "Ready")["status"] == "False"
    assert cluster.get(f"/api/v1/namespaces/{NS}/secrets/other-org-dkim")["data"] == foreign["data"]


VERBS = {"FETCH": "get", "LIST": "list", "WATCH": "watch", "CREATE": "create", "DELETE": "delete"}


def _operator_calls(cluster: Cluster) -> set[tuple[str, str, str, str]]:
    """(namespace or "", API group, resource[/subresource], verb) of every API call kopf or
    the handlers made."""
    calls = set()
    for request in list(cluster.emulator):
        agent = request.headers.get("User-Agent", "")
        if not agent.startswith(("kopf/", "facteur-operator")):
            continue  # the test's own calls
        if request.resource is None or request.resource.plural is None:
            continue  # discovery (/api, /apis/GROUP/VERSION): allowed to every account
        action = request.action.name
        verb = VERBS.get(action) or (
            "patch" if str(request.method).upper().endswith("PATCH") else "update"
        )
        resource = request.resource.plural + (
            f"/{request.subresource}" if request.subresource else ""
        )
        calls.add((request.namespace or "", request.resource.group or "", resource, verb))
    return calls


def _granted() -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str, str]]]:
    """The ClusterRole's grants (any namespace) and the Roles' (their namespace only)."""
    docs = list(yaml.safe_load_all((crds.ROOT / "operator" / "deploy" / "rbac.yaml").read_text()))

    def grants(role: dict) -> set[tuple[str, str, str]]:
        return {
            (group, resource, verb)
            for rule in role["rules"]
            for group in rule["apiGroups"]
            for resource in rule["resources"]
            for verb in rule["verbs"]
        }

    (cluster_role,) = [d for d in docs if d["kind"] == "ClusterRole"]
    roles = {
        (d["metadata"]["namespace"], *grant)
        for d in docs
        if d["kind"] == "Role"
        for grant in grants(d)
    }
    return grants(cluster_role), roles


SECRET = f"/api/v1/namespaces/{NS}/secrets/example-org-dkim"


def age_secret(cluster: Cluster, field: str, days: int) -> None:
    """Time passing for the rotation: a timestamp in the DKIM Secret moved ``days`` back."""
    when = datetime.now(UTC) - timedelta(days=days)
    response = requests.patch(
        f"{cluster.url}{SECRET}",
        json={"data": {field: base64.b64encode(when.isoformat().encode()).decode()}},
        headers={"Content-Type": "application/merge-patch+json"},
        timeout=5,
    )
    assert response.status_code == 200, response.text


def dkim_names(domain: dict) -> set[str]:
    return {r["name"] for r in domain["status"]["dnsRecords"] if "_domainkey" in r["name"]}


def test_dkim_key_rotation(cluster: Cluster) -> None:
    cluster.create("maildomains", DOMAIN)
    first = ready(cluster, "maildomains", "example-org")["status"]["dkim"]["activeSelector"]
    second = f"{first}-2"  # the same month
    path = f"{CR}/maildomains/example-org"
    # Two days before the key is due: the next key is made and published, not used yet.
    age_secret(cluster, "created", days=179)
    domain = until(cluster, path, "a next key", lambda d: "nextSelector" in d["status"]["dkim"])
    assert domain["status"]["dkim"]["nextSelector"] == second
    assert dkim_names(domain) == {
        f"{first}._domainkey.example.org.",
        f"{second}._domainkey.example.org.",
    }
    assert DkimKey.objects.get(domain__name="example.org", is_active=True).selector == first
    # Two days later: the next key signs; the old record stays published.
    age_secret(cluster, "next.created", days=3)
    domain = until(
        cluster, path, "the switch", lambda d: d["status"]["dkim"]["activeSelector"] == second
    )
    assert "nextSelector" not in domain["status"]["dkim"]
    assert dkim_names(domain) == {
        f"{first}._domainkey.example.org.",
        f"{second}._domainkey.example.org.",
    }
    assert DkimKey.objects.get(domain__name="example.org", is_active=True).selector == second
    # Two days later again: the old key and its record go.
    age_secret(cluster, "switched", days=3)
    domain = until(cluster, path, "the old record gone", lambda d: len(dkim_names(d)) == 1)
    assert dkim_names(domain) == {f"{second}._domainkey.example.org."}
    assert not any(k.startswith("previous.") for k in cluster.get(SECRET)["data"])
    assert condition(domain, "Ready")["status"] == "True"
    rotated = [e["message"] for e in events_of(cluster, "example-org")
               if e["reason"] == "DKIMKeyRotated"]  # fmt: skip
    assert rotated == [
        f"next key {second} made and published; it signs after the overlap",
        f"key {second} signs now; {first} stays published for mail in flight",
        f"old key {first} retired: remove its DNS record",
    ]


def test_the_rbac_manifest_allows_every_call_and_no_more(cluster: Cluster) -> None:
    # A whole life: an upgrade from the MTA Deployments of earlier versions, creation, an
    # invalid spec, updates (DNSEndpoint patched), deletion.
    create_legacy_deployment(cluster, "in")
    cluster.create("maildomains", DOMAIN)
    ready(cluster, "maildomains", "example-org")
    wait_for(
        "the old Deployment gone", lambda: cluster.get(f"{DEPLOYMENTS}/facteur-mta-in") is None
    )
    cluster.create("mailboxes", mailbox_body("contact", "contact", aliases=["hello"]))
    ready(cluster, "mailboxes", "contact")
    # A Mailbox of a MailDomain its watch has not shown: looked up (get), not there.
    cluster.create("mailboxes", mailbox_body("stray", "stray", domainRef={"name": "nowhere"}))
    until(
        cluster,
        f"{CR}/mailboxes/stray",
        "DomainNotFound",
        lambda m: condition(m, "BackendSynced").get("reason") == "DomainNotFound",
    )
    cluster.delete("mailboxes", "stray")
    # A second domain: the MTA's ConfigMaps and StatefulSets are patched; a Service changed
    # by hand is put back.
    cluster.create("maildomains", other_domain("example-net", "example.net"))
    wait_for("example.net in MTA-in", lambda: "example.net" in mta_config(cluster, "in"))
    cluster_patch(cluster, f"{MTA}/services/facteur-mta-in", {"spec": {"type": "ClusterIP"}})
    until(
        cluster,
        f"{MTA}/services/facteur-mta-in",
        "the Service put back",
        lambda s: s["spec"]["type"] == "LoadBalancer",
    )
    age_secret(cluster, "created", days=179)  # a rotation begins: the Secret is patched
    until(
        cluster,
        f"{CR}/maildomains/example-org",
        "a next key",
        lambda d: "nextSelector" in d["status"]["dkim"],
    )
    cluster.patch("maildomains", "example-org", {"spec": {"dmarc": {"pct": 500}}})
    until(
        cluster,
        f"{CR}/maildomains/example-org",
        "InvalidSpec",
        lambda d: condition(d, "Ready").get("reason") == "InvalidSpec",
    )
    cluster.patch("maildomains", "example-org", {"spec": {"dmarc": {"pct": 50}}})
    until(
        cluster,
        f"{CR}/maildomains/example-org",
        "pct=50",
        lambda d: any("pct=50" in r["value"] for r in d["status"].get("dnsRecords", [])),
    )
    cluster.delete("mailboxes", "contact")
    cluster.delete("maildomains", "example-org")
    cluster.delete("maildomains", "example-net")
    wait_for("the domain to go", lambda: cluster.get(f"{CR}/maildomains/example-org") is None)
    calls, (cluster_wide, namespaced) = _operator_calls(cluster), _granted()
    refused = {c for c in calls if c[1:] not in cluster_wide and c not in namespaced}
    assert refused == set()
    # Least privilege: every permission is used.
    used = {c[1:] for c in calls}
    unused = (cluster_wide - used) | (namespaced - calls)
    assert unused == set()


# --- Postfix: the MTA objects ------------------------------------------------------------

MTA = "/api/v1/namespaces/facteur"
DEPLOYMENTS = "/apis/apps/v1/namespaces/facteur/deployments"
STATEFULSETS = "/apis/apps/v1/namespaces/facteur/statefulsets"
MTA_LABELS = {"app.kubernetes.io/name": "facteur-mta", "app.kubernetes.io/component": "in"}


def create_legacy_deployment(cluster: Cluster, role: str, *, managed: bool = True) -> None:
    """A Deployment of the MTA as versions before the StatefulSets made it."""
    labels = {**MTA_LABELS, "app.kubernetes.io/component": role}
    owned = {"app.kubernetes.io/managed-by": "facteur-operator"} if managed else {}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"facteur-mta-{role}", "labels": {**labels, **owned}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": []}},
        },
    }
    response = requests.post(f"{cluster.url}{DEPLOYMENTS}", json=body, timeout=5)
    assert response.status_code == 201, response.text


def other_domain(name: str, domain: str) -> dict:
    return {**DOMAIN, "metadata": {"name": name}, "spec": {"domain": domain}}


def cluster_patch(cluster: Cluster, path: str, body: dict) -> None:
    response = requests.patch(
        f"{cluster.url}{path}",
        json=body,
        headers={"Content-Type": "application/merge-patch+json"},
        timeout=5,
    )
    assert response.status_code == 200, response.text


def mta_config(cluster: Cluster, role: str) -> str:
    found = cluster.get(f"{MTA}/configmaps/facteur-mta-{role}")
    return (found or {}).get("data", {}).get("main.cf", "")


def relay_domains(cluster: Cluster) -> str:
    for line in mta_config(cluster, "in").splitlines():
        if line.startswith("relay_domains = "):
            return line.split(" = ", 1)[1]
    return ""


def checksum(cluster: Cluster, role: str) -> str:
    found = cluster.get(f"{STATEFULSETS}/facteur-mta-{role}") or {}
    template = found.get("spec", {}).get("template", {}).get("metadata", {})
    return template.get("annotations", {}).get("mail.facteur.dev/config-checksum", "")


def test_postfix_follows_the_domain_set(cluster: Cluster) -> None:
    cluster.create("maildomains", DOMAIN)
    domain = ready(cluster, "maildomains", "example-org")
    assert condition(domain, "MTAReady")["reason"] == "Available"
    assert relay_domains(cluster) == "example.org"
    assert "example.org=lmtp:inet:facteur-delivery:2424" in mta_config(cluster, "out")
    first = {role: checksum(cluster, role) for role in ("in", "out")}
    assert all(first.values())
    service = cluster.get(f"{MTA}/services/facteur-mta-in")
    assert service["spec"]["ports"][0]["port"] == 25
    # A second domain and an invalid one: the valid ones only, the pods rolled.
    cluster.create("maildomains", other_domain("example-net", "example.net"))
    cluster.create("maildomains", other_domain("bad", "Not A Domain"))
    ready(cluster, "maildomains", "example-net")
    wait_for("both domains", lambda: relay_domains(cluster) == "example.net, example.org")
    assert all(checksum(cluster, role) != first[role] for role in ("in", "out"))
    # The StatefulSet's claim is the spool of each pod; its Service is the governing one.
    sts = cluster.get(f"{STATEFULSETS}/facteur-mta-in")
    assert sts["spec"]["serviceName"] == "facteur-mta-in"
    assert [c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]] == ["spool"]
    # MTA-in unavailable (its pods crash): MTAReady and Ready go False, then come back.
    generation = sts["metadata"]["generation"]
    cluster_patch(
        cluster,
        f"{STATEFULSETS}/facteur-mta-in/status",
        {"status": {"availableReplicas": 1, "observedGeneration": generation}},
    )
    down = ready(cluster, "maildomains", "example-org", status="False")
    assert condition(down, "MTAReady")["reason"] == "MTAUnavailable"
    assert "facteur-mta-in: 1/2 replicas available" in condition(down, "MTAReady")["message"]
    assert condition(down, "Ready")["reason"] == "MTAUnavailable"
    cluster_patch(
        cluster, f"{STATEFULSETS}/facteur-mta-in/status", {"status": {"availableReplicas": 2}}
    )
    ready(cluster, "maildomains", "example-org")
    # A roll under way (a pod still on the old revision): not ready until it ends.
    cluster_patch(
        cluster, f"{STATEFULSETS}/facteur-mta-in/status", {"status": {"currentRevision": "old"}}
    )
    rolling = ready(cluster, "maildomains", "example-org", status="False")
    assert "facteur-mta-in: rolling out revision" in condition(rolling, "MTAReady")["message"]
    revision = sts["status"]["updateRevision"]
    cluster_patch(
        cluster, f"{STATEFULSETS}/facteur-mta-in/status", {"status": {"currentRevision": revision}}
    )
    ready(cluster, "maildomains", "example-org")
    # A deleted domain leaves the configuration.
    cluster.delete("maildomains", "example-net")
    wait_for("example.net gone", lambda: relay_domains(cluster) == "example.org")


BURST = 6  # the emulator slows down with every request it keeps: a small burst


@pytest.mark.parametrize(
    "operator_env", [{"FACTEUR_OPERATOR_MTA_DEBOUNCE_SECONDS": "5"}], indirect=True
)
def test_a_burst_of_domains_is_one_rendering_and_steady_state_writes_nothing(
    cluster: Cluster,
) -> None:
    cluster.create("maildomains", DOMAIN)
    ready(cluster, "maildomains", "example-org")
    before = len(cluster.writes())
    for n in range(BURST):
        cluster.create("maildomains", other_domain(f"d{n}", f"d{n}.example.net"))
    for n in range(BURST):
        ready(cluster, "maildomains", f"d{n}")
    wait_for("every domain", lambda: relay_domains(cluster).count(",") == BURST)
    config_writes = [w for w in cluster.writes()[before:] if "/configmaps/facteur-mta-in" in w]
    # At most one rendering per 5 s: the burst is one rendering, or two when its first
    # domain came after a quiet spell (rendered at once), however many events it made.
    assert 1 <= len(config_writes) <= 2, config_writes
    time.sleep(RESYNC)
    settled = len(cluster.writes())
    time.sleep(RESYNC * 3)
    assert cluster.writes()[settled:] == []


@pytest.mark.parametrize("operator_env", [{"FACTEUR_OPERATOR_MTA_MANAGED": "false"}], indirect=True)
def test_mta_not_managed(cluster: Cluster) -> None:
    cluster.create("maildomains", DOMAIN)
    domain = ready(cluster, "maildomains", "example-org")
    assert condition(domain, "MTAReady")["status"] == "Unknown"
    assert condition(domain, "MTAReady")["reason"] == "NotManaged"
    assert cluster.get(f"{STATEFULSETS}/facteur-mta-in") is None
    assert cluster.get(f"{MTA}/configmaps/facteur-mta-in") is None


def test_the_deployments_of_earlier_versions_give_way_to_the_statefulsets(
    cluster: Cluster,
) -> None:
    create_legacy_deployment(cluster, "in")
    create_legacy_deployment(cluster, "out", managed=False)  # someone else's: left alone
    cluster.create("maildomains", DOMAIN)
    ready(cluster, "maildomains", "example-org")
    wait_for(
        "MTA-in's Deployment gone", lambda: cluster.get(f"{DEPLOYMENTS}/facteur-mta-in") is None
    )
    assert cluster.get(f"{STATEFULSETS}/facteur-mta-in")["status"]["readyReplicas"] == 2
    migrated = wait_for(
        "the MTAMigrated Event",
        lambda: [
            e
            for e in (cluster.get(f"{MTA}/events") or {}).get("items", [])
            if e["reason"] == "MTAMigrated"
        ],
    )
    assert [(e["involvedObject"]["kind"], e["involvedObject"]["name"]) for e in migrated] == [
        ("StatefulSet", "facteur-mta-in")
    ]
    assert "Deployment facteur-mta-in of an earlier version deleted" in migrated[0]["message"]
    time.sleep(RESYNC * 2)
    assert cluster.get(f"{DEPLOYMENTS}/facteur-mta-out") is not None
    deletes = [
        w.split()[1]
        for w in cluster.writes()
        if w.split()[0].upper().endswith("DELETE") and "/deployments/" in w
    ]
    assert deletes == [f"{DEPLOYMENTS}/facteur-mta-in"]


def test_a_spool_claim_change_is_reported_and_the_rest_still_applied(cluster: Cluster) -> None:
    # A StatefulSet made with a 5Gi spool; the settings say 1Gi (the default).
    labels = MTA_LABELS
    claim = {
        "metadata": {"name": "spool"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}},
    }
    body = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "facteur-mta-in", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "serviceName": "facteur-mta-in",
            "podManagementPolicy": "Parallel",
            "template": {"metadata": {"labels": labels}, "spec": {"containers": []}},
            "volumeClaimTemplates": [claim],
        },
    }
    response = requests.post(f"{cluster.url}{STATEFULSETS}", json=body, timeout=5)
    assert response.status_code == 201, response.text
    # As the apiserver, the emulator refuses a change of the claim template.
    refused = requests.patch(
        f"{cluster.url}{STATEFULSETS}/facteur-mta-in",
        json={"spec": {"volumeClaimTemplates": []}},
        headers={"Content-Type": "application/merge-patch+json"},
        timeout=5,
    )
    assert refused.status_code == 422, refused.text
    cluster.create("maildomains", DOMAIN)
    domain = ready(cluster, "maildomains", "example-org")
    message = condition(domain, "MTAReady")["message"]
    assert "spool claim is 5Gi of class (default), the settings want 1Gi" in message
    assert "--cascade=orphan" in message
    sts = cluster.get(f"{STATEFULSETS}/facteur-mta-in")
    assert sts["spec"]["volumeClaimTemplates"] == [claim]  # left as it is
    assert checksum(cluster, "in")  # the pod template is the operator's all the same
    assert sts["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "facteur-operator"


# --- live DNS verification ---------------------------------------------------------------


@pytest.mark.parametrize(
    "operator_env",
    [
        {
            "DNS_ZONE": "1",
            "FACTEUR_OPERATOR_DNS_VERIFY": "true",
            "FACTEUR_OPERATOR_DNS_VERIFY_RETRY_SECONDS": "0.3",
            "FACTEUR_OPERATOR_DNS_VERIFY_TIMEOUT": "1",
        }
    ],
    indirect=True,
)
def test_dns_verified_says_what_differs_then_matches(
    cluster: Cluster, dns_server: DnsServer
) -> None:
    path = f"{CR}/maildomains/example-org"
    cluster.create("maildomains", DOMAIN)
    domain = until(
        cluster,
        path,
        "DNSVerified",
        lambda d: condition(d, "DNSVerified").get("status") and d["status"].get("dnsRecords"),
    )
    # Nothing is published yet: every record missing, and Ready does not wait for DNS.
    verified = condition(domain, "DNSVerified")
    assert (verified["status"], verified["reason"]) == ("False", "RecordsDiffer")
    assert "MX example.org.: missing" in verified["message"]
    assert "TXT _dmarc.example.org.: missing" in verified["message"]
    assert condition(ready(cluster, "maildomains", "example-org"), "Ready")["status"] == "True"
    # The zone published, but for the DMARC policy: only that is named.
    records = domain["status"]["dnsRecords"]
    dmarc = next(r for r in records if r["name"].startswith("_dmarc"))
    publish(dns_server.zone, [r for r in records if r is not dmarc])
    publish(dns_server.zone, [{**dmarc, "value": "v=DMARC1; p=none"}])
    differs = until(
        cluster,
        path,
        "only DMARC differs",
        lambda d: "MX" not in condition(d, "DNSVerified")["message"],
    )
    assert condition(differs, "DNSVerified")["message"] == (
        f'TXT _dmarc.example.org.: found "v=DMARC1; p=none", expected "{dmarc["value"]}"'
    )
    dns_server.zone.records[("_dmarc.example.org", "TXT")] = [f'"{dmarc["value"]}"']
    matched = until(
        cluster,
        path,
        "DNSVerified=True",
        lambda d: condition(d, "DNSVerified")["status"] == "True",
    )
    assert condition(matched, "DNSVerified")["reason"] == "RecordsMatch"
    assert condition(matched, "Ready")["status"] == "True"
