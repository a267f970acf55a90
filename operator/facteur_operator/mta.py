"""The MTA loop: one reconcile of the Postfix objects per change of the domain set.

MailDomain handlers only tell the loop what they saw (``observe``); when that changes the
set it knows, the loop wakes and, at most once per ``debounce_seconds`` (a start or a bulk
apply brings hundreds of changes), lists the MailDomains once, renders the objects for the domains
that are valid and not being deleted, and writes only the objects that differ. It reads the
StatefulSets' status often while they are not available, else at each resync, and gives each
MailDomain whose MTAReady changed its new condition. At steady state: two GETs per object
kind per resync, no write.

A StatefulSet's claim template (the spool's size and StorageClass) cannot be updated: a
change of those settings is reported in MTAReady's message and the log, never patched.
Earlier versions ran the MTAs as Deployments (the queue in an emptyDir): once a role's
StatefulSet is ready, that role's Deployment made by the operator is deleted (Event
``MTAMigrated``), its pods having served mail until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from facteur_operator import conditions, events, mta_objects, specs
from facteur_operator.conditions import Condition
from facteur_operator.kube import Kube, KubeError, object_path
from facteur_operator.mta_settings import MtaSettings
from facteur_operator.reconcile import ready_message

log = logging.getLogger(__name__)
API_VERSION = "mail.facteur.dev/v1alpha1"
PARTS = ("DKIMReady", "DNSReady", "BackendSynced")
STATEFULSETS, DEPLOYMENTS = "statefulsets", "deployments"
NOT_READY_POLL_SECONDS = 2.0


def domain_of(body: dict) -> str | None:
    """The domain a MailDomain brings to the MTA: None when invalid or being deleted."""
    if (body.get("metadata") or {}).get("deletionTimestamp"):
        return None
    try:
        return specs.domain_spec(dict(body.get("spec") or {})).domain
    except specs.InvalidSpec:
        return None


def with_mta(status: dict, mta: Condition, domain: str, now: datetime) -> list[dict] | None:
    """A MailDomain's conditions with ``mta`` as MTAReady and Ready recomputed; None when
    its handler has not reconciled it yet or Ready is about something else (invalid spec,
    deletion refused): the handler's next reconcile sets MTAReady then."""
    current = status.get("conditions") or []
    by_type = {c.get("type"): c for c in current}
    ready = by_type.get("Ready") or {}
    if any(p not in by_type for p in PARTS) or ready.get("reason") in (
        "InvalidSpec",
        "MailboxesRemain",
    ):
        return None
    parts = [
        Condition(t, c["status"], c.get("reason", ""), c.get("message", ""))
        for t, c in ((t, by_type[t]) for t in PARTS)
    ]
    new_ready = conditions.ready([*parts, mta], ready_message=ready_message(domain))
    generation = ready.get("observedGeneration")
    merged = conditions.merge(current, [new_ready, mta], generation=generation, now=now)
    # merge() puts the wanted ones first: keep the order the handler writes.
    order = {c.get("type"): i for i, c in enumerate(current)}
    merged.sort(key=lambda c: order.get(c["type"], len(order)))
    return merged


