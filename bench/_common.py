"""Helpers shared by the benchmark scripts: a Django set up on a fresh database, and figures.

Benchmarks run against the PostgreSQL and Redis named by DATABASE_URL / REDIS_URL,
or start embedded ones in a temporary folder when those are unset. The database
named for the benchmark is dropped and recreated, then migrated, at every run.
"""

from __future__ import annotations

import atexit
import logging
import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent


def setup_django(*, database: str) -> str:
    """Point Django at a fresh, migrated ``database`` on the configured server; returns its URL."""
    sys.path.insert(0, str(ROOT / "backend"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facteur.config.settings")
    os.environ.setdefault("FACTEUR_SECRET_KEY", "bench-only-secret-key-not-for-production")
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        from facteur.local.embedded import ensure_services, stop_all

        var = Path(tempfile.mkdtemp(prefix="facteur-bench-"))
        ensure_services(var)
        # Registered after the servers' own handlers, so it runs first: stop, then delete.
        atexit.register(lambda: (stop_all(), shutil.rmtree(var, ignore_errors=True)))
        print(f"embedded PostgreSQL and Redis in {var} (deleted at exit)", file=sys.stderr)
    url = _recreate_database(os.environ["DATABASE_URL"], database)
    os.environ["DATABASE_URL"] = url

    import django
    from django.core.management import call_command

    django.setup()
    logging.getLogger("django").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    return url


def _recreate_database(url: str, database: str) -> str:
    import psycopg

    if not database.isidentifier():
        raise ValueError(f"unusual database name {database!r}")
    parsed = urlparse(url)
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    return urlunparse(parsed._replace(path=f"/{database}"))


def copy_rows(cursor, table: str, columns: list[str], rows) -> int:  # type: ignore[no-untyped-def]
    """COPY ``rows`` (an iterable of tuples) into ``table``; the number of rows written."""
    cols = ", ".join(f'"{c}"' for c in columns)
    n = 0
    with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB on Linux


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]
