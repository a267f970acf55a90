"""The relay login settings are checked when the process starts: smtplib's AUTH sends ASCII
only, so a non-ASCII FACTEUR_RELAY_PASSWORD is refused there, naming the setting and not
showing the password, rather than breaking every send later."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[2]
ENV = {
    "PATH": "/usr/bin:/bin",
    "FACTEUR_SECRET_KEY": "settings-test",
    "DATABASE_URL": "postgresql://facteur@127.0.0.1:1/facteur",
    "REDIS_URL": "redis://127.0.0.1:1/0",
}
PRINT_LOGIN = (
    "import facteur.config.settings as s; print(s.FACTEUR_RELAY_USERNAME, s.FACTEUR_RELAY_CA_FILE)"
)


def start(**environ: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PRINT_LOGIN], env={**ENV, **environ}, capture_output=True,
        text=True, timeout=60, cwd=BACKEND,
    )  # fmt: skip


def test_ascii_login_and_ca_file_are_read() -> None:
    result = start(FACTEUR_RELAY_USERNAME="facteur", FACTEUR_RELAY_PASSWORD="s3cret; pass",
                   FACTEUR_RELAY_CA_FILE="/etc/facteur/relay-ca.pem")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["facteur", "/etc/facteur/relay-ca.pem"]


@pytest.mark.parametrize("variable", ["FACTEUR_RELAY_USERNAME", "FACTEUR_RELAY_PASSWORD"])
def test_non_ascii_login_stops_the_process(variable: str) -> None:
    result = start(**{"FACTEUR_RELAY_USERNAME": "facteur", variable: "pässwörd"})
    assert result.returncode != 0
    assert "FACTEUR_RELAY_PASSWORD must be ASCII" in result.stderr
    assert "pässwörd" not in result.stderr
