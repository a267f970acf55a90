"""MTA-out with mail stuck in its queue, for the queue exporter's tests: a real Postfix
(rendered by ``facteur-mta-config out``) whose relay host refuses connections, so what it
is given is deferred; one message is then put on hold (``postsuper -h``). And the exporter
run on it as its sidecar would: unprivileged, with the postdrop group only."""

from __future__ import annotations

import grp
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.mta import postfix_instance, tls_ca
from tests.net import free_port
from tests.waiting import wait_until

SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
SENDMAIL = shutil.which("sendmail") or "/usr/sbin/sendmail"
POSTSUPER = shutil.which("postsuper") or "/usr/sbin/postsuper"
HOSTNAME = "mta-out.test"


@dataclass
class StuckQueue:
    instance: postfix_instance.Instance
    deferred_id: str  # two recipients
    held_id: str  # one recipient


def submit(config: Path, *recipients: str) -> None:
    message = f"From: alice@sender.test\nTo: {', '.join(recipients)}\nSubject: queued\n\nhello\n"
    subprocess.run([SENDMAIL, "-C", str(config), "-f", "alice@sender.test", *recipients],
                   input=message, text=True, check=True, timeout=30)  # fmt: skip


def in_queue(instance: postfix_instance.Instance, queue: str, count: int) -> list[dict]:
    found = [m for m in instance.queue() if m["queue_name"] == queue]
    return found if len(found) == count else []


@contextmanager
def stuck_queue() -> Iterator[StuckQueue]:
    folder = Path(tempfile.mkdtemp(prefix="facteur-queue-"))
    folder.chmod(0o755)
    certificates = tls_ca.issue(folder, HOSTNAME)
    values = {
        "myhostname": HOSTNAME,
        "domains": "sender.test",
        "lmtp_target": f"127.0.0.1:{free_port()}",
        "tls_cert_file": str(certificates.cert_file),
        "tls_key_file": str(certificates.key_file),
        "sasldb_path": str(folder / "sasldb2"),
        # nothing listens there: every delivery attempt is deferred
        "relayhost": f"[127.0.0.1]:{free_port()}",
        "queue_run_delay": "300s",
        "minimal_backoff_time": "300s",
        "maximal_backoff_time": "600s",
    }
    try:
        with postfix_instance.running(values, role="out", sasl_password="queue test") as mta:
            submit(mta.config, "bob@remote.test", "carol@remote.test")
            submit(mta.config, "dave@remote.test")
            deferred = wait_until(lambda: in_queue(mta, "deferred", 2), timeout=30)
            held, kept = sorted(deferred, key=lambda m: len(m["recipients"]))
            subprocess.run([POSTSUPER, "-c", str(mta.config), "-h", held["queue_id"]],
                           check=True, capture_output=True, timeout=30)  # fmt: skip
            wait_until(lambda: in_queue(mta, "hold", 1), timeout=10)
            yield StuckQueue(mta, deferred_id=kept["queue_id"], held_id=held["queue_id"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def unprivileged(command: list[str], group: str = "postdrop") -> list[str]:
    """``command`` as nobody with ``group`` only, unable to gain privileges (setgid bits),
    as a container with allowPrivilegeEscalation: false."""
    gid = grp.getgrnam(group).gr_gid
    return [SETPRIV, "--reuid=65534", f"--regid={gid}", "--clear-groups", "--no-new-privs",
            *command]  # fmt: skip


@contextmanager
def exporter(queue: StuckQueue, port: int) -> Iterator[subprocess.Popen]:
    """``python -m facteur_mta.queue_metrics`` on 127.0.0.1:port, stopped with SIGTERM."""
    command = [sys.executable, "-m", "facteur_mta.queue_metrics", "--host", "127.0.0.1"]
    command += ["--config-dir", str(queue.instance.config), "--port", str(port)]
    process = subprocess.Popen(unprivileged(command), env={"PYTHONPATH": ":".join(sys.path)})
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def scrape(port: int, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
