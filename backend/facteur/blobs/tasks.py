"""Periodic clean-up of blobs nothing refers to any more."""

from __future__ import annotations

from celery import shared_task

from facteur.blobs.services import blobs_collect_garbage as collect


@shared_task(name="facteur.blobs.tasks.blobs_collect_garbage")
def blobs_collect_garbage(min_age_seconds: int = 3600) -> int:
    return collect(min_age_seconds=min_age_seconds)
