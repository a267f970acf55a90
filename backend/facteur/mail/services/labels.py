"""Labels: per mailbox, hierarchical by "/" in the name, put on threads."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr

from facteur.mail.models import Label, ThreadLabel
from facteur.search.services import search_threads_changed

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def clean_label_name(name: str) -> str:
    parts = [part.strip() for part in name.split("/")]
    if not all(parts) or len(name) > 255:
        raise ValidationError(
            "A label name is non-empty parts separated by '/', 255 characters at most.",
            code="invalid",
        )
    return "/".join(parts)


def clean_color(color: str) -> str:
    if not _COLOR.match(color):
        raise ValidationError("A colour is #rrggbb.", code="invalid")
    return color.lower()


def label_create(*, mailbox_id: object, name: str, color: str | None = None) -> Label:
    clean = clean_label_name(name)
    fields: dict[str, object] = {"mailbox_id": mailbox_id, "name": clean}
    if color is not None:
        fields["color"] = clean_color(color)
    try:
        with transaction.atomic():
            return Label.objects.create(**fields)
    except IntegrityError:
        raise ValidationError(f"The label {clean!r} exists.", code="duplicate") from None


@transaction.atomic
def label_update(*, label: Label, name: str | None = None, color: str | None = None) -> Label:
    if color is not None:
        label.color = clean_color(color)
    if name is not None:
        new = clean_label_name(name)
        old = label.name
        if new != old:
            if Label.objects.filter(mailbox_id=label.mailbox_id, name=new).exists():
                raise ValidationError(f"The label {new!r} exists.", code="duplicate")
            # Renaming a parent renames its children: "A/x" follows "A" -> "B".
            children = Label.objects.filter(mailbox_id=label.mailbox_id, name__startswith=old + "/")
            clashes = Label.objects.filter(
                mailbox_id=label.mailbox_id,
                name__in=[new + c[len(old) :] for c in children.values_list("name", flat=True)],
            )
            if clashes.exists():
                raise ValidationError("A child label would clash after renaming.", code="duplicate")
            children.update(name=Concat(Value(new), Substr("name", len(old) + 1)))
            label.name = new
    label.save()
    return label


def label_delete(*, label: Label) -> None:
    label.delete()


def label_add_threads(*, label: Label, thread_ids: Iterable[object]) -> int:
    rows = [ThreadLabel(label=label, thread_id=t) for t in thread_ids]
    search_threads_changed(thread_ids=[r.thread_id for r in rows])
    return len(ThreadLabel.objects.bulk_create(rows, ignore_conflicts=True))


def label_remove_threads(*, label: Label, thread_ids: Iterable[object]) -> int:
    ids = list(thread_ids)
    deleted, _ = ThreadLabel.objects.filter(label=label, thread_id__in=ids).delete()
    search_threads_changed(thread_ids=ids)
    return deleted
