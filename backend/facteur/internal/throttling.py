"""Rate limit of the internal API, per client address, in the shared cache (Redis).

A cell-rate limit (GCRA): the cache holds one number per client, the time its next
request is due, so a check costs the same at 60,000/min as at 600/min. (DRF's
SimpleRateThrottle keeps every request's timestamp in a list it reads and rewrites whole:
at the operator's rate that list grew to tens of thousands of entries per request.)
``N/period`` lets N requests through at once, then one every period/N.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

# Postfix asks once per RCPT and the policy service caches answers: 600/min per client
# is far above normal use and still stops a token-guessing loop.
DEFAULT_RATE = "600/min"
OPERATOR_RATE = "60000/min"
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/min"`` -> (600, 60): requests and the seconds they are allowed in."""
    count, _, period = rate.partition("/")
    try:
        return int(count), PERIODS[period.strip()[:1]]
    except (ValueError, KeyError):
        raise ValueError(f"{rate!r} is not a rate like 600/min") from None


class MtaApiThrottle(BaseThrottle):
    scope = "mta"

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def get_rate(self) -> str:
        # Read per request so tests (and an operator) can change it without a restart.
        return getattr(settings, "FACTEUR_MTA_API_RATE", DEFAULT_RATE)

    def cache_key(self, request: Request) -> str:
        # The peer's address, not DRF's get_ident: that trusts X-Forwarded-For when
        # NUM_PROXIES is unset, and a client could then pick a fresh identity per request.
        # Internal callers (Postfix pods, the operator) reach the backend directly.
        return f"throttle_{self.scope}_{request.META.get('REMOTE_ADDR', '')}"

    def allow_request(self, request: Request, view: object) -> bool:
        count, period = parse_rate(self.get_rate())
        interval = period / count
        key, now = self.cache_key(request), time.time()
        due = cache.get(key)
        due = max(due, now) if isinstance(due, float) else now
        ahead = due - now  # how far this client is ahead of its steady rate
        if ahead > period - interval:
            self.retry_after = ahead - (period - interval)
            return False
        cache.set(key, due + interval, timeout=math.ceil(ahead + interval) + 1)
        return True

    def wait(self) -> float | None:
        return self.retry_after


class OperatorApiThrottle(MtaApiThrottle):
    """The operator's calls: one per resource on each resync (10,000 mailboxes a minute)."""

    scope = "operator"

    def get_rate(self) -> str:
        return getattr(settings, "FACTEUR_OPERATOR_API_RATE", OPERATOR_RATE)
