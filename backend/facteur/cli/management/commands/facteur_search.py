"""``facteur-admin search reindex``: rebuild the search index of the configured backend.

OpenSearch: a new versioned index is filled from the database (progress on stderr), then
the alias searches go through is moved to it in one step and the old index deleted
(``search.opensearch_index.reindex``); changes made meanwhile are recorded and written
again after the swap. PostgreSQL keeps its documents in the same transaction as the mail,
so it needs this only on the way back from OpenSearch (which leaves them unwritten): every
message's document is written again, a batch at a time.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.conf import settings

from facteur.cli.base import AdminCommand, Output, Refused


def _progress(done: int, total: int) -> None:
    sys.stderr.write(f"\rindexed {done}/{total} messages")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def reindex(options: dict[str, Any]) -> Output:
    if settings.FACTEUR_SEARCH_BACKEND == "postgres":
        from facteur.search.backends import postgres

        count = postgres.rebuild(_progress)
        return Output(
            {"backend": "postgres", "messages": count},
            text=f"{count} messages indexed in PostgreSQL.",
        )
    from facteur.search import opensearch_index

    try:
        index = opensearch_index.reindex(_progress)
    except opensearch_index.ReindexRunning as exc:
        raise Refused(str(exc)) from None
    alias = opensearch_index.alias()
    return Output({"index": index, "alias": alias}, text=f"{alias} now names {index}.")


class Command(AdminCommand):
    help = "The search index."

    def add_actions(self, actions: argparse._SubParsersAction) -> None:
        self.action(
            actions, "reindex", reindex, "rebuild the search index (OpenSearch: a new one, swapped)"
        )
