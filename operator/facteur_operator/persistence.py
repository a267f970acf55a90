"""Where kopf keeps its own bookkeeping on our objects.

kopf records the spec it last handled (its diff-base) to tell a change from a mere status
write. It keeps it in ``status.lastHandledConfiguration`` rather than in an annotation:
there it leaves in the same request as the status a handler gives through kopf's ``patch``
(handlers.py), where an annotation is a write of the main resource of its own. A burst of
10,000 new Mailboxes made 10,000 writes (and watch events) fewer.

Objects handled before kept it in the annotation ``mail.facteur.dev/last-handled-
configuration``: it is still read, so that an upgrade reconciles nothing anew, and dropped
with the first change of the object. Handling progress (retries) stays in annotations of
our group: status is ours, and the CRDs' structural schemas would prune anything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import kopf

GROUP = "mail.facteur.dev"
FIELD = "lastHandledConfiguration"  # in status
LEGACY_KEY = "last-handled-configuration"
LEGACY_ANNOTATION = f"{GROUP}/{LEGACY_KEY}"
MARKER = f"{GROUP}/kopf-managed"


class DiffBaseInStatus(kopf.StatusDiffBaseStorage):
    def __init__(self) -> None:
        super().__init__(field=f"status.{FIELD}")
        self._legacy = kopf.AnnotationsDiffBaseStorage(prefix=GROUP, key=LEGACY_KEY)

    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> Any:
        essence = super().build(body=body, extra_fields=extra_fields)
        # kopf leaves out the annotations of a group it marked as its own; an object never
        # marked (handled without retries) must not count the legacy one as its spec either.
        self.remove_annotations(essence, {LEGACY_ANNOTATION})
        self.remove_empty_stanzas(essence)
        return essence

    def fetch(self, *, body: kopf.Body) -> Any:
        return super().fetch(body=body) or self._legacy.fetch(body=body)

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: Any) -> None:
        super().store(body=body, patch=patch, essence=essence)
        if LEGACY_ANNOTATION in body.metadata.annotations:
            patch.metadata.annotations[LEGACY_ANNOTATION] = None


class ProgressInAnnotations(kopf.AnnotationsProgressStorage):
    """kopf's, but its marker of our group (``kopf-managed``, which tells kopf-based
    operators these annotations are bookkeeping) goes only with progress to mark: a
    handler done at once left the marker alone in a write of its own."""

    def purge(self, *, key: Any, body: kopf.Body, patch: kopf.Patch) -> None:
        super().purge(key=key, body=body, patch=patch)
        metadata = patch.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        if MARKER not in annotations or MARKER in body.metadata.annotations:
            return
        if any(k.startswith(f"{GROUP}/") and k != MARKER for k in annotations):
            return  # progress (or its removal) still goes: marked
        del annotations[MARKER]
        if not annotations:
            metadata.pop("annotations", None)
        if not metadata:
            patch.pop("metadata", None)


def configure(settings: kopf.OperatorSettings) -> None:
    settings.persistence.diffbase_storage = DiffBaseInStatus()
    settings.persistence.progress_storage = ProgressInAnnotations(prefix=GROUP)
    settings.persistence.finalizer = f"{GROUP}/finalizer"


def handled(raw: Mapping) -> bool:
    """Whether kopf handled the object to the end at least once (a raw body, as listed)."""
    status = raw.get("status") or {}
    annotations = (raw.get("metadata") or {}).get("annotations") or {}
    return FIELD in status or LEGACY_ANNOTATION in annotations