class MtaLoop:
    def __init__(
        self,
        settings: MtaSettings,
        kube: Callable[[], Kube | None],
        *,
        namespaces: list[str],
        resync_seconds: float,
        on_status_write: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings, self._kube, self.namespaces = settings, kube, namespaces
        self.resync_seconds = resync_seconds
        self.on_status_write = on_status_write
        self.known: dict[tuple[str, str], str | None] = {}
        self.deployed: frozenset[str] = frozenset()
        self.ready: dict[str, tuple[bool, str]] = {}
        self.problem = ""
        self.drift: dict[str, str] = {}  # StatefulSet -> what cannot be changed in place
        self.migrated: set[str] = set()  # roles known to have no Deployment left
        self.reconciles = 0  # how many times the objects were computed (tests, bench)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    # --- what the handlers call -------------------------------------------------------
    def observe(self, namespace: str, name: str, domain: str | None) -> None:
        if self.known.get((namespace, name)) != domain:
            self.known[(namespace, name)] = domain
            self._wake.set()

    def condition(self, domain: str) -> Condition:
        if not self.settings.managed:
            return mta_objects.NOT_MANAGED
        ready = {
            name: (ok, f"{message}; {self.drift[name]}" if self.drift.get(name) else message)
            for name, (ok, message) in self.ready.items()
        }
        return mta_objects.condition(
            domain, deployed=self.deployed, ready=ready, problem=self.problem
        )

    # --- the loop -----------------------------------------------------------------------
    def start(self) -> None:
        if self.settings.managed and self._task is None:
            self._task = asyncio.create_task(self._run(), name="facteur-mta")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last = -float("inf")
        while True:
            ready = self.ready and all(ok for ok, _ in self.ready.values())
            wait = self.resync_seconds if ready and not self.problem else NOT_READY_POLL_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            if self._wake.is_set():
                # A change after a quiet spell is rendered at once (a new domain is served
                # without delay); a burst gathers into one rendering per debounce period.
                await asyncio.sleep(max(0.0, last + self.settings.debounce_seconds - loop.time()))
                self._wake.clear()
                last = loop.time()
            try:
                await self.reconcile()
            except (KubeError, OSError, TimeoutError) as exc:
                log.warning("MTA objects not reconciled, retried: %s", exc)
            except Exception:  # never let the loop die: the next round tries again
                log.exception("MTA loop failed, retried")

    async def _maildomains(self, kube: Kube) -> list[dict]:
        if not self.namespaces:
            return await kube.list(f"/apis/{API_VERSION}/maildomains")
        found: list[dict] = []
        for namespace in self.namespaces:
            found += await kube.list(object_path(API_VERSION, "maildomains", namespace))
        return found

    async def reconcile(self) -> None:
        kube = self._kube()
        if kube is None:
            return
        items = await self._maildomains(kube)
        self.known = {
            (i["metadata"].get("namespace", ""), i["metadata"]["name"]): domain_of(i) for i in items
        }
        domains = sorted({d for d in self.known.values() if d})
        try:
            objects = mta_objects.desired(self.settings, domains)
            self.problem = ""
        except mta_objects.NotConfigured as exc:
            # Nothing rendered, nothing changed: Postfix keeps its last configuration.
            objects, self.problem = [], str(exc)
        if objects:
            self.reconciles += 1
            for obj in objects:
                await self._apply(kube, obj)
            self.deployed = frozenset(domains)
        ns = self.settings.namespace
        ready, found_sts = {}, {}  # whole before it is seen: handlers read it between awaits
        for role in mta_objects.ROLES:
            found = await kube.get(object_path("apps/v1", STATEFULSETS, ns, role.object_name))
            found_sts[role.name] = found or {}
            ready[role.object_name] = mta_objects.statefulset_readiness(role.object_name, found)
        self.ready = ready
        for role in mta_objects.ROLES:
            if ready[role.object_name][0] and role.name not in self.migrated:
                await self._retire_deployment(kube, role, found_sts[role.name])
        await self._update_conditions(kube, items)

    async def _apply(self, kube: Kube, obj: dict) -> None:
        api_version, meta = obj["apiVersion"], obj["metadata"]
        plural = obj["kind"].lower() + "s"
        path = object_path(api_version, plural, meta["namespace"], meta["name"])
        current = await kube.get(path)
        if current is None:
            await kube.create(object_path(api_version, plural, meta["namespace"]), obj)
            log.info("created %s %s", obj["kind"], meta["name"])
        elif plural == STATEFULSETS:
            await self._apply_statefulset(kube, path, current, obj)
        elif not mta_objects.contains(current, obj):
            patch = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
            patch["metadata"] = {"labels": meta["labels"]}
            await kube.merge_patch(path, patch)
            log.info("updated %s %s", obj["kind"], meta["name"])

    async def _apply_statefulset(self, kube: Kube, path: str, current: dict, obj: dict) -> None:
        """Patches what may change; what may not (the claim template) is reported, once."""
        name = obj["metadata"]["name"]
        drift = mta_objects.immutable_drift(current, obj)
        if drift != self.drift.get(name, ""):
            if drift:
                log.warning("%s", drift)
            self.drift[name] = drift
        if not mta_objects.mutable_part(current, obj):
            spec = {k: v for k, v in obj["spec"].items() if k in mta_objects.MUTABLE_SPEC}
            patch = {"metadata": {"labels": obj["metadata"]["labels"]}, "spec": spec}
            await kube.merge_patch(path, patch)
            log.info("updated StatefulSet %s", name)

    async def _retire_deployment(self, kube: Kube, role: mta_objects.Role, sts: dict) -> None:
        """Deletes the Deployment an earlier version ran this role as, once the
        StatefulSet is ready to take its mail. Only the operator's own (by its label)."""
        path = object_path("apps/v1", DEPLOYMENTS, self.settings.namespace, role.object_name)
        found = await kube.get(path)
        labels = ((found or {}).get("metadata") or {}).get("labels") or {}
        if found is not None and all(labels.get(k) == v for k, v in mta_objects.MANAGED_BY.items()):
            await kube.delete(path)
            message = (
                f"Deployment {role.object_name} of an earlier version deleted: StatefulSet "
                f"{role.object_name} is ready and keeps each pod's queue on a volume"
            )
            log.info("%s", message)
            events.post(sts, "MTAMigrated", message)
        elif found is not None:
            log.warning(
                "Deployment %s is not the operator's (no %s label): left alone",
                role.object_name,
                "app.kubernetes.io/managed-by=facteur-operator",
            )
        self.migrated.add(role.name)

    async def _update_conditions(self, kube: Kube, items: list[dict]) -> None:
        now = datetime.now(UTC)
        for item in items:
            domain = domain_of(item)
            status = item.get("status") or {}
            if domain is None:
                continue
            wanted = self.condition(domain)
            merged = with_mta(status, wanted, domain, now)
            if merged is None or merged == status.get("conditions"):
                continue
            meta = item["metadata"]
            path = object_path(API_VERSION, "maildomains", meta["namespace"], meta["name"])
            try:
                await kube.merge_patch(f"{path}/status", {"status": {"conditions": merged}})
                self.on_status_write()
            except KubeError as exc:
                if exc.status != 404:  # deleted meanwhile: nothing to say
                    raise
