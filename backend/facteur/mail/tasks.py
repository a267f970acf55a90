"""Periodic jobs of the mail store."""

from __future__ import annotations

from celery import shared_task

from facteur.mail.services.retention import messages_purge_trash as purge


@shared_task(name="facteur.mail.tasks.messages_purge_trash")
def messages_purge_trash() -> int:
    return purge()
