"""A real ``celery worker`` process (prefork) against the test database and broker, with
its metrics served on loopback as the chart serves them in a pod."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from django.conf import settings

from tests.cli.conftest import console_script, database_url
from tests.net import free_port
from tests.waiting import wait_until


class Worker:
    def __init__(self, process: subprocess.Popen, port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    def metrics(self) -> str | None:
        """The worker's /metrics, or None while it is not serving yet."""
        assert self.process.poll() is None, self.log.read_text()
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/metrics", timeout=2).text
        except requests.ConnectionError:
            return None


@contextmanager
def celery_worker(tmp_path: Path, **env: str) -> Iterator[Worker]:
    """Started, serving its metrics; stopped (warm shutdown) on the way out."""
    port = free_port()
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FACTEUR_", "DJANGO_", "DATABASE_", "REDIS_", "CELERY_"))
    }
    environment.update(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        FACTEUR_SECRET_KEY="test-only-secret-key-not-for-production",
        FACTEUR_WORKER_METRICS_PORT=str(port),
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
        **env,
    )
    log = tmp_path / "worker.log"
    command = [
        str(console_script("celery")), "--app=facteur", "worker", "--pool=prefork",
        "--concurrency=1", "--loglevel=INFO", f"--queues={settings.CELERY_TASK_DEFAULT_QUEUE}",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    worker = Worker(process, port, log)
    try:
        wait_until(worker.metrics, timeout=60)
        yield worker
    finally:
        process.terminate()
        process.wait(timeout=60)
