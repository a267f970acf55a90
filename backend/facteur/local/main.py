"""``facteur-local run``: the whole suite on one machine, with embedded defaults.

Start-up, in order: the data folder (``var/``, or FACTEUR_VAR_DIR) and its lock; the
embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set; the secret key
(``var/secret-key``); migrations; static files; the demo data on first start; then the
long-running processes of :func:`process_specs`, whose output is streamed with their
name in front. Ctrl-C or SIGTERM stops them all (SIGTERM, then SIGKILL after a
timeout), then the embedded servers, and exits 0; a process that dies on its own stops
the rest and exits 1.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import IO

from facteur.local import embedded, environment
from facteur.local.processes import ProcessSpec, Supervisor

HOST = "127.0.0.1"
READY_TIMEOUT = 90.0


class StopRequested(Exception):
    """SIGINT, SIGTERM or SIGHUP arrived."""


class StartupFailed(Exception):
    """The suite cannot start; the message says why."""


def say(message: str = "") -> None:
    sys.stdout.write(f"{message}\n")
    sys.stdout.flush()


def process_specs(
    *, var_dir: Path, port: int, web_workers: int, smtp_port: int = 2525
) -> list[ProcessSpec]:
    """The long-running processes, started in this order and stopped together."""
    python = sys.executable
    prometheus_dir = var_dir / "prometheus"
    # Samples of a previous run's processes would be added to this run's.
    shutil.rmtree(prometheus_dir, ignore_errors=True)
    prometheus_dir.mkdir(parents=True)
    return [
        ProcessSpec(
            name="web",
            argv=[
                *(python, "-m", "gunicorn", "facteur.config.wsgi:application"),
                f"--bind={HOST}:{port}",
                f"--workers={web_workers}",
                "--access-logfile=-",
                "--graceful-timeout=10",
                # gunicorn 27's control socket defaults to ~/.gunicorn/: shared by every run.
                "--no-control-socket",
            ],
            env={"PROMETHEUS_MULTIPROC_DIR": str(prometheus_dir)},
        ),
        ProcessSpec(
            name="worker",
            argv=[
                *(python, "-m", "celery", "--app=facteur", "worker"),
                "--concurrency=2",
                "--loglevel=INFO",
                # One worker on one machine: nobody to synchronise with at start-up.
                "--without-mingle",
                "--without-gossip",
            ],
        ),
        ProcessSpec(
            name="beat",
            argv=[
                *(python, "-m", "celery", "--app=facteur", "beat"),
                "--loglevel=INFO",
                f"--schedule={var_dir / 'celerybeat-schedule'}",
            ],
        ),
        # The delivery service, SMTP face only: there is no Postfix to speak LMTP here.
        ProcessSpec(
            name="smtp",
            argv=[
                *(python, "-m", "facteur.delivery.main"),
                "--no-lmtp",
                f"--smtp-port={smtp_port}",
            ],
        ),
    ]


def _lock(var_dir: Path) -> IO[str]:
    handle = (var_dir / "facteur-local.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise StartupFailed(
            f"{var_dir} is in use by a running facteur-local (pid {owner}); stop it first, "
            "or choose another data folder with FACTEUR_VAR_DIR."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _check_port(port: int, option: str = "--port") -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            raise StartupFailed(
                f"{HOST}:{port} is in use: stop what listens there, or choose another port "
                f"with {option}."
            ) from None


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _prepare_database(var_dir: Path, *, demo: bool, url: str) -> None:
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    say("==> applying database migrations")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if demo:
        _seed_demo(var_dir, url=url)
    connections.close_all()  # the children open their own


def _seed_demo(var_dir: Path, *, url: str) -> None:
    from facteur.demo.seed import DOMAIN, demo_seed

    credentials = var_dir / "demo-credentials.txt"
    result = demo_seed(credentials_file=credentials, url=url)
    if not result.created:
        where = (
            f"passwords in {_relative(credentials)}"
            if credentials.exists()
            else "set passwords with `facteur-admin user set-password EMAIL`"
        )
        say(f"==> demo domain {DOMAIN} present ({where})")
        return
    say(f"==> created the demo domain {DOMAIN}; log in with:")
    for account in result.accounts:
        say(f"      {account.email:<22} {account.password}   ({account.roles})")
    say(f"    saved in {_relative(credentials)} (readable by you only)")


def _wait_ready(url: str, supervisor: Supervisor) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        dead = supervisor.first_exited()
        if dead is not None:
            raise StartupFailed(
                f"{dead.name} exited with status {dead.popen.returncode} while starting"
            )
        try:
            with urllib.request.urlopen(f"{url}healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise StartupFailed(f"the web server did not answer on {url} within {READY_TIMEOUT:.0f}s")


def _banner(url: str, var_dir: Path, started: dict[str, str], smtp_port: int) -> None:
    database = "embedded, " + _relative(var_dir / "postgres")
    if "DATABASE_URL" not in started:
        database = "DATABASE_URL"
    redis = "embedded, " + _relative(var_dir / "redis")
    if "REDIS_URL" not in started:
        redis = "REDIS_URL"
    credentials = var_dir / "demo-credentials.txt"
    rule = "-" * 72
    lines = [
        rule,
        f" Facteur is running at {url}",
        f"   API          {url}api/v1.0/   (OpenAPI schema: {url}api/v1.0/schema/)",
        f"   Django admin {url}admin/  (staff accounts only: facteur-admin user create",
        "                EMAIL --staff --random-password)",
        f"   Probes       {url}healthz  {url}readyz  {url}metrics",
        f"   SMTP in      {HOST}:{smtp_port}  (swaks --to user1@example.local "
        f"--server {HOST}:{smtp_port})",
    ]
    if credentials.exists():
        lines.append(f"   Log in       user1@example.local; passwords in {_relative(credentials)}")
    lines += [
        f"   Data         {_relative(var_dir)}  (PostgreSQL: {database}; Redis: {redis})",
        "   Admin CLI    .venv/bin/facteur-admin --help",
        " Press Ctrl-C to stop.",
        rule,
    ]
    say("\n".join(lines))


def run(*, port: int, web_workers: int, demo: bool, smtp_port: int = 2525) -> int:
    var_dir = environment.default_var_dir()
    url = f"http://{HOST}:{port}/"
    supervisor = Supervisor()
    stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    forced = False
    exit_code = 0
    lock = None

    def request_stop(signum: int, frame: FrameType | None) -> None:
        raise StopRequested(signal.Signals(signum).name)

    def force_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal forced
        forced = True

    previous = {signum: signal.signal(signum, request_stop) for signum in stop_signals}
    try:
        var_dir.mkdir(parents=True, exist_ok=True)
        lock = _lock(var_dir)
        _check_port(port)
        _check_port(smtp_port, "--smtp-port")
        say(f"==> data folder {var_dir}")
        started = environment.prepare(var_dir)
        if "REDIS_URL" in started:
            embedded.redis_adopt(var_dir / "redis")
        os.environ.setdefault("FACTEUR_PUBLIC_URL", url.rstrip("/"))
        for name, folder in (("PostgreSQL", "postgres"), ("Redis", "redis")):
            key = "DATABASE_URL" if name == "PostgreSQL" else "REDIS_URL"
            where = f"embedded in {_relative(var_dir / folder)}" if key in started else key
            say(f"==> {name}: {where}")
        _prepare_database(var_dir, demo=demo, url=url)

        specs = process_specs(
            var_dir=var_dir, port=port, web_workers=web_workers, smtp_port=smtp_port
        )
        for spec in specs:
            child = supervisor.start(spec)
            say(f"==> started {spec.name} (pid {child.pid})")
        _wait_ready(url, supervisor)
        _banner(url, var_dir, started, smtp_port)

        while True:
            dead = supervisor.first_exited()
            if dead is not None:
                say(
                    f"==> {dead.name} exited unexpectedly with status {dead.popen.returncode}: "
                    "stopping everything"
                )
                exit_code = 1
                break
            time.sleep(0.25)
    except StopRequested as stop:
        say(f"\n==> {stop}: stopping (Ctrl-C again to kill at once)")
    except StartupFailed as exc:
        say(f"facteur-local: error: {exc}")
        exit_code = 1
    finally:
        # From here on a signal only hurries the shutdown along.
        for signum in stop_signals:
            signal.signal(signum, force_stop)
        supervisor.stop_all(force=lambda: forced)
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        embedded.stop_all()
        if lock is not None:
            lock.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    say("==> stopped" if exit_code == 0 else "==> stopped after an error")
    return exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="facteur-local", description="Run Facteur on this machine with embedded defaults."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_parser = commands.add_parser(
        "run",
        help="start the web server, the Celery worker and beat, the SMTP listener "
        "(Ctrl-C stops them)",
        description="Start the suite: web server, Celery worker and beat, SMTP listener, with "
        "embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set. Data goes to "
        "var/ (FACTEUR_VAR_DIR).",
    )
    run_parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("FACTEUR_PORT", "8000")),
        help=f"HTTP port on {HOST} (default 8000, or FACTEUR_PORT)",
    )
    run_parser.add_argument(
        "--smtp-port",
        type=int,
        default=int(os.environ.get("FACTEUR_SMTP_LISTENER_PORT", "2525")),
        help=f"SMTP port on {HOST} for incoming mail (default 2525, or FACTEUR_SMTP_LISTENER_PORT)",
    )
    run_parser.add_argument(
        "--web-workers", type=int, default=2, help="gunicorn worker processes (default 2)"
    )
    run_parser.add_argument(
        "--no-demo", action="store_true", help="do not create the demo domain on first start"
    )
    args = parser.parse_args(argv)
    return run(
        port=args.port,
        web_workers=args.web_workers,
        demo=not args.no_demo,
        smtp_port=args.smtp_port,
    )


if __name__ == "__main__":
    sys.exit(main())
