"""Periodic jobs run in a real Celery worker, through the real Redis broker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from facteur import celery_app
from facteur.blobs.models import Blob
from facteur.blobs.services import blob_put
from facteur.blobs.tasks import blobs_collect_garbage
from facteur.mail.models import Message
from facteur.mail.tasks import messages_purge_trash
from tests import factories
from tests.waiting import wait_until


@pytest.mark.django_db(transaction=True)
def test_worker_collects_garbage_and_purges_old_trash():
    box = factories.mailbox(factories.domain(), "team")
    kept = factories.message_create(box, subject="Keep")
    old = factories.message_create(box, subject="Old trash", is_trashed=True)
    Message.objects.filter(pk=old.pk).update(trashed_at=timezone.now() - timedelta(days=31))
    orphan = blob_put(data=b"nobody refers to me")

    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        messages_purge_trash.delay()
        assert wait_until(lambda: not Message.objects.filter(pk=old.pk).exists())
        blobs_collect_garbage.delay(min_age_seconds=0)
        assert wait_until(lambda: not Blob.objects.filter(pk=orphan.pk).exists())

    assert Message.objects.filter(pk=kept.pk).exists()
    assert Blob.objects.filter(pk=kept.raw_blob_id).exists()  # still referred to
