"""``facteur-delivery`` as a real process against the test database, settings through
the environment as in production."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.cli.conftest import console_script, database_url

HOST = "127.0.0.1"
START_TIMEOUT = 30


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) == 0


class DeliveryProcess:
    """Started on the given ports (a face without a port is off); waits until they listen."""

    def __init__(
        self,
        log: Path,
        *,
        lmtp_port: int | None = None,
        smtp_port: int | None = None,
        metrics_port: int | None = None,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.log = log
        self.lmtp_port, self.smtp_port, self.metrics_port = lmtp_port, smtp_port, metrics_port
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("FACTEUR_", "DJANGO_", "DATABASE_", "REDIS_"))
        }
        environment.update(
            DATABASE_URL=database_url(),
            REDIS_URL=settings.REDIS_URL,
            FACTEUR_SECRET_KEY="test-only-secret-key-not-for-production",
            PYTHONUNBUFFERED="1",
            **(env or {}),
        )
        options = ["--lmtp-port", str(lmtp_port)] if lmtp_port else ["--no-lmtp"]
        options += ["--smtp-port", str(smtp_port)] if smtp_port else ["--no-smtp"]
        options += ["--metrics-port", str(metrics_port)] if metrics_port else []
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [str(console_script("facteur-delivery")), *options, *args],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        ports = [port for port in (lmtp_port, smtp_port) if port]
        deadline = time.monotonic() + START_TIMEOUT
        while not all(listening(port) for port in ports):
            assert self.process.poll() is None, f"exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"not listening:\n{self.output()}"
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"still running 30 s after {signum}:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or answered."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
