"""Running ``facteur-admin`` commands: in process through call_command, or as the real
console script in a subprocess against the test database."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

NOUNS = {"user", "domain", "mailbox", "access", "demo"}


@dataclass
class Admin:
    """``admin("user", "create", ...)`` runs ``facteur_user create ...`` and returns stdout."""

    def __call__(self, noun: str, *args: str) -> str:
        assert noun in NOUNS
        out = io.StringIO()
        call_command(f"facteur_{noun}", *args, stdout=out, stderr=io.StringIO())
        return out.getvalue()

    def json(self, noun: str, *args: str) -> object:
        return json.loads(self(noun, *args, "--json"))

    def refused(self, noun: str, *args: str) -> str:
        """The command must refuse with exit status 2; returns its one-line message."""
        with pytest.raises(CommandError) as info:
            self(noun, *args)
        assert info.value.returncode == 2, info.value
        message = str(info.value)
        assert "\n" not in message
        return message


@pytest.fixture
def admin(db) -> Admin:
    return Admin()


def database_url() -> str:
    """A URL to the test database (libpq's ?host= for a socket directory)."""
    db = settings.DATABASES["default"]
    query = {}
    netloc = quote(db["USER"] or "")
    if db["PASSWORD"]:
        netloc += ":" + quote(db["PASSWORD"])
    if netloc:
        netloc += "@"
    if db["HOST"].startswith("/"):
        query["host"] = db["HOST"]
    else:
        netloc += db["HOST"]
    if db["PORT"]:
        if "host" in query:
            query["port"] = db["PORT"]
        else:
            netloc += f":{db['PORT']}"
    suffix = f"?{urlencode(query)}" if query else ""
    return f"postgresql://{netloc}/{quote(db['NAME'])}{suffix}"


def console_script(name: str) -> Path:
    return Path(sys.executable).parent / name


@pytest.fixture
def run_admin(transactional_db, tmp_path):
    """Run the installed ``facteur-admin`` against the test database (committed data only)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FACTEUR_", "DJANGO_", "DATABASE_", "REDIS_"))
    }
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        FACTEUR_SECRET_KEY="test-only-secret-key-not-for-production",
        # Must stay unused: everything is in the environment above.
        FACTEUR_VAR_DIR=str(tmp_path / "var"),
    )

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(console_script("facteur-admin")), *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run
