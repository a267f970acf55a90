"""kopf handlers: MailDomain and Mailbox reconciled on create, update, resume and a periodic
resync (``resync``: one loop per kind, not a kopf timer per object); deletion behind a
finalizer, by the resource's deletionPolicy.

Each reconcile gathers facts (the DKIM Secret, the backend's answer), computes the status
with the pure functions of ``reconcile`` and writes only what differs: at steady state it
writes nothing. Invalid specs are permanent errors with a condition saying why; an
unreachable backend is a temporary one (retried with backoff, condition False meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import kopf
from prometheus_client import start_http_server

from facteur_operator import (
    conditions,
    dkim,
    dns,
    events,
    metrics,
    persistence,
    reconcile,
    resync,
    rotation,
    specs,
)
from facteur_operator.backend import BATCH_MAX, Backend, BackendError
from facteur_operator.batching import Batcher
from facteur_operator.conditions import FALSE, Condition
from facteur_operator.dns_verify import Verifier
from facteur_operator.kube import Kube, KubeError, object_path, resource_path
from facteur_operator.mta import MtaLoop
from facteur_operator.settings import Settings

GROUP, VERSION = "mail.facteur.dev", "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
DNS_ENDPOINT_VERSION, DNS_ENDPOINT_PLURAL = "externaldns.k8s.io/v1alpha1", "dnsendpoints"
RETRY_SECONDS = 10


def _keygen_yields() -> None:
    """A key generating thread runs niced (10; on Linux a thread has its own priority): in
    a burst of new domains the keys (30 ms of CPU each) took a core from the reconciles of
    everything else, which then finished alone on one core; niced, they fill the gaps."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not allowed
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


# New RSA keys are made off the event loop, two at a time (they release the GIL).
KEYGEN = ThreadPoolExecutor(
    max_workers=2, thread_name_prefix="dkim-keygen", initializer=_keygen_yields
)
# A Mailbox made with its MailDomain waits this long for the domain to reach the backend,
# rather than fail there (404) and be retried 10 s later through kopf's retry writes.
DOMAIN_WAIT_SECONDS = 5.0


@dataclass
class Runtime:
    settings: Settings
    kube: Kube | None = None
    backend: Backend | None = None
    metrics_server: Any = None
    mta: MtaLoop | None = None
    verifier: Verifier | None = None
    resyncs: list[asyncio.Task] = field(default_factory=list)
    # (namespace, MailDomain name) -> set once this process synced it to the backend.
    domains_synced: dict[tuple[str, str], asyncio.Event] = field(default_factory=dict)
    # (namespace, MailDomain name) -> its spec.domain and whether its BackendSynced is True,
    # as last seen in the watch: a Mailbox's reconcile reads it there, not by a GET.
    domains_seen: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)
    # Backend calls in flight: thousands of objects at once would queue in its few workers'
    # backlog and time out there (then be retried: more load); they wait here instead.
    backend_slots: asyncio.Semaphore | None = None
    # Mailbox upserts made at the same moment go to the backend together (batching.py).
    mailbox_puts: Batcher | None = None


