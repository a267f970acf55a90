"""Rate limit of the internal API, per client address, in the shared cache (Redis)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

# Postfix asks once per RCPT and the policy service caches answers: 600/min per client
# is far above normal use and still stops a token-guessing loop.
DEFAULT_RATE = "600/min"
OPERATOR_RATE = "60000/min"


class MtaApiThrottle(SimpleRateThrottle):
    scope = "mta"

    def get_rate(self) -> str:
        # Read per request so tests (and an operator) can change it without a restart.
        return getattr(settings, "FACTEUR_MTA_API_RATE", DEFAULT_RATE)

    def get_cache_key(self, request: Request, view: object) -> str:
        # The peer's address, not DRF's get_ident: that trusts X-Forwarded-For when
        # NUM_PROXIES is unset, and a client could then pick a fresh identity per request.
        # Internal callers (Postfix pods, the operator) reach the backend directly.
        ident = request.META.get("REMOTE_ADDR", "")
        return self.cache_format % {"scope": self.scope, "ident": ident}


class OperatorApiThrottle(MtaApiThrottle):
    """The operator's calls: one per resource on each resync (10,000 mailboxes a minute)."""

    scope = "operator"

    def get_rate(self) -> str:
        return getattr(settings, "FACTEUR_OPERATOR_API_RATE", OPERATOR_RATE)
