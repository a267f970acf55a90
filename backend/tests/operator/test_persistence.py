"""Where kopf keeps its diff-base (facteur_operator.persistence): in status, written with
the status; the annotation of earlier versions still read, never counted as the spec, and
dropped with the object's next change; ``handled`` for the resync."""

from __future__ import annotations

import json

import kopf

from facteur_operator import persistence

LEGACY = "mail.facteur.dev/last-handled-configuration"
SPEC = {"domainRef": {"name": "example"}, "localPart": "contact"}


def body(*, status: dict | None = None, annotations: dict | None = None) -> kopf.Body:
    raw: dict = {
        "apiVersion": "mail.facteur.dev/v1alpha1",
        "kind": "Mailbox",
        "metadata": {"name": "contact", "namespace": "mail", "annotations": annotations or {}},
        "spec": SPEC,
    }
    if status is not None:
        raw["status"] = status
    return kopf.Body(raw)


def test_the_essence_is_the_spec_without_the_bookkeeping() -> None:
    storage = persistence.DiffBaseInStatus()
    legacy = json.dumps({"spec": SPEC})
    plain = storage.build(body=body())
    assert plain == {"spec": SPEC}
    # Neither the status nor the legacy annotation count, marked by kopf or not.
    for marked in ({LEGACY: legacy}, {LEGACY: legacy, "mail.facteur.dev/kopf-managed": "y"}):
        seen = body(status={"lastHandledConfiguration": "{}"}, annotations=marked)
        assert storage.build(body=seen) == plain
    # A user's annotation is part of it (a change kopf reports).
    assert storage.build(body=body(annotations={"team": "a"}))["metadata"] == {
        "annotations": {"team": "a"}
    }


def test_stored_in_status_and_read_back() -> None:
    storage = persistence.DiffBaseInStatus()
    essence = storage.build(body=body())
    patch = kopf.Patch()
    storage.store(body=body(), patch=patch, essence=essence)
    assert set(patch) == {"status"}  # one request: the status subresource
    stored = patch["status"]["lastHandledConfiguration"]
    assert storage.fetch(body=body(status={"lastHandledConfiguration": stored})) == essence
    assert storage.fetch(body=body()) is None


def test_the_legacy_annotation_is_read_then_dropped_with_the_next_change() -> None:
    storage = persistence.DiffBaseInStatus()
    essence = storage.build(body=body())
    old = body(annotations={LEGACY: json.dumps(essence)})
    assert storage.fetch(body=old) == essence  # an upgrade: nothing changed, nothing to do
    # The status one wins over it.
    newer = {"spec": {**SPEC, "localPart": "sales"}}
    both = body(
        status={"lastHandledConfiguration": json.dumps(newer)},
        annotations={LEGACY: json.dumps(essence)},
    )
    assert storage.fetch(body=both) == newer
    patch = kopf.Patch()
    storage.store(body=old, patch=patch, essence=essence)
    assert patch["metadata"]["annotations"] == {LEGACY: None}
    assert "lastHandledConfiguration" in patch["status"]


def test_handled_by_either_place() -> None:
    assert persistence.handled({"status": {"lastHandledConfiguration": "{}"}})
    assert persistence.handled({"metadata": {"annotations": {LEGACY: "{}"}}})
    assert not persistence.handled({"metadata": {"annotations": {}}, "status": {"conditions": []}})
    assert not persistence.handled({})


def test_progress_is_marked_but_a_handler_done_at_once_writes_nothing() -> None:
    storage = persistence.ProgressInAnnotations(prefix="mail.facteur.dev")
    record = {"started": "2026-11-25T00:00:00", "retries": 1, "success": True}
    # Done in one go: what the handler's cycle stored is purged, its marker with it.
    patch = kopf.Patch()
    storage.store(key="mailbox_changed", record=record, body=body(), patch=patch)
    assert patch["metadata"]["annotations"]["mail.facteur.dev/kopf-managed"] == "yes"
    storage.purge(key="mailbox_changed", body=body(), patch=patch)
    assert not patch  # no request at all
    # Retried: the progress goes, marked (kopf-based operators leave it out of their diffs).
    retried = kopf.Patch()
    storage.store(
        key="mailbox_changed", record={**record, "success": False}, body=body(), patch=retried
    )
    stored = retried["metadata"]["annotations"]
    assert set(stored) == {"mail.facteur.dev/mailbox_changed", "mail.facteur.dev/kopf-managed"}
    # Then done: the progress is removed; the marker, on the object already, stays.
    later = body(annotations=dict(stored))
    done = kopf.Patch()
    storage.purge(key="mailbox_changed", body=later, patch=done)
    assert done["metadata"]["annotations"] == {"mail.facteur.dev/mailbox_changed": None}