RUNTIME = Runtime(Settings.from_env())
REFUSED_DELETIONS: dict[str, str] = {}  # MailDomain uid -> the Mailboxes last named


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    RUNTIME.settings = Settings.from_env()
    RUNTIME.backend = Backend(RUNTIME.settings.backend_url, RUNTIME.settings.service_token)
    RUNTIME.domains_synced.clear()  # events of a previous run's loop
    RUNTIME.domains_seen.clear()
    RUNTIME.backend_slots = asyncio.Semaphore(RUNTIME.settings.backend_concurrency)
    RUNTIME.mailbox_puts = Batcher(
        RUNTIME.backend.put_mailboxes, size=BATCH_MAX, slots=RUNTIME.backend_slots
    )
    RUNTIME.mta = MtaLoop(
        RUNTIME.settings.mta,
        lambda: RUNTIME.kube,
        namespaces=list(RUNTIME.settings.namespaces),
        resync_seconds=RUNTIME.settings.resync_seconds,
        on_status_write=metrics.STATUS_WRITES.labels("MailDomain").inc,
    )
    RUNTIME.mta.start()
    RUNTIME.verifier = Verifier(RUNTIME.settings.dns_verify, write=_write_dns_verified)
    RUNTIME.verifier.start()
    events.POSTER = events.Poster(lambda: RUNTIME.kube)
    events.POSTER.start()
    persistence.configure(settings)
    settings.posting.level = logging.WARNING  # Events for problems, not every success
    # A burst of new objects (a GitOps sync of thousands) would otherwise start one kopf
    # worker per object at once, each holding its body and handler stack while it waits for
    # the backend: the memory grew with the backlog. Queued, an object costs its raw events;
    # a worker that went idle gives its place back after a second, not kopf's five.
    settings.queueing.worker_limit = RUNTIME.settings.workers
    settings.queueing.idle_timeout = 1.0
    if RUNTIME.settings.metrics_port and RUNTIME.metrics_server is None:
        RUNTIME.metrics_server, _thread = start_http_server(
            RUNTIME.settings.metrics_port, addr=RUNTIME.settings.metrics_addr
        )
    namespaces = RUNTIME.settings.namespaces or (None,)
    for kind, plural, handler in (
        ("MailDomain", "maildomains", maildomain_changed),
        ("Mailbox", "mailboxes", mailbox_changed),
    ):
        loop = resync.resync_forever(
            kube=_kube,
            paths=[resource_path(API_VERSION, plural, ns) for ns in namespaces],
            kind=kind,
            reconcile=handler,
            period=RUNTIME.settings.resync_seconds,
            handled=persistence.handled,
        )
        RUNTIME.resyncs.append(asyncio.create_task(loop, name=f"resync {plural}"))


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    server = RUNTIME.settings.kube_server
    if server:
        info = kopf.ConnectionInfo(server=server, insecure=server.startswith("http://"))
    else:
        info = kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
    if info is not None:
        RUNTIME.kube = Kube(info)
    return info


@kopf.on.cleanup()
async def close(**_: Any) -> None:
    for task in RUNTIME.resyncs:
        task.cancel()
    await asyncio.gather(*RUNTIME.resyncs, return_exceptions=True)
    RUNTIME.resyncs.clear()
    if RUNTIME.mta is not None:
        await RUNTIME.mta.stop()
    if RUNTIME.verifier is not None:
        await RUNTIME.verifier.stop()
    if events.POSTER is not None:
        await events.POSTER.stop()
        events.POSTER = None
    if RUNTIME.mailbox_puts is not None:
        await RUNTIME.mailbox_puts.close()
    if RUNTIME.backend is not None:
        await RUNTIME.backend.close()
    if RUNTIME.kube is not None:
        await RUNTIME.kube.close()
    if RUNTIME.metrics_server is not None:
        RUNTIME.metrics_server.shutdown()
        RUNTIME.metrics_server.server_close()
        RUNTIME.metrics_server = None


def _now() -> datetime:
    return datetime.now(UTC)


def _kube() -> Kube:
    if RUNTIME.kube is None:
        raise kopf.TemporaryError("not logged in to the Kubernetes API yet", delay=1)
    return RUNTIME.kube


def _mta() -> MtaLoop:
    if RUNTIME.mta is None:
        raise kopf.TemporaryError("the operator is starting", delay=1)
    return RUNTIME.mta


def _mailbox_puts() -> Batcher:
    if RUNTIME.mailbox_puts is None:
        raise kopf.TemporaryError("the operator is starting", delay=1)
    return RUNTIME.mailbox_puts


def _backend() -> Backend:
    if RUNTIME.backend is None:
        raise kopf.TemporaryError("the operator is starting", delay=1)
    return RUNTIME.backend


@contextlib.asynccontextmanager
async def _backend_turn() -> AsyncIterator[Backend]:
    """The backend, once one of its ``backend_concurrency`` slots is free."""
    backend = _backend()
    if RUNTIME.backend_slots is None:
        yield backend
        return
    async with RUNTIME.backend_slots:
        yield backend


