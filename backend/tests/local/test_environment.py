"""The single-machine environment: data folder, secret key, private files."""

from __future__ import annotations

import stat
from pathlib import Path

from facteur.local import environment


def test_var_dir_defaults_to_the_checkout_and_follows_facteur_var_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("FACTEUR_VAR_DIR", raising=False)
    checkout = Path(environment.__file__).resolve().parents[3]
    assert environment.default_var_dir() == checkout / "var"

    monkeypatch.setenv("FACTEUR_VAR_DIR", str(tmp_path / "elsewhere"))
    assert environment.default_var_dir() == tmp_path / "elsewhere"


def test_secret_key_is_generated_once_and_private(tmp_path):
    path = environment.secret_key_file(tmp_path)
    key = path.read_text()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key.strip()) >= 50
    assert environment.secret_key_file(tmp_path).read_text() == key


def test_write_private_tightens_an_existing_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("old")
    path.chmod(0o644)

    environment.write_private(path, "new")

    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_services_given_as_files_count_as_configured(monkeypatch, tmp_path):
    # A pod mounts its Secrets as files: facteur-admin there must not start embedded servers.
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    assert environment.needs_local_services()
    monkeypatch.setenv("DATABASE_URL_FILE", str(tmp_path / "database-url"))
    assert environment.needs_local_services()
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert not environment.needs_local_services()
