"""The environment of a single-machine run, shared by ``facteur-local`` and ``facteur-admin``.

Everything lives in one data folder (``var/`` at the repository root unless
FACTEUR_VAR_DIR says otherwise): the embedded PostgreSQL and Redis, the secret key,
static files, the demo credentials. Variables already set in the environment win, so
the same commands work against an external PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import facteur
from facteur.config import env
from facteur.local import embedded

SETTINGS_MODULE = "facteur.config.settings"


def default_var_dir() -> Path:
    """FACTEUR_VAR_DIR, else ``var/`` of the source checkout, else ``./var``."""
    configured = os.environ.get("FACTEUR_VAR_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    # backend/facteur/__init__.py -> the repository root (an editable install).
    root = Path(facteur.__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "backend").is_dir():
        return root / "var"
    return Path.cwd().resolve() / "var"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (0600) from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def secret_key_file(var_dir: Path) -> Path:
    """``var/secret-key``, generated on first use and kept: sessions survive restarts."""
    path = var_dir / "secret-key"
    if not path.is_file() or not path.read_text().strip():
        write_private(path, secrets.token_urlsafe(50) + "\n")
    return path


def prepare(var_dir: Path) -> dict[str, str]:
    """Fill os.environ for a single-machine process; return what was started (embedded).

    Sets defaults only: anything already in the environment is kept. The secret key is
    passed by file (FACTEUR_SECRET_KEY_FILE), so it never appears in a process environment.
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    if not env.is_set("FACTEUR_SECRET_KEY"):
        os.environ["FACTEUR_SECRET_KEY_FILE"] = str(secret_key_file(var_dir))
    os.environ.setdefault("FACTEUR_DEBUG", "false")
    # Plain http://127.0.0.1: a Secure cookie would never come back.
    os.environ.setdefault("FACTEUR_SECURE_COOKIES", "false")
    os.environ.setdefault("FACTEUR_STATIC_ROOT", str(var_dir / "static"))
    return embedded.ensure_services(var_dir)


def needs_local_services() -> bool:
    """True when the database or Redis must come from the embedded servers."""
    # A pod gets them as files (DATABASE_URL_FILE, mounted Secrets): those count too.
    return not (env.is_set("DATABASE_URL") and env.is_set("REDIS_URL"))