async def _write_status(
    path: str, current: dict, desired: dict, patch: kopf.Patch | None = None
) -> bool:
    """Whether anything was written. Given kopf's ``patch`` (in a handler), the status
    leaves with kopf's own bookkeeping (persistence.py) in one request once the handler
    returns, even when it raises; otherwise (the resync) it is written now."""
    changes = reconcile.status_patch(current, desired)
    if changes and patch is not None:
        for key, value in changes.items():
            patch.status[key] = value
    elif changes:
        await _kube().merge_patch(f"{path}/status", {"status": changes})
    if changes:
        metrics.STATUS_WRITES.labels("Mailbox" if "/mailboxes/" in path else "MailDomain").inc()
    return bool(changes)


async def _write_dns_verified(key: tuple[str, str], cond: Condition) -> None:
    """DNSVerified on the MailDomain as it is now, when it says something new."""
    namespace, name = key
    path = object_path(API_VERSION, "maildomains", namespace, name)
    found = await _kube().get(path)
    if found is None or (found.get("metadata") or {}).get("deletionTimestamp"):
        return
    current = (found.get("status") or {}).get("conditions") or []
    before = next((c for c in current if c.get("type") == cond.type), {})
    if (before.get("status"), before.get("reason"), before.get("message")) == (
        cond.status,
        cond.reason,
        cond.message,
    ):
        return
    generation = (found.get("status") or {}).get("observedGeneration")
    merged = conditions.put(current, cond, generation=generation, now=_now())
    await _kube().merge_patch(f"{path}/status", {"status": {"conditions": merged}})
    metrics.STATUS_WRITES.labels("MailDomain").inc()


def _verify(body: kopf.Body, found: list | None) -> None:
    """Hand the records to the live DNS check (when on); None: nothing to check. Called
    once the status is written, so that the check's condition lands on it."""
    verifier = RUNTIME.verifier
    if verifier is None or not verifier.settings.enabled:
        return
    key = (body.meta.namespace, body.meta.name)
    if found:
        verifier.want(key, [r.as_dict() for r in found])
    else:
        verifier.forget(key)


def _last_verified(body: kopf.Body) -> Condition | None:
    """DNSVerified as last checked: a reconcile writes it as the check did, never an older
    copy from the body it was given."""
    verifier = RUNTIME.verifier
    if verifier is None or not verifier.settings.enabled:
        return None
    target = verifier.targets.get((body.meta.namespace, body.meta.name))
    return target.last if target is not None else None


def _first_reconcile(body: kopf.Body) -> bool:
    """Whether the object was never reconciled (no condition in its status): what it owns
    is then made without asking first - one call fewer each in a burst of new domains. One
    made meanwhile answers 409 and is read then."""
    return not (body.get("status") or {}).get("conditions")


