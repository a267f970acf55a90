"""The periodic resync (facteur_operator.resync) against the emulator: every handled object
once, page by page (handled: kopf's diff-base in status, or in the annotation of earlier
versions); objects kopf has not finished with, or that are being deleted, left out; a
failing reconcile stops nothing."""

from __future__ import annotations

import asyncio
import logging

import kopf
import requests

from facteur_operator import persistence, resync
from facteur_operator.kube import Kube, resource_path
from tests.operator.emulator import running_api_server

NS = "mail"
API = "mail.facteur.dev/v1alpha1"
LEGACY = "mail.facteur.dev/last-handled-configuration"


def mailbox(name: str, *, handled: str | None = "status", deleting: bool = False) -> dict:
    """``handled``: where kopf's diff-base is ("status", "annotation"), or None."""
    meta: dict = {"name": name}
    body = {"apiVersion": API, "kind": "Mailbox", "metadata": meta, "spec": {}}
    if handled == "status":
        body["status"] = {"lastHandledConfiguration": "{}"}
    elif handled == "annotation":
        meta["annotations"] = {LEGACY: "{}"}
    if deleting:
        meta["finalizers"] = ["mail.facteur.dev/finalizer"]
    return body


def test_a_sweep_reconciles_each_handled_object_once_page_by_page(monkeypatch) -> None:
    monkeypatch.setattr(resync, "PAGE", 2)
    seen: list[str] = []

    async def reconcile(body: kopf.Body, logger: logging.Logger) -> None:
        seen.append(body.meta.name)
        if body.meta.name == "broken":
            raise RuntimeError("a bug in one reconcile")

    with running_api_server() as (emulator, url):
        base = f"{url}/apis/{API}/namespaces/{NS}/mailboxes"
        for name in ("a", "b", "broken", "c"):
            assert requests.post(base, json=mailbox(name), timeout=5).status_code == 201
        assert requests.post(base, json=mailbox("d", handled="annotation"), timeout=5).ok
        requests.post(base, json=mailbox("new", handled=None), timeout=5)
        requests.post(base, json=mailbox("going", deleting=True), timeout=5)
        assert requests.delete(f"{base}/going", timeout=5).status_code == 200  # finalizer: stays

        async def sweep() -> int:
            kube = Kube(kopf.ConnectionInfo(server=url, insecure=True))
            try:
                path = resource_path(API, "mailboxes")  # every namespace
                return await resync.sweep(kube, path, "Mailbox", reconcile, persistence.handled)
            finally:
                await kube.close()

        done = asyncio.run(sweep())
        lists = [
            r.url.query.get("continue")
            for r in list(emulator)
            if r.url.path == f"/apis/{API}/mailboxes" and r.url.query.get("limit") == "2"
        ]
    assert sorted(seen) == ["a", "b", "broken", "c", "d"]
    assert done == 5
    assert lists == [None, "2", "4", "6"]  # 7 objects, pages of 2
