"""``facteur-local run`` as a real process: embedded PostgreSQL and Redis, gunicorn,
Celery worker and beat, the demo data; stopped by signals and restarted on the same data.

Scenarios, on one data folder:
1. first start: everything comes up, the demo is created and its printed passwords log
   in through the API; ``facteur-admin`` shares the running servers; SIGINT stops every
   process (children and embedded servers) and the runner exits 0;
2. second start: the data is still there, the demo is not created again; a child that
   dies makes the runner stop the rest and exit 1;
3. third start: SIGTERM (what service managers send) stops it cleanly too.
"""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.net import free_port

pytestmark = pytest.mark.slow

START_TIMEOUT = 60
STOP_TIMEOUT = 30


def _environment(var_dir: Path) -> dict[str, str]:
    # Nothing from the test settings: the runner must start its own servers.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FACTEUR_", "DJANGO_", "DATABASE_", "REDIS_", "CELERY_"))
        and key != "PROMETHEUS_MULTIPROC_DIR"
    }
    env["FACTEUR_VAR_DIR"] = str(var_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Runner:
    def __init__(self, var_dir: Path, log: Path, port: int) -> None:
        self.var_dir = var_dir
        self.log = log
        self.port = port
        self.smtp_port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.env = _environment(var_dir)
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "facteur-local"),
                    *("run", "--port", str(port), "--smtp-port", str(self.smtp_port)),
                ],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the runner exited:\n{self.output()}"
            if "Press Ctrl-C to stop." in self.output():
                response = requests.get(f"{self.url}/readyz", timeout=5)
                assert response.status_code == 200, response.text
                assert response.json()["checks"] == {"database": "ok", "redis": "ok"}
                return
            time.sleep(0.2)
        self.process.kill()
        pytest.fail(f"not ready within {START_TIMEOUT}s:\n{self.output()}")

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"still running {STOP_TIMEOUT}s after {signum}:\n{self.output()}")

    def admin(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(Path(sys.executable).parent / "facteur-admin"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def _credentials(var_dir: Path) -> dict[str, str]:
    lines = (var_dir / "demo-credentials.txt").read_text().splitlines()
    return dict(line.split()[:2] for line in lines if line and not line.startswith("#"))


def _login(url: str, email: str, password: str) -> requests.Session:
    session = requests.Session()
    token = session.get(f"{url}/api/v1.0/auth/csrf/", timeout=5).json()["csrf_token"]
    response = session.post(
        f"{url}/api/v1.0/auth/login/",
        json={"email": email, "password": password},
        headers={"X-CSRFToken": token},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["email"] == email
    return session


def _assert_stopped(var_dir: Path, children: list[psutil.Process]) -> None:
    alive = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == []
    # The embedded servers went too.
    assert not (var_dir / "postgres" / "postmaster.pid").exists()
    assert not (var_dir / "redis" / "sock").exists()


def test_run_stop_and_restart(tmp_path):
    var_dir = tmp_path / "var"

    # --- 1. First start, on an empty data folder.
    first = Runner(var_dir, tmp_path / "first.log", free_port())
    first.wait_ready()
    output = first.output()
    credentials = _credentials(var_dir)
    assert sorted(credentials) == [f"user{i}@example.local" for i in (1, 2, 3)]
    for email, password in credentials.items():
        assert re.search(rf"{re.escape(email)}\s+{password}\b", output), output
    assert (var_dir / "demo-credentials.txt").stat().st_mode & 0o777 == 0o600
    assert (var_dir / "secret-key").stat().st_mode & 0o777 == 0o600
    for name in ("web", "worker", "beat", "smtp"):
        assert f"==> started {name}" in output
    assert "worker | " in output and "celery@" in output

    session = _login(first.url, "user1@example.local", credentials["user1@example.local"])
    mailboxes = session.get(f"{first.url}/api/v1.0/mailboxes/", timeout=5).json()
    assert sorted(m["address"] for m in mailboxes) == [
        "contact@example.local",
        "user1@example.local",
    ]
    assert requests.get(f"{first.url}/static/admin/css/base.css", timeout=5).status_code == 200

    # The admin command line uses the running servers and leaves them running.
    listing = first.admin("mailbox", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    assert {m["address"]: m["messages"] for m in json.loads(listing.stdout)} == {
        "contact@example.local": 5,
        "user1@example.local": 5,
        "user2@example.local": 8,
        "user3@example.local": 2,
    }
    assert requests.get(f"{first.url}/readyz", timeout=5).status_code == 200

    # Mail sent to the SMTP listener lands in the mailbox.
    assert f"SMTP in      127.0.0.1:{first.smtp_port}" in output
    with smtplib.SMTP("127.0.0.1", first.smtp_port, timeout=10) as client:
        message = b"From: someone@elsewhere.test\r\nSubject: Hello\r\n\r\nHi!\r\n"
        assert client.sendmail("someone@elsewhere.test", ["user1@example.local"], message) == {}
    listing = first.admin("mailbox", "list", "--json")
    assert {m["address"]: m["messages"] for m in json.loads(listing.stdout)}[
        "user1@example.local"
    ] == 6

    children = psutil.Process(first.process.pid).children(recursive=True)
    assert len(children) >= 3 + 2 + 2  # gunicorn, worker, beat; their workers
    assert first.stop(signal.SIGINT) == 0
    assert first.output().rstrip().endswith("==> stopped")
    _assert_stopped(var_dir, children)

    # --- 2. Second start on the same data: nothing re-created, everything kept.
    second = Runner(var_dir, tmp_path / "second.log", free_port())
    second.wait_ready()
    output = second.output()
    assert "demo domain example.local present" in output
    assert "created the demo domain" not in output
    assert _credentials(var_dir) == credentials
    _login(second.url, "user2@example.local", credentials["user2@example.local"])

    # A child that dies takes the whole suite down, with a non-zero status.
    children = psutil.Process(second.process.pid).children(recursive=True)
    beat = next(p for p in children if "beat" in p.cmdline())
    beat.kill()
    try:
        status = second.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        second.process.kill()
        pytest.fail(f"the runner did not stop after beat died:\n{second.output()}")
    assert status == 1
    assert "==> beat exited unexpectedly with status -9: stopping everything" in second.output()
    _assert_stopped(var_dir, children)

    # --- 3. SIGTERM is a clean stop as well.
    third = Runner(var_dir, tmp_path / "third.log", free_port())
    third.wait_ready()
    children = psutil.Process(third.process.pid).children(recursive=True)
    assert third.stop(signal.SIGTERM) == 0
    assert "==> SIGTERM: stopping" in third.output()
    _assert_stopped(var_dir, children)
