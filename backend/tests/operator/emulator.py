"""The Kubernetes API the operator's end-to-end tests run against: kmock's emulator, with
the server-side fields a real apiserver fills (see docs/operator.md, "The emulator").

kmock stores objects as they are sent. The apiserver also sets ``uid``,
``creationTimestamp``, ``namespace`` (from the URL), ``resourceVersion`` (bumped on every
change), ``generation`` (bumped when ``spec`` changes), a name from ``generateName``,
answers 201 to a create and 422 when a JSON patch's ``test`` fails; a Deployment's status
as its controller would write it once rolled out. ``ApiServer`` adds exactly that, and
serves the CRDs of crds/ in discovery. Run it with ``running_api_server()`` in a thread of its own.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp.web
import attrs
import jsonpatch
import kmock
from kmock._internal import dicts  # the emulator's own patch semantics, to predict them

from tests.operator import crds

VERBS = {"create", "delete", "get", "list", "patch", "update", "watch"}
DNS_ENDPOINTS = "externaldns.k8s.io/v1alpha1/dnsendpoints"


@attrs.define(kw_only=True)
class ApiServer(kmock.KubernetesEmulator):
    _versions: Any = attrs.field(factory=lambda: itertools.count(1), init=False)

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

    # --- the Deployment controller's part (kube-controller-manager) ---------------------
    # No pods run here: a Deployment is rolled out the moment it is written, its status
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

    def _kind(self, request: kmock.Request) -> tuple[str, str]:
        resource = request.resource
        info = self.resources[resource]
        group_version = f"{resource.group}/{resource.version}" if resource.group else "v1"
        return group_version, info.kind or ""

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
            resourceVersion=str(next(self._versions)),
            generation=1,
            creationTimestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        if request.resource.plural == "deployments":
            data["status"] = self._rolled_out(data.get("spec") or {}, 1)

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
        fields = {"resourceVersion": str(next(self._versions))}
        if request.subresource is None and after.get("spec") != current.get("spec"):
            fields["generation"] = int(meta.get("generation", 1)) + 1
        # The parsed body is the request's own (mutable) data: the emulator applies it next.
        if isinstance(request.data, dict):
            request.data.setdefault("metadata", {}).update(fields)
            if request.resource.plural == "deployments" and "generation" in fields:
                request.data["status"] = self._rolled_out(after["spec"], fields["generation"])
        else:
            request.data.extend(
                {"op": "add", "path": f"/metadata/{k}", "value": v} for k, v in fields.items()
            )

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
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


@contextmanager
def running_api_server(*, dns_endpoint: bool = False) -> Iterator[tuple[ApiServer, str]]:
    """The emulator served on 127.0.0.1 (a random port) by a thread and loop of its own."""
    started = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        emulator = ApiServer()
        emulator.declare_crds(dns_endpoint=dns_endpoint)
        async with emulator, kmock.Server(emulator) as server:
            state.update(emulator=emulator, url=str(server.url).rstrip("/"))
            state["stop"] = stop = asyncio.Event()
            started.set()
            await stop.wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10), "the emulator did not start"
    try:
        yield state["emulator"], state["url"]
    finally:
        loop.call_soon_threadsafe(state["stop"].set)
        thread.join(10)
        loop.close()