def _owner(body: kopf.Body) -> dict:
    return {
        "apiVersion": body.get("apiVersion", API_VERSION),
        "kind": body.get("kind", "MailDomain"),
        "name": body.meta.name,
        "uid": body.meta.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


# --- MailDomain ---------------------------------------------------------------------


async def _dkim_keys(
    body: kopf.Body, spec: specs.DomainSpec, now: datetime
) -> tuple[rotation.KeySet | None, Condition]:
    """The domain's keys from its Secret (made when missing), rotated when due."""
    name, namespace = body.meta.name, body.meta.namespace
    path = object_path("v1", "secrets", namespace, dkim.secret_name(name))
    published = (body.get("status") or {}).get("dkim", {}).get("activeSelector")
    secret = None if _first_reconcile(body) else await _kube().get(path)
    keys: rotation.KeySet | None = None
    if secret is None:
        # A lost Secret (deleted by hand): the new key must not reuse a published selector.
        taken = {published} if published else frozenset()
        key = await asyncio.get_running_loop().run_in_executor(
            KEYGEN, dkim.new_key, spec, now, taken
        )
        new = dkim.secret_body(
            name=dkim.secret_name(name), namespace=namespace, domain=spec.domain, key=key
        )
        new["metadata"]["ownerReferences"] = [_owner(body)]
        try:
            made = await _kube().create(object_path("v1", "secrets", namespace), new)
            keys = rotation.KeySet(active=key)
            events.post(
                body,
                "DKIMKeyCreated",
                f"{key.algorithm} key {key.selector} in Secret {dkim.secret_name(name)}",
            )
            _remember_keys(made, keys)  # the next reconciles need not parse it back
        except KubeError as exc:
            if exc.status != 409:
                raise
            secret = await _kube().get(path)  # made meanwhile (another reconcile): use it
    if keys is None:
        keys = _keys_in(secret or {})
    if keys is None:
        # Someone else's Secret, or a damaged one: reported, never overwritten.
        return None, Condition(
            "DKIMReady",
            FALSE,
            "SecretInvalid",
            f"Secret {dkim.secret_name(name)} holds no whole, consistent DKIM key",
        )
    planned = rotation.plan(keys, spec, now)
    if planned != keys:
        await _kube().merge_patch(path, {"data": rotation.secret_data_of(planned)})
        events.post(body, "DKIMKeyRotated", _rotation_step(keys, planned))
        keys = planned
    message = f"selector {keys.active.selector}"
    if keys.next is not None:
        switch = keys.next.created + rotation.overlap(spec.dkim_rotation)
        message += f"; next {keys.next.selector} published, signs from {switch:%Y-%m-%d %H:%M} UTC"
    return keys, reconcile.ok("DKIMReady", "KeyReady", message)


def _rotation_step(before: rotation.KeySet, after: rotation.KeySet) -> str:
    if after.active.selector != before.active.selector:
        return (
            f"key {after.active.selector} signs now; {before.active.selector} stays "
            "published for mail in flight"
        )
    if after.next is not None and before.next is None:
        return f"next key {after.next.selector} made and published; it signs after the overlap"
    if before.previous is not None and after.previous is None:
        return f"old key {before.previous.selector} retired: remove its DNS record"
    return "DKIM keys updated"


# What each domain's Secret held when last read: parsing a key checks it (tens of ms for
# RSA), which a resync of every domain would repeat for nothing. Any change to the Secret
# changes its resourceVersion, so an entry is reused only for the very same Secret.
_PARSED: dict[tuple[str, str], tuple[tuple[str, str], rotation.KeySet | None]] = {}


def _version_of(secret: dict) -> tuple[tuple[str, str], tuple[str, str] | None]:
    meta = secret.get("metadata") or {}
    where = (str(meta.get("namespace")), str(meta.get("name")))
    if not meta.get("uid") or not meta.get("resourceVersion"):
        return where, None
    return where, (str(meta["uid"]), str(meta["resourceVersion"]))


def _remember_keys(secret: dict, keys: rotation.KeySet | None) -> None:
    where, version = _version_of(secret)
    if version is not None:
        _PARSED[where] = (version, keys)


def _keys_in(secret: dict) -> rotation.KeySet | None:
    where, version = _version_of(secret)
    cached = _PARSED.get(where)
    if cached is not None and version is not None and cached[0] == version:
        return cached[1]
    keys = rotation.from_secret(secret)
    _remember_keys(secret, keys)
    return keys


async def _publish(body: kopf.Body, spec: specs.DomainSpec, found: list) -> str:
    """The DNSEndpoint for external-dns, when its CRD is installed; what was done."""
    kube = _kube()
    if not await kube.has_resource(DNS_ENDPOINT_VERSION, DNS_ENDPOINT_PLURAL):
        return "publish status.dnsRecords in the domain's zone"
    namespace, name = body.meta.namespace, body.meta.name
    desired = dns.dns_endpoint_body(name=name, namespace=namespace, domain=spec.domain, found=found)
    desired["metadata"]["ownerReferences"] = [_owner(body)]
    path = object_path(DNS_ENDPOINT_VERSION, DNS_ENDPOINT_PLURAL, namespace, name)
    current = None if _first_reconcile(body) else await kube.get(path)
    if current is None:
        try:
            await kube.create(
                object_path(DNS_ENDPOINT_VERSION, DNS_ENDPOINT_PLURAL, namespace), desired
            )
        except KubeError as exc:
            if exc.status != 409:
                raise
            current = await kube.get(path)  # made meanwhile (a resync and a handler)
    if current is not None and current.get("spec") != desired["spec"]:
        await kube.merge_patch(path, {"spec": desired["spec"]})
    return f"published through DNSEndpoint {name}"


async def reconcile_domain(
    body: kopf.Body, logger: logging.Logger, patch: kopf.Patch | None = None
) -> None:
    """Given kopf's ``patch`` (in a handler), the status goes with it (``_write_status``),
    but when the live DNS check is on: its status is written before the check is handed
    the records, so that the check's condition lands on it, not under it."""
    now, current = _now(), dict(body.get("status") or {})
    generation = body.meta.get("generation")
    path = object_path(API_VERSION, "maildomains", body.meta.namespace, body.meta.name)
    try:
        spec = specs.domain_spec(dict(body.get("spec") or {}))
    except specs.InvalidSpec as exc:
        _mta().observe(body.meta.namespace, body.meta.name, None)
        _verify(body, None)
        invalid = Condition("Ready", FALSE, "InvalidSpec", str(exc))
        desired = {
            "conditions": reconcile.merge_conditions(current, [invalid], generation, now),
            **({"observedGeneration": generation} if generation is not None else {}),
        }
        await _write_status(path, current, desired, patch)
        raise kopf.PermanentError(f"invalid MailDomain: {exc}") from None

    _mta().observe(body.meta.namespace, body.meta.name, spec.domain)
    # The domain reaches the backend before its key is made: its Mailboxes wait for it
    # there, and a burst of new domains queues behind the key generation (50 ms of CPU
    # each) - they need not queue with it. Its key follows in a call of its own.
    backend_error: BackendError | None = None
    changed = False
    try:
        async with _backend_turn() as backend:
            changed = bool((await backend.put_domain(spec)).get("changed"))
        _domain_synced(body.meta.namespace, body.meta.name).set()
    except BackendError as exc:
        backend_error = exc
    keys, dkim_cond = await _dkim_keys(body, spec, now)
    key = keys.active if keys is not None else None
    if key is not None:
        age = (now - key.created).total_seconds()
        metrics.DKIM_KEY_AGE.labels(body.meta.namespace, body.meta.name).set(age)
    found: list = []
    try:
        found = dns.records(
            spec,
            key,
            default_mx=RUNTIME.settings.mx_host,
            ttl=RUNTIME.settings.dns_ttl,
            published=keys.published if keys is not None else None,
        )
        dns_cond = reconcile.ok("DNSReady", "RecordsComputed", await _publish(body, spec, found))
    except dns.NoMxHost as exc:
        dns_cond = Condition("DNSReady", FALSE, "NoMxHost", str(exc))

    if backend_error is None and key is not None:
        try:
            async with _backend_turn() as backend:
                changed |= bool((await backend.put_dkim_key(spec.domain, key)).get("changed"))
        except BackendError as exc:
            backend_error = exc
    if backend_error is None:
        backend_cond = reconcile.ok("BackendSynced", "Synced", f"domain {spec.domain}")
        if changed:
            events.post(body, "BackendSynced", f"the backend's domain {spec.domain} updated")
    else:
        reason = "BackendRefused" if backend_error.refused else "BackendUnavailable"
        metrics.BACKEND_ERRORS.labels("MailDomain", reason).inc()
        backend_cond = Condition("BackendSynced", FALSE, reason, str(backend_error))

    desired = reconcile.domain_status(
        spec=spec,
        key=key,
        secret_name=dkim.secret_name(body.meta.name),
        dkim=dkim_cond,
        dns=dns_cond,
        backend=backend_cond,
        found=found,
        current=current,
        generation=generation,
        now=now,
        next_key=keys.next if keys is not None else None,
        mta=_mta().condition(spec.domain),
    )
    verified = _last_verified(body)
    if verified is not None:
        desired["conditions"] = conditions.put(
            desired["conditions"], verified, generation=generation, now=now
        )
    checking = RUNTIME.verifier is not None and RUNTIME.verifier.settings.enabled
    await _write_status(path, current, desired, None if checking else patch)
    _verify(body, found)
    if found:
        changed = events.records_changed(current.get("dnsRecords"), desired["dnsRecords"])
        if changed:
            events.post(body, "DNSRecordsChanged", f"publish: {changed}")
    if backend_error is not None:
        delay = 60 if backend_error.refused else RETRY_SECONDS
        raise kopf.TemporaryError(str(backend_error), delay=delay)


@kopf.on.resume(GROUP, VERSION, "maildomains")
@kopf.on.create(GROUP, VERSION, "maildomains")
@kopf.on.update(GROUP, VERSION, "maildomains")
async def maildomain_changed(
    body: kopf.Body, logger: logging.Logger, patch: kopf.Patch | None = None, **_: Any
) -> None:
    """kopf's handler, given its ``patch``; also the resync's reconcile, without one."""
    async with metrics.measured("MailDomain"):
        await reconcile_domain(body, logger, patch)


@kopf.on.delete(GROUP, VERSION, "maildomains")
async def maildomain_deleted(body: kopf.Body, logger: logging.Logger, **_: Any) -> None:
    namespace, name = body.meta.namespace, body.meta.name
    _mta().observe(namespace, name, None)  # a domain being deleted leaves the MTA
    _verify(body, None)
    try:
        spec = specs.domain_spec(dict(body.get("spec") or {}))
    except specs.InvalidSpec:
        logger.warning("invalid MailDomain deleted: nothing was made for it")
        return
    mailboxes = await _kube().list(object_path(API_VERSION, "mailboxes", namespace))
    users = sorted(
        m["metadata"]["name"]
        for m in mailboxes
        if (m.get("spec") or {}).get("domainRef", {}).get("name") == name
    )
    if users:
        path = object_path(API_VERSION, "maildomains", namespace, name)
        current = dict(body.get("status") or {})
        waiting = Condition(
            "Ready", FALSE, "MailboxesRemain", f"delete its Mailboxes first: {', '.join(users)}"
        )
        desired = {"conditions": reconcile.merge_conditions(current, [waiting], None, _now())}
        await _write_status(path, current, desired)
        # One Event per change of the list, not one per retry (the body a retry is given
        # may predate the last status write: remembered here instead).
        if REFUSED_DELETIONS.get(body.meta.uid) != waiting.message:
            REFUSED_DELETIONS[body.meta.uid] = waiting.message
            events.post(body, "DeletionRefused", waiting.message, warning=True)
        raise kopf.TemporaryError(f"Mailboxes still use this domain: {users}", delay=5)
    REFUSED_DELETIONS.pop(body.meta.uid, None)
    try:
        await _backend().delete_domain(spec.domain, spec.deletion_policy)
    except BackendError as exc:
        raise kopf.TemporaryError(str(exc), delay=RETRY_SECONDS) from None
    # The Secret and the DNSEndpoint are owned by the MailDomain: the garbage collector
    # removes them.
    _PARSED.pop((namespace, dkim.secret_name(name)), None)
    RUNTIME.domains_synced.pop((namespace, name), None)


@kopf.on.event(GROUP, VERSION, "maildomains")
async def maildomain_seen(
    event: kopf.RawEvent, namespace: str, name: str, spec: kopf.Spec, status: kopf.Status, **_: Any
) -> None:
    """What a Mailbox needs of its MailDomain, kept as the watch shows it: 10,000 Mailboxes
    reconciled made 10,000 GETs of their domains, one in seven API calls of a burst."""
    key = (namespace, name)
    if event.get("type") == "DELETED":
        RUNTIME.domains_seen.pop(key, None)
        return
    RUNTIME.domains_seen[key] = (str(spec.get("domain", "")), _backend_synced(status))


def _backend_synced(status: Any) -> bool:
    return any(
        c.get("type") == "BackendSynced" and c.get("status") == "True"
        for c in (status or {}).get("conditions") or []
    )


# --- Mailbox ------------------------------------------------------------------------


def _domain_synced(namespace: str, name: str) -> asyncio.Event:
    return RUNTIME.domains_synced.setdefault((namespace, name), asyncio.Event())


async def _await_domain_synced(namespace: str, name: str, synced: bool) -> None:
    """Wait a little for a MailDomain not in the backend yet (made with its Mailboxes)."""
    if synced or _domain_synced(namespace, name).is_set():
        return
    # On timeout the backend says why (its answer goes to the status, retried as ever).
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_domain_synced(namespace, name).wait(), DOMAIN_WAIT_SECONDS)


