"""Search backends behind one interface (``base.SearchBackend``), chosen by
``FACTEUR_SEARCH_BACKEND``."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from facteur.search.backends.base import SearchBackend

BACKENDS = {
    "postgres": "facteur.search.backends.postgres.PostgresBackend",
    "opensearch": "facteur.search.backends.opensearch.OpenSearchBackend",
}


@cache
def backend() -> SearchBackend:
    return import_string(BACKENDS[settings.FACTEUR_SEARCH_BACKEND])()
