"""Retention: the trash empties itself after FACTEUR_TRASH_RETENTION_DAYS."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from facteur.mail.models import Message
from facteur.mail.services.flags import messages_delete

_BATCH = 500


def messages_purge_trash() -> int:
    cutoff = timezone.now() - timedelta(days=settings.FACTEUR_TRASH_RETENTION_DAYS)
    total = 0
    while True:
        ids = list(
            Message.objects.filter(is_trashed=True, trashed_at__lt=cutoff).values_list(
                "id", flat=True
            )[:_BATCH]
        )
        if not ids:
            return total
        total += messages_delete(message_ids=ids)
