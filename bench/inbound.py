"""Inbound mail end to end: SMTP clients -> real Postfix (MTA-in) -> LMTP -> delivery service.

    .venv/bin/python bench/inbound.py                 # 5,000 messages, 8 client threads
    .venv/bin/python bench/inbound.py --messages 20000 --clients 16
    .venv/bin/python bench/inbound.py --smoke         # 200 messages, for CI

Needs Postfix and root (a private instance is started, as in tests/mta). Starts, on a
fresh bench database: gunicorn (the MTA API, with FACTEUR_SERVICE_TOKEN), the policy
service (``facteur-policy``), the delivery service (``facteur-delivery --no-smtp``) and
a Postfix rendered by ``facteur_mta.render`` (postscreen, policy check, relay over LMTP:
the production MTA-in config, only its directories and ports private). The corpus is the
one of bench/ingest.py (~20 KB MIME messages), generated before the clock starts.

Client threads each send one message per SMTP session (an MX sees one message per
connection from most senders). Measured: messages/s from the first connection until
every copy is stored (the database is polled), the acceptance latency per message
(end of DATA to Postfix's 250, as the client sees it), CPU of each component over the
run and the delivery service's RSS, sampled every 100 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from _common import ROOT, free_port, percentile, setup_django
from ingest import DOMAIN, Corpus, create_mailboxes

TOKEN = "bench-inbound-service-token"
SENDER = "sender@corp.example"
TARGET_RATE = 500.0  # messages/s
TARGET_P99_MS = 50.0
TARGET_RSS_MB = 200.0
FLAT_MB = 10.0  # "flat": no more growth than this after warm-up
WARMUP = 50
BIN = Path(sys.executable).parent


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout=30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


class Processes:
    """Subprocesses started by the benchmark, stopped (SIGTERM, then SIGKILL) in reverse."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.started.append((name, process))
        return process

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        text = path.read_text(errors="replace").splitlines() if path.exists() else []
        return "\n".join(text[-lines:])

    def stop_all(self) -> None:
        for _, process in reversed(self.started):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def wait_for_api(base: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    url = f"{base}/api/v1.0/mta/recipients/user00@{DOMAIN}/"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the MTA API did not answer at {url}")


class RssSampler(threading.Thread):
    """RSS of one process every ``interval`` s, with the number of messages stored so far."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import psutil

        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (monotonic time, MB)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.samples.append((time.monotonic(), self.process.memory_info().rss / 1e6))
            except Exception:  # the process is gone
                return
            self.stopping.wait(self.interval)

    def at(self, moment: float) -> float:
        before = [mb for t, mb in self.samples if t <= moment]
        return before[-1] if before else self.samples[0][1]

    def stop(self) -> None:
        self.stopping.set()
        self.join(2)


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its live descendants and every child it has reaped
    (this process alone for our own pid: the services are our children)."""
    import psutil

    if pid == os.getpid():
        own = psutil.Process().cpu_times()
        return own.user + own.system
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            t = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def postmaster_pid(connection) -> list[int]:
    """The postmaster serving the bench database, when it runs on this machine."""
    import psutil

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        return [psutil.Process(backend).ppid()]
    except psutil.NoSuchProcess:  # another machine: its CPU is not counted
        return []


_EOL = re.compile(rb"\r\n|\n|\r")
_LEADING_DOT = re.compile(rb"(?m)^\.")


def wire_form(raw: bytes) -> bytes:
    """CRLF line ends and dot-stuffing, as smtplib.SMTP.data would send it (no final dot)."""
    data = _LEADING_DOT.sub(b"..", _EOL.sub(b"\r\n", raw))
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class Clients:
    """Threads sending messages, one per SMTP session; acceptance latency per message."""

    def __init__(self, port: int, count: int) -> None:
        self.port = port
        self.count = count
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.first_connect = self.last_accept = 0.0
        self.lock = threading.Lock()

    def send_all(self, messages: list[tuple[bytes, list[str]]]) -> None:
        queue = iter(messages)
        threads = [threading.Thread(target=self._worker, args=(queue,)) for _ in range(self.count)]
        self.first_connect = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _worker(self, queue) -> None:
        while True:
            with self.lock:
                item = next(queue, None)
            if item is None:
                return
            try:
                latency = self._send(*item)
            except (OSError, smtplib.SMTPException) as exc:
                with self.lock:
                    self.failures.append(repr(exc))
                continue
            with self.lock:
                self.latencies.append(latency)
                self.last_accept = max(self.last_accept, time.perf_counter())

    def _send(self, data: bytes, recipients: list[str]) -> float:
        client = smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.corp.example",
                              timeout=60)  # fmt: skip
        try:
            client.ehlo()
            code, text = client.mail(SENDER)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, text, SENDER)
            for recipient in recipients:
                code, text = client.rcpt(recipient)
                if code != 250:
                    raise smtplib.SMTPRecipientsRefused({recipient: (code, text)})
            code, text = client.docmd("DATA")
            if code != 354:
                raise smtplib.SMTPDataError(code, text)
            # One write: a separate ".\r\n" would wait for the delayed ACK of the body (Nagle).
            started = time.perf_counter()
            client.send(data + b".\r\n")
            code, text = client.getreply()
            latency = time.perf_counter() - started
            if code != 250:
                raise smtplib.SMTPDataError(code, text)
            client.quit()
        finally:
            client.close()
        return latency


