"""Writes to an external search index (OpenSearch), queued when a transaction commits."""

from __future__ import annotations

from celery import shared_task

from facteur.search import opensearch_index

RETRIES = 5


@shared_task(
    name="facteur.search.tasks.search_write_messages",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=RETRIES,
)
def search_write_messages(message_ids: list[str]) -> int:
    """Index these messages as they are now (deleting the documents of deleted ones)."""
    return _write(message_ids)


@shared_task(
    name="facteur.search.tasks.search_write_threads",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=RETRIES,
)
def search_write_threads(thread_ids: list[str]) -> int:
    """Index every message of these threads (their labels changed)."""
    return _write(opensearch_index.thread_message_ids(thread_ids))


def _write(message_ids: list[str]) -> int:
    written = 0
    for at in range(0, len(message_ids), opensearch_index.BATCH):
        written += opensearch_index.bulk_write(message_ids[at : at + opensearch_index.BATCH])
    return written
