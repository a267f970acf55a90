"""A private Postfix instance for tests: the rendered MTA-in or MTA-out configuration in a
temporary folder, listening on a loopback port."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from facteur_mta import render, sasldb
from tests.net import free_port

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"
# The value that names the listening port of each role.
LISTEN_KEY = {"in": "smtpd_listen", "out": "submission_listen"}


def postfix_available() -> bool:
    return os.path.exists(POSTFIX) and os.geteuid() == 0


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@dataclass
class Instance:
    root: Path
    config: Path
    smtp_port: int

    @property
    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def queue(self) -> list[dict]:
        """``postqueue -j``: one dict per queued message (its queue, recipients, reasons)."""
        result = subprocess.run([POSTQUEUE, "-c", str(self.config), "-j"], capture_output=True,
                                text=True, timeout=30, check=True)  # fmt: skip
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def private_values(root: Path, **values: str) -> dict[str, str]:
    """The values that make a rendered config a private instance under ``root``."""
    return {
        "queue_directory": str(root / "spool"),
        "data_directory": str(root / "data"),
        "maillog_file": str(root / "maillog"),
        "maillog_file_prefixes": str(root),
        "inet_interfaces": "127.0.0.1",
        "inet_protocols": "ipv4",
        "dns": "no",
        **values,
    }


def make_root() -> Path:
    # Postfix's unprivileged processes must reach the queue: pytest's tmp_path is 0700.
    root = Path(tempfile.mkdtemp(prefix="facteur-mta-"))
    root.chmod(0o755)
    (root / "spool").mkdir()
    (root / "data").mkdir()
    shutil.chown(root / "data", user="postfix")
    return root


def check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POSTFIX, "-c", str(config), "check"], capture_output=True, text=True, timeout=30
    )


@contextmanager
def running(
    values: dict[str, str], role: str = "in", sasl_password: str | None = None
) -> Iterator[Instance]:
    """Render, check and start Postfix; stop it and remove its folder afterwards.

    ``sasl_password`` (out): the sasldb is made from it the way a deployment makes it, from
    a password file through saslpasswd2.
    """
    root = make_root()
    smtp_port = free_port()
    config = root / "etc"
    instance = Instance(root=root, config=config, smtp_port=smtp_port)
    try:
        full = render.collect(
            private_values(root, **{LISTEN_KEY[role]: f"127.0.0.1:{smtp_port}"}, **values),
            environ={},
            role=role,
        )
        render.write(render.render(role, full), config)
        if sasl_password is not None:
            secret = root / "sasl-password"
            secret.write_text(sasl_password + "\n")
            target = Path(full["sasldb_path"])
            staged = sasldb.stage(password_file=secret, path=target,
                                  username=full["sasl_username"], realm=full["myhostname"],
                                  owner=full["mail_owner"])  # fmt: skip
            sasldb.install(staged, target)
        result = check(config)
        assert result.returncode == 0, (
            f"postfix check: {result.stdout}{result.stderr}{instance.log}"
        )
        subprocess.run([POSTFIX, "-c", str(config), "start"], check=True, timeout=30,
                       capture_output=True)  # fmt: skip
        wait_for_port(smtp_port)
        yield instance
    finally:
        subprocess.run([POSTFIX, "-c", str(config), "stop"], timeout=30, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