def stored_count() -> int:
    from facteur.mail.models import Message

    return Message.objects.count()


def wait_stored(expected: int, timeout: float, poll: float = 0.05) -> tuple[float, int, int]:
    """Poll until ``expected`` message copies are stored; (time it happened, count, count
    at the first poll)."""
    deadline = time.perf_counter() + timeout
    count = first = stored_count()
    while count < expected and time.perf_counter() < deadline:
        time.sleep(poll)
        count = stored_count()
    return time.perf_counter(), count, first


def verdict(met: bool) -> str:
    return "PASS" if met else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8, help="concurrent SMTP client threads")
    parser.add_argument("--smoke", action="store_true", help="200 messages, for CI")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep-logs", action="store_true", help="keep the services' logs")
    args = parser.parse_args()
    count = 200 if args.smoke else args.messages
    if not (shutil.which("postfix") or os.path.exists("/usr/sbin/postfix")) or os.geteuid():
        print("bench/inbound.py needs Postfix and root (scripts/peers)", file=sys.stderr)
        return 2

    setup_django(database="facteur_bench_inbound")
    from django.db import connection

    from tests.mta import postfix_instance

    create_mailboxes()
    postmaster = postmaster_pid(connection)
    connection.close()  # the web server and the delivery service have their own

    corpus = Corpus(args.seed)
    warmup = [corpus.next()[:2] for _ in range(WARMUP)]
    generated = [corpus.next()[:2] for _ in range(count)]
    messages = [(wire_form(raw), recipients) for raw, recipients in generated]
    warm_messages = [(wire_form(raw), recipients) for raw, recipients in warmup]
    sizes = [len(raw) for raw, _ in generated]
    copies = sum(len(set(r)) for _, r in generated)
    warm_copies = sum(len(set(r)) for _, r in warmup)
    del generated, warmup

    log_dir = Path(tempfile.mkdtemp(prefix="facteur-bench-inbound-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "FACTEUR_SERVICE_TOKEN": TOKEN}
    processes = Processes(log_dir)
    with ExitStack() as stack:
        stack.callback(processes.stop_all)
        api_port, policy_port, lmtp_port = free_port(), free_port(), free_port()
        metrics_port = free_port()
        web = processes.start("gunicorn", [
            str(BIN / "gunicorn"), "facteur.config.wsgi:application",
            "--bind", f"127.0.0.1:{api_port}", "--workers", "1", "--timeout", "60",
        ], env)  # fmt: skip
        delivery = processes.start("delivery", [
            str(BIN / "facteur-delivery"), "--no-smtp", "--lmtp-port", str(lmtp_port),
            "--metrics-port", str(metrics_port),
        ], env)  # fmt: skip
        api = f"http://127.0.0.1:{api_port}"
        policy = processes.start("policy", [
            str(BIN / "facteur-policy"), "--port", str(policy_port), "--api-url", api,
        ], env)  # fmt: skip
        try:
            wait_for_api(api, web)
            wait_for_port(policy_port, policy)
            wait_for_port(lmtp_port, delivery)
        except (RuntimeError, TimeoutError):
            for name, _ in processes.started:
                print(f"--- {name}\n{processes.log_tail(name)}", file=sys.stderr)
            raise
        mta = stack.enter_context(
            postfix_instance.running({
                "myhostname": "mx.bench.test",
                "domains": DOMAIN,
                "lmtp_target": f"127.0.0.1:{lmtp_port}",
                "policy_service": f"127.0.0.1:{policy_port}",
            })
        )  # fmt: skip
        master_pid = int((mta.root / "spool" / "pid" / "master.pid").read_text().split()[0])

        rss = RssSampler(delivery.pid)
        rss.start()
        stack.callback(rss.stop)

        # Warm-up: connections, caches, the policy service's answers; not timed.
        warm = Clients(mta.smtp_port, args.clients)
        warm.send_all(warm_messages)
        _, stored, _ = wait_stored(warm_copies, timeout=60)
        if warm.failures or stored < warm_copies:
            print(f"warm-up failed: {warm.failures[:3]}, {stored}/{warm_copies} stored",
                  file=sys.stderr)  # fmt: skip
            print(mta.log[-3000:], file=sys.stderr)
            return 1
        import psutil

        groups = {
            "Postfix": [master_pid],
            "delivery service": [delivery.pid],
            "PostgreSQL": postmaster,
            "policy + gunicorn": [policy.pid, web.pid],
            "SMTP clients (this process)": [os.getpid()],
        }
        cpu_before = {name: sum(map(tree_cpu, pids)) for name, pids in groups.items()}
        batches_before = batch_sizes(metrics_port)
        system_before = psutil.cpu_times()
        load_before = os.getloadavg()[0]

        maillog_offset = len(mta.log)
        delivery_log = log_dir / "delivery.log"
        delivery_offset = delivery_log.stat().st_size
        clients = Clients(mta.smtp_port, args.clients)
        clients.send_all(messages)
        done, stored, at_last_accept = wait_stored(warm_copies + copies, max(120, count / 20))
        elapsed = done - clients.first_connect

        cpu = {name: sum(map(tree_cpu, pids)) - cpu_before[name] for name, pids in groups.items()}
        batches = [a - b for a, b in zip(batch_sizes(metrics_port), batches_before, strict=True)]
        system_after = psutil.cpu_times()
        load_after = os.getloadavg()[0]
        rss.stop()
        queue_left = subprocess.run(
            ["postqueue", "-c", str(mta.config), "-p"], capture_output=True, text=True
        ).stdout.strip().splitlines()[-1:]  # fmt: skip
        maillog = mta.log[maillog_offset:]
        with delivery_log.open("rb") as log:
            log.seek(delivery_offset)
            handler_ms = sorted(
                map(float, re.findall(rb"reply=[0-9,]+ in ([0-9.]+) ms", log.read()))
            )

    latencies = sorted(clients.latencies)
    accepted = len(latencies)
    stored -= warm_copies
    complete = stored >= copies and accepted == count
    rate = count / elapsed if complete else stored / elapsed * count / max(copies, 1)
    accept_span = clients.last_accept - clients.first_connect
    busy = sum(
        getattr(system_after, f) - getattr(system_before, f)
        for f in ("user", "system", "nice", "irq", "softirq")
    )
    idle = sum(getattr(system_after, f) - getattr(system_before, f) for f in ("idle", "iowait"))
    run_samples = [(t, mb) for t, mb in rss.samples if t >= clients.first_connect]
    start_mb = rss.at(clients.first_connect)
    peak_mb = max(mb for _, mb in rss.samples)
    end_mb = run_samples[-1][1] if run_samples else start_mb
    deferred = len(re.findall(r"status=deferred", maillog))
    # Postfix's delays=a/b/c/d per LMTP delivery: before the queue manager (smtpd+cleanup),
    # in the queue manager, connection setup, transmission (LMTP, the delivery service's DATA).
    delays = [tuple(map(float, d)) for d in re.findall(
        r"delays=([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+), dsn=2[0-9.]*, status=sent", maillog
    )]  # fmt: skip
    p99 = percentile(latencies, 0.99) * 1000

    print(f"corpus: {count} messages, average {sum(sizes) / len(sizes) / 1024:.1f} KB "
          f"(min {min(sizes) / 1024:.1f}, max {max(sizes) / 1024:.1f}), {copies} copies to "
          f"store; {args.clients} client threads, one message per SMTP session; "
          f"{WARMUP} warm-up messages before the clock")  # fmt: skip
    print(f"path: smtplib -> Postfix {postfix_version()} (postscreen, smtpd + policy service, "
          f"cleanup, qmgr) -> LMTP -> facteur-delivery -> PostgreSQL")  # fmt: skip
    print(f"accepted: {accepted}/{count} with 250 in {accept_span:.2f} s "
          f"({accepted / accept_span:.0f} msg/s at the SMTP door); "
          f"{len(clients.failures)} failed {clients.failures[:1]}")  # fmt: skip
    print(f"stored: {stored}/{copies} copies, the last {done - clients.last_accept:.2f} s after "
          f"the last 250; LMTP deferrals in the Postfix log: {deferred}; "
          f"queue at the end: {' '.join(queue_left) or 'empty'}")  # fmt: skip
    tail = done - clients.last_accept
    print(f"delivery alone, after the last 250 (clients done, Postfix draining its queue): "
          f"{(stored + warm_copies - at_last_accept) / tail:.0f} copies/s over {tail:.1f} s; "
          f"{at_last_accept - warm_copies}/{copies} copies stored at the last 250")  # fmt: skip
    print(f"throughput: {rate:.0f} messages/s end to end ({elapsed:.2f} s from the first "
          f"connection until every copy was stored)")  # fmt: skip
    print("acceptance latency (end of DATA to 250): "
          + ", ".join(f"p{int(p * 100)} {percentile(latencies, p) * 1000:.2f} ms"
                      for p in (0.5, 0.95, 0.99))
          + (f", max {latencies[-1] * 1000:.1f} ms" if latencies else ""))  # fmt: skip
    if delays:
        columns = list(zip(*delays, strict=True))
        print("Postfix delays per LMTP delivery (s, p50/p95): " + "; ".join(
            f"{name} {percentile(sorted(c), 0.5):.2f}/{percentile(sorted(c), 0.95):.2f}"
            for name, c in zip(("before qmgr", "in qmgr", "connect", "LMTP transfer"),
                               columns, strict=True)
        ))  # fmt: skip
    if handler_ms:
        print(f"delivery service DATA (receive + ingest + commit): {len(handler_ms)} messages, "
              f"p50 {percentile(handler_ms, 0.5):.1f} ms, p95 {percentile(handler_ms, 0.95):.1f} "
              f"ms, p99 {percentile(handler_ms, 0.99):.1f} ms")  # fmt: skip
    if batches[0]:
        print(f"group commit: {batches[1]:.0f} messages in {batches[0]:.0f} transactions "
              f"({batches[1] / batches[0]:.1f} per transaction on average)")  # fmt: skip
    print("CPU over the run (s, and per message in ms): "
          + "; ".join(f"{name} {seconds:.1f} ({seconds / count * 1000:.2f})"
                      for name, seconds in cpu.items()))  # fmt: skip
    print(f"machine: {os.cpu_count()} CPUs, {busy / (busy + idle) * 100:.0f} % busy during the "
          f"run; load average {load_before:.2f} before, {load_after:.2f} after")  # fmt: skip
    print(f"delivery service RSS: {start_mb:.1f} MB at the start of the run, {end_mb:.1f} MB at "
          f"the end ({end_mb - start_mb:+.1f} MB), peak {peak_mb:.1f} MB "
          f"({len(rss.samples)} samples every 100 ms)")  # fmt: skip
    flat = end_mb - start_mb <= FLAT_MB
    print(f"target {TARGET_RATE:.0f} msg/s end to end: {verdict(complete and rate >= TARGET_RATE)}"
          f" ({rate:.0f})")  # fmt: skip
    print(f"target p99 acceptance < {TARGET_P99_MS:.0f} ms: {verdict(p99 < TARGET_P99_MS)}"
          f" ({p99:.1f} ms)")  # fmt: skip
    print(f"target delivery RSS < {TARGET_RSS_MB:.0f} MB and flat (<= +{FLAT_MB:.0f} MB): "
          f"{verdict(peak_mb < TARGET_RSS_MB and flat)} (peak {peak_mb:.1f} MB, "
          f"{end_mb - start_mb:+.1f} MB)")  # fmt: skip
    if args.keep_logs:
        (log_dir / "maillog").write_text(maillog)
        print(f"logs kept in {log_dir}")
    else:
        shutil.rmtree(log_dir, ignore_errors=True)
    return 0 if complete and not clients.failures else 1


def batch_sizes(port: int) -> tuple[float, float]:
    """(batches, messages) the delivery service has stored so far, from its metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    found = dict(re.findall(r"^facteur_delivery_batch_messages_(count|sum) ([0-9.e+]+)$",
                            text, re.MULTILINE))  # fmt: skip
    return float(found.get("count", 0)), float(found.get("sum", 0))


def postfix_version() -> str:
    result = subprocess.run(["postconf", "-d", "-h", "mail_version"], capture_output=True,
                            text=True)  # fmt: skip
    return result.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
