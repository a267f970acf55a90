"""``facteur-admin search reindex``: rebuild the OpenSearch index without downtime.

A new versioned index is filled from the database (progress on stderr), then the
alias searches go through is moved to it in one step and the old index deleted
(``search.opensearch_index.reindex``); changes made meanwhile are recorded and
written again after the swap. The PostgreSQL backend keeps its index in
the same transaction as the mail: it has nothing to rebuild.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.conf import settings

from facteur.cli.base import AdminCommand, Output, Refused


def reindex(options: dict[str, Any]) -> Output:
    if settings.FACTEUR_SEARCH_BACKEND != "opensearch":
        raise Refused(
            f"The search backend is {settings.FACTEUR_SEARCH_BACKEND}: its index is kept up to"
            " date with the mail, there is nothing to rebuild (FACTEUR_SEARCH_BACKEND)."
        )
    from facteur.search import opensearch_index

    def progress(done: int, total: int) -> None:
        sys.stderr.write(f"\rindexed {done}/{total} messages")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    try:
        index = opensearch_index.reindex(progress)
    except opensearch_index.ReindexRunning as exc:
        raise Refused(str(exc)) from None
    alias = opensearch_index.alias()
    return Output({"index": index, "alias": alias}, text=f"{alias} now names {index}.")


class Command(AdminCommand):
    help = "The search index."

    def add_actions(self, actions: argparse._SubParsersAction) -> None:
        self.action(actions, "reindex", reindex, "rebuild the OpenSearch index, then swap to it")
