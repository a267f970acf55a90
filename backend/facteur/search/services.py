"""Writes to the search index, called by whatever stores or changes a message."""

from __future__ import annotations

from collections.abc import Sequence

from facteur.search.backends import backend


def search_index_messages(*, message_ids: Sequence[object]) -> None:
    """Make these messages' current text searchable (in the caller's transaction)."""
    if message_ids:
        backend().index_messages(message_ids)


def search_messages_changed(*, message_ids: Sequence[object]) -> None:
    """Flags, folders or read state of these messages changed (in the caller's transaction)."""
    if message_ids:
        backend().messages_changed(list(message_ids))


def search_messages_deleted(*, message_ids: Sequence[object]) -> None:
    """These messages are deleted in the caller's transaction."""
    if message_ids:
        backend().messages_deleted(list(message_ids))


def search_threads_changed(*, thread_ids: Sequence[object]) -> None:
    """Labels of these threads changed (in the caller's transaction)."""
    if thread_ids:
        backend().threads_changed(list(thread_ids))


def search_mailbox_deleted(*, mailbox_id: object) -> None:
    """This mailbox and its mail are about to be deleted in the caller's transaction."""
    backend().mailbox_deleted(mailbox_id)
