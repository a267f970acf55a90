"""The Kubernetes API the operator's end-to-end tests run against: kmock's emulator, with
the server-side fields a real apiserver fills (see docs/operator.md, "The emulator").

kmock stores objects as they are sent. The apiserver also sets ``uid``,
``creationTimestamp``, ``namespace`` (from the URL), ``resourceVersion`` (bumped on every
change), ``generation`` (bumped when ``spec`` changes), a name from ``generateName``,
answers 201 to a create and 422 when a JSON patch's ``test`` fails; a Deployment's or
StatefulSet's status as its controller would write it once rolled out; 422 to an update of
a StatefulSet's spec beyond the fields the apiserver lets change (its claim templates...).
``ApiServer`` adds exactly that, and serves the CRDs of crds/ in discovery. Run it with
``running_api_server()`` in a thread of its own.

Scale (bench/operator.py, thousands of objects): kmock finds an object by scanning all of
them, and matches each request against every request it ever served (its request log,
which the tests read). ``ApiServer`` looks named objects up by key (the same answers), and
with ``keep_requests=False`` matches each request alone and keeps no log, so that a
request's cost does not grow with the objects stored or the requests served: a long run
then measures the operator, not the emulator. ``writes`` lists every write either way.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp.web
import attrs
import jsonpatch
import kmock
import uvloop
from kmock._internal import dicts  # the emulator's own patch semantics, to predict them

from tests.operator import crds

VERBS = {"create", "delete", "get", "list", "patch", "update", "watch"}
DNS_ENDPOINTS = "externaldns.k8s.io/v1alpha1/dnsendpoints"
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


class _MatchedAlone(kmock.KubernetesScaffold):
    """Without a request log, each request is matched to kmock's reactions on its own.

    kmock's matching (synchronous, up to the chosen reaction) walks the log for the request
    it matches; the emulator's own reactions have no counts or slices, so a log holding just
    that request gives the same match. Placed after ``KubernetesEmulator`` in the MRO: this
    runs once the object store has been updated, right before the matching.
    """

    __slots__ = ()  # keep_requests is ApiServer's: of two slotted bases, one may add fields

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if not self.keep_requests:
            self._requests[:] = [request]
            for payload in self._payloads:
                payload._requests.clear()  # each reaction's own log of what it served
        return await super()._handle(request)


@attrs.define(kw_only=True)
class ApiServer(kmock.KubernetesEmulator, _MatchedAlone):
    _version: int = attrs.field(default=0, init=False)  # the last resourceVersion given
    writes: list[str] = attrs.field(factory=list, init=False)  # "METHOD path", all served
    keep_requests: bool = True

    def declare_crds(self, *, dns_endpoint: bool) -> None:
        self.resources.load_bundled()
        for crd in crds.crds().values():
            names = crd["spec"]["names"]
            self.resources[f"{crd['spec']['group']}/{crds.VERSION}/{names['plural']}"] = (
                kmock.ResourceInfo(
                    kind=names["kind"],
                    singular=names["singular"],
                    namespaced=True,
                    verbs=VERBS,
                    shortnames=set(names["shortNames"]),
                    categories=set(names["categories"]),
                    subresources={"status"},
                )
            )
        if dns_endpoint:
            self.resources[DNS_ENDPOINTS] = kmock.ResourceInfo(
                kind="DNSEndpoint", singular="dnsendpoint", namespaced=True, verbs=VERBS
            )

    # --- the Deployment and StatefulSet controllers' part (kube-controller-manager) ------
    # No pods run here: a workload is rolled out the moment it is written, its status
    # saying every replica is updated and available. A test that needs it unavailable
    # patches its status subresource, which is left as written.
    @staticmethod
    def _rolled_out(spec: dict, generation: int) -> dict:
        replicas = int((spec or {}).get("replicas", 1))
        return {
            "observedGeneration": generation,
            **dict.fromkeys(
                ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"), replicas
            ),
        }

    # The StatefulSet controller's: the same, with the revisions it names after a hash of
    # the pod template (NAME-HASH), the current one become the update one once rolled.
    @classmethod
    def _statefulset_rolled_out(cls, name: str, spec: dict, generation: int) -> dict:
        template = json.dumps((spec or {}).get("template"), sort_keys=True).encode()
        revision = f"{name}-{hashlib.sha256(template).hexdigest()[:10]}"
        status = cls._rolled_out(spec, generation)
        status.update(
            currentReplicas=status["replicas"],
            currentRevision=revision,
            updateRevision=revision,
            collisionCount=0,
        )
        return status

    def _status_of(self, plural: str, name: str, spec: dict, generation: int) -> dict | None:
        if plural == "deployments":
            return self._rolled_out(spec, generation)
        if plural == "statefulsets":
            return self._statefulset_rolled_out(name, spec, generation)
        return None

    def _kind(self, request: kmock.Request) -> tuple[str, str]:
        resource = request.resource
        info = self.resources[resource]
        group_version = f"{resource.group}/{resource.version}" if resource.group else "v1"
        return group_version, info.kind or ""

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def _fill_created(self, request: kmock.Request) -> None:
        data = request.data
        api_version, kind = self._kind(request)
        data.setdefault("apiVersion", api_version)
        data.setdefault("kind", kind)
        meta = data.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            # As the apiserver does (kopf posts its Events so): a random suffix.
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if request.namespace:
            meta.setdefault("namespace", request.namespace)
        meta.update(
            uid=str(uuid.uuid4()),
            resourceVersion=self._next_version(),
            generation=1,
            creationTimestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        status = self._status_of(request.resource.plural, meta["name"], data.get("spec") or {}, 1)
        if status is not None:
            data["status"] = status

    def _fill_updated(self, request: kmock.Request) -> None:
        key = (request.resource, request.namespace, request.name)
        if key not in self.objects or self.objects[key].deleted:
            return
        current = self.objects[key].raw
        try:
            after = dicts.patch_dict(copy.deepcopy(current), request.data)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise kmock.KubernetesError(status=422, reason="Invalid", message=str(exc)) from None
        meta = current.get("metadata", {})
        fields = {"resourceVersion": self._next_version()}
        if request.subresource is None and after.get("spec") != current.get("spec"):
            fields["generation"] = int(meta.get("generation", 1)) + 1
            if request.resource.plural == "statefulsets":
                _refuse_immutable_statefulset_change(request.name, current, after)
        # The parsed body is the request's own (mutable) data: the emulator applies it next.
        if isinstance(request.data, dict):
            request.data.setdefault("metadata", {}).update(fields)
            status = self._status_of(
                request.resource.plural, request.name, after.get("spec") or {}, 0
            )
            if status is not None and "generation" in fields:
                request.data["status"] = {**status, "observedGeneration": fields["generation"]}
        else:
            request.data.extend(
                {"op": "add", "path": f"/metadata/{k}", "value": v} for k, v in fields.items()
            )

    def _get_obj(self, request: kmock.Request, strict: bool) -> Any:
        if strict and request.name is not None:  # one object: by key, not a scan of all
            return self.objects._objects.get((request.resource, request.namespace, request.name))
        return self._scan_obj(request, strict)

    _scan_obj = kmock.KubernetesEmulator._KubernetesEmulator__get_obj  # type: ignore[attr-defined]
    _KubernetesEmulator__get_obj = _get_obj

    async def _serve_list(self, request: kmock.Request) -> Any:
        listed = await super()._serve_list(request)
        # Where a watch continues from: kmock answers "...", which replays everything.
        listed["metadata"]["resourceVersion"] = str(self._version)
        # Pages (?limit=&continue=), as the apiserver serves them; the token is an offset
        # here (the apiserver's pages come from one snapshot: close enough for tests).
        limit = _version_of(request.url.query.get("limit"))
        if limit:
            start = _version_of(request.url.query.get("continue"))
            items = listed["items"]
            listed["items"] = items[start : start + limit]
            if start + limit < len(items):
                listed["metadata"]["continue"] = str(start + limit)
        return listed

    async def _serve_watch(self, request: kmock.Request) -> AsyncIterator[Any]:
        """As the apiserver: the changes after ``?resourceVersion=``, each once.

        kmock replays every object and loses changes made while it does (it joins its event
        bus afterwards): kopf would then handle an object's first version again after having
        patched it, or miss a change. Here the bus is joined first, the objects changed since
        the version asked are sent, then the bus without what they already showed."""
        yield b""  # the headers, at once
        since = _version_of(request.url.query.get("resourceVersion"))
        bus = self._buses[request.resource]
        marker = await bus.mark()
        try:
            shown: dict[tuple[str | None, str], int] = {}
            async with self._lock:
                for (resource, namespace, name), obj in self.objects.items():
                    if obj.deleted or not _watched(request, resource, namespace, name):
                        continue
                    version = _version_of(obj.raw.get("metadata", {}).get("resourceVersion"))
                    shown[namespace, name] = version
                    if version > since:
                        yield {"type": "ADDED", "object": obj.raw}
            async for event in bus.stream(since=marker):
                meta = event.get("object", {}).get("metadata", {})
                namespace, name = meta.get("namespace"), meta.get("name")
                if not _watched(request, request.resource, namespace, name):
                    continue
                version = _version_of(meta.get("resourceVersion"))
                if event.get("type") != "DELETED" and version <= shown.get((namespace, name), 0):
                    continue  # already sent as it is now
                yield event
        finally:
            await bus.unmark(marker)

    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        """An API error as the apiserver's Status: kmock's adds a Python traceback to the
        details (formatting it was a twentieth of the emulator's CPU in bench/operator.py)."""
        if not isinstance(exc, kmock.KubernetesError):
            return await super()._render_error(exc)
        status = {
            "apiVersion": "v1",
            "kind": "Status",
            "metadata": {},
            "status": "Failure",
            "code": exc.status,
            "reason": exc.reason or type(exc).__name__,
            "message": exc.message or repr(exc),
            "details": exc.details or {},
        }
        return aiohttp.web.json_response(status, status=exc.status)

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if str(request.method).upper().endswith(WRITE_METHODS):
            self.writes.append(f"{request.method} {request.url.path}")
        try:
            if request.resource is not None and request.action == kmock.action.CREATE:
                self._fill_created(request)
            elif request.resource is not None and request.action == kmock.action.UPDATE:
                self._fill_updated(request)
            response = await super()._handle(request)
        except kmock.KubernetesError as exc:
            # An API error is an answer, not a failure of the emulator.
            return await self._render_error(exc)
        if request.action == kmock.action.CREATE and response.status == 200:
            response.set_status(201)
        return response


# What the apiserver lets an update change in a StatefulSet's spec (apps validation).
STATEFULSET_MUTABLE = {
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
}


def _refuse_immutable_statefulset_change(name: str, current: dict, after: dict) -> None:
    before, now = current.get("spec") or {}, after.get("spec") or {}
    changed = {k for k in before.keys() | now.keys() if before.get(k) != now.get(k)}
    if changed - STATEFULSET_MUTABLE:
        raise kmock.KubernetesError(
            status=422,
            reason="Invalid",
            message=(
                f'StatefulSet.apps "{name}" is invalid: spec: Forbidden: updates to '
                "statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                "'minReadySeconds' are forbidden"
            ),
        )


def _version_of(value: Any) -> int:
    """A resourceVersion, limit or continue token as a number (0 when absent or opaque)."""
    return int(value) if isinstance(value, str) and value.isdigit() else 0


def _watched(request: kmock.Request, resource: Any, namespace: str | None, name: str) -> bool:
    return (
        resource == request.resource
        and (request.namespace is None or namespace == request.namespace)
        and (request.name is None or name == request.name)
    )


@contextmanager
def running_api_server(
    *, dns_endpoint: bool = False, keep_requests: bool = True
) -> Iterator[tuple[ApiServer, str]]:
    """The emulator served on 127.0.0.1 (a random port) by a thread and loop of its own."""
    started = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        emulator = ApiServer(keep_requests=keep_requests)
        emulator.declare_crds(dns_endpoint=dns_endpoint)
        async with emulator, kmock.Server(emulator) as server:
            state.update(emulator=emulator, url=str(server.url).rstrip("/"))
            state["stop"] = stop = asyncio.Event()
            started.set()
            await stop.wait()

    loop = uvloop.new_event_loop()  # as the operator's: the cheaper loop for large runs
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10), "the emulator did not start"
    try:
        yield state["emulator"], state["url"]
    finally:
        loop.call_soon_threadsafe(state["stop"].set)
        thread.join(10)
        loop.close()
