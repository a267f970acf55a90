"""Whether ingest runs inside a batch: several messages, one transaction (group commit).

``ingest.batch`` opens the transaction and marks this thread; ingest then stores each
copy without a savepoint of its own (two round trips less per copy) and gives up at the
first error instead of recovering in place, since the batch's transaction is spoilt:
the batch is rolled back whole and its messages are stored again one by one. What must
happen only once a copy is committed (metrics) is deferred to the batch's commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import transaction

_local = threading.local()


def active() -> bool:
    """Whether this thread is inside a batch's transaction."""
    return getattr(_local, "active", False)


@contextmanager
def opened() -> Iterator[None]:
    """Mark this thread as inside a batch (the caller holds the transaction open)."""
    _local.active = True
    try:
        yield
    finally:
        _local.active = False


def after_commit(action: Callable[[], object]) -> None:
    """Run ``action`` now, or once the batch commits (never if it rolls back)."""
    if active():
        transaction.on_commit(action)
    else:
        action()