async def reconcile_mailbox(
    body: kopf.Body, logger: logging.Logger, patch: kopf.Patch | None = None
) -> None:
    """Given kopf's ``patch`` (in a handler), the status goes with it (``_write_status``)."""
    now, current = _now(), dict(body.get("status") or {})
    generation = body.meta.get("generation")
    namespace = body.meta.namespace
    path = object_path(API_VERSION, "mailboxes", namespace, body.meta.name)
    try:
        spec = specs.mailbox_spec(dict(body.get("spec") or {}))
    except specs.InvalidSpec as exc:
        invalid = Condition("Ready", FALSE, "InvalidSpec", str(exc))
        desired = {
            "conditions": reconcile.merge_conditions(current, [invalid], generation, now),
            **({"observedGeneration": generation} if generation is not None else {}),
        }
        await _write_status(path, current, desired, patch)
        raise kopf.PermanentError(f"invalid Mailbox: {exc}") from None

    seen = RUNTIME.domains_seen.get((namespace, spec.domain_ref))
    if seen is None:  # not in the watch yet (made at the same moment): asked for
        domain_body = await _kube().get(
            object_path(API_VERSION, "maildomains", namespace, spec.domain_ref)
        )
        if domain_body is not None:
            seen = (
                str((domain_body.get("spec") or {}).get("domain", "")),
                _backend_synced(domain_body.get("status")),
            )
    domain: str | None = None
    error: kopf.TemporaryError | None = None
    if seen is None:
        cond = Condition(
            "BackendSynced", FALSE, "DomainNotFound", f"no MailDomain {spec.domain_ref} here"
        )
        error = kopf.TemporaryError(cond.message, delay=RETRY_SECONDS)
    else:
        domain, synced = seen
        await _await_domain_synced(namespace, spec.domain_ref, synced)
        try:
            answer = await _mailbox_puts().call((f"{spec.local_part}@{domain}", spec))
            cond = reconcile.ok("BackendSynced", "Synced", f"{spec.local_part}@{domain}")
            if answer.get("changed"):
                events.post(
                    body,
                    "BackendSynced",
                    f"the backend's mailbox {spec.local_part}@{domain} updated",
                )
        except BackendError as exc:
            reason = "BackendRefused" if exc.refused else "BackendUnavailable"
            metrics.BACKEND_ERRORS.labels("Mailbox", reason).inc()
            cond = Condition("BackendSynced", FALSE, reason, str(exc))
            error = kopf.TemporaryError(str(exc), delay=60 if exc.refused else RETRY_SECONDS)
    desired = reconcile.mailbox_status(
        spec=spec, domain=domain, backend=cond, current=current, generation=generation, now=now
    )
    await _write_status(path, current, desired, patch)
    if error is not None:
        raise error


@kopf.on.resume(GROUP, VERSION, "mailboxes")
@kopf.on.create(GROUP, VERSION, "mailboxes")
@kopf.on.update(GROUP, VERSION, "mailboxes")
async def mailbox_changed(
    body: kopf.Body, logger: logging.Logger, patch: kopf.Patch | None = None, **_: Any
) -> None:
    """kopf's handler, given its ``patch``; also the resync's reconcile, without one."""
    async with metrics.measured("Mailbox"):
        await reconcile_mailbox(body, logger, patch)


@kopf.on.delete(GROUP, VERSION, "mailboxes")
async def mailbox_deleted(body: kopf.Body, logger: logging.Logger, **_: Any) -> None:
    address = (body.get("status") or {}).get("address")
    if not address:
        return  # never reached the backend
    try:
        spec = specs.mailbox_spec(dict(body.get("spec") or {}))
        policy = spec.deletion_policy
    except specs.InvalidSpec:
        policy = "Retain"  # when in doubt, keep the mail
    try:
        await _backend().delete_mailbox(address, policy)
    except BackendError as exc:
        raise kopf.TemporaryError(str(exc), delay=RETRY_SECONDS) from None
