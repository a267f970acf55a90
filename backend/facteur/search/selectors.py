"""Searching threads: the query text and the thread list's filters as one tree,
run by the configured backend within the caller's mailboxes."""

from __future__ import annotations

from collections.abc import Sequence

from facteur.search import syntax as s
from facteur.search.backends import backend
from facteur.search.backends.base import MAX_RESULTS, Results, Scope
from facteur.search.query import parse


def threads_search(
    *,
    user_id: object,
    mailbox_ids: Sequence[str],
    text: str,
    filters: Sequence[s.Node] = (),
    offset: int = 0,
    limit: int = 50,
) -> Results:
    """Threads of ``mailbox_ids`` (which the caller must have access to) or shared with
    them that match ``text`` and every one of ``filters``; raises ``QueryError``."""
    nodes = [n for n in (parse(text), *filters) if n is not None]
    tree = nodes[0] if len(nodes) == 1 else (s.And(tuple(nodes)) if nodes else None)
    limit = max(0, min(limit, MAX_RESULTS - offset))
    if not mailbox_ids or limit == 0:
        return Results(hits=[], has_more=False)
    scope = Scope(user_id=user_id, mailbox_ids=list(mailbox_ids))
    return backend().search(tree=tree, scope=scope, offset=offset, limit=limit)
