"""The periodic resync: every object reconciled again, level-based, by one loop per kind.

kopf timers would do it with a task and a live copy of the body per object, for the whole
life of the object: tens of kB each, hundreds of MB at 11,000 objects (docs/operator.md,
"Figures"). This loop lists the objects a page at a time (the page is fresh: at most one
page of bodies is held, and reconciled right away) and reconciles each with a bounded
concurrency, then sleeps until the next period, with jitter so that replicas and restarts
spread their load.

An object kopf has not handled to the end yet (no diff-base, persistence.py: just created,
or its create handler is being retried) is left to kopf's own handling and retries. A failure
is logged and the object waits for the next sweep, its status saying why.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping

import kopf

from facteur_operator.kube import Kube, KubeError

logger = logging.getLogger(__name__)
PAGE = 250  # objects listed per request (limit/continue)
CONCURRENCY = 4  # reconciles at a time: a resync must leave room for changes

Reconcile = Callable[[kopf.Body, logging.Logger], Awaitable[None]]


async def resync_forever(
    *,
    kube: Callable[[], Kube],
    paths: Iterable[str],
    kind: str,
    reconcile: Reconcile,
    period: float,
    handled: Callable[[Mapping], bool],
) -> None:
    """Every ``period`` seconds (the first time after 50-100 % of it), a sweep of the
    objects listed at ``paths``; runs until cancelled."""
    paths = list(paths)
    await asyncio.sleep(period * random.uniform(0.5, 1.0))  # noqa: S311
    while True:
        for path in paths:
            try:
                await sweep(kube(), path, kind, reconcile, handled)
            except (KubeError, kopf.TemporaryError, OSError, TimeoutError) as exc:
                logger.warning("the %s resync of %s stopped early: %s", kind, path, exc)
        await asyncio.sleep(period * random.uniform(0.9, 1.1))  # noqa: S311


async def sweep(
    kube: Kube, path: str, kind: str, reconcile: Reconcile, handled: Callable[[Mapping], bool]
) -> int:
    """One pass over the objects at ``path``; how many were reconciled."""
    limiter = asyncio.Semaphore(CONCURRENCY)
    done = 0

    async def one(raw: dict) -> None:
        body = kopf.Body(raw)
        async with limiter:
            try:
                await reconcile(body, logger)
            except (kopf.PermanentError, kopf.TemporaryError) as exc:
                # The status says it already; the next sweep (or kopf's retries) tries again.
                logger.info("resync of %s %s: %s", kind, body.meta.name, exc)
            except Exception:
                logger.exception("resync of %s %s failed", kind, body.meta.name)

    token: str | None = None
    while True:
        items, token = await kube.list_page(path, limit=PAGE, token=token)
        todo = [
            raw
            for raw in items
            if not raw.get("metadata", {}).get("deletionTimestamp") and handled(raw)
        ]
        await asyncio.gather(*(one(raw) for raw in todo))
        done += len(todo)
        if not token:
            return done
