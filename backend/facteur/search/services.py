"""Writes to the search index, called by whatever stores or changes a message."""

from __future__ import annotations

from collections.abc import Sequence

from facteur.search.backends import backend


def search_index_messages(*, message_ids: Sequence[object]) -> None:
    """Make these messages' current text searchable (in the caller's transaction)."""
    if message_ids:
        backend().index_messages(message_ids)
