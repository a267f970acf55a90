"""Whether ingest runs inside a batch: several messages, one transaction (group commit).

``ingest.batch`` opens the transaction and marks this thread; ingest then stores each
copy without a savepoint of its own (two round trips less per copy) and gives up at the
first error instead of recovering in place, since the batch's transaction is spoilt:
the batch is rolled back whole and its messages are stored again one by one. What must
happen only once a copy is committed (metrics) is deferred to the batch's commit, and
statements that take a list (thread counters, unread marks) run once for the whole
batch, just before it commits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

_local = threading.local()


def active() -> bool:
    """Whether this thread is inside a batch's shared transaction."""
    return getattr(_local, "active", False)


@contextmanager
def opened(*, shared: bool = True) -> Iterator[None]:
    """Mark this thread as inside a transaction held open by the caller: a batch's
    (``shared``), or one message's retried alone after its batch failed (each copy
    then has its savepoint and its own recovery); either way, ``after_commit``
    waits for the caller's commit."""
    _local.active, _local.deferring, _local.gathered = shared, True, {}
    try:
        yield
    finally:
        _local.active, _local.deferring, _local.gathered = False, False, {}


def after_commit(action: Callable[[], object]) -> None:
    """Run ``action`` now, or once the caller's transaction commits (never if it
    rolls back)."""
    if getattr(_local, "deferring", False):
        transaction.on_commit(action)
    else:
        action()


def gather(action: Callable[[list[Any]], object], item: object) -> None:
    """``action([item])`` now, or ``action`` once with the items of the whole batch
    when it is flushed (before it commits)."""
    if not active():
        action([item])
    else:
        _local.gathered.setdefault(action, []).append(item)


def flush() -> None:
    """Run the gathered actions (in the order they were first gathered), each once."""
    gathered = getattr(_local, "gathered", None)
    while gathered:
        action = next(iter(gathered))
        action(gathered.pop(action))
