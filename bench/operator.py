"""The operator's figures (issue 6): kopf against the Kubernetes API emulator, the real backend.

Runs the backend (gunicorn, 2 workers, on a fresh ``facteur_bench_operator`` database),
the emulator of backend/tests/operator/emulator.py in this process, and
``facteur-operator`` in a process of its own, then measures:

1. the time for one new MailDomain (default key, rsa-2048) to reach Ready=True, from the
   create call to the status seen in the emulator (several samples, one after the other);
2. the time for N MailDomains with M Mailboxes each to converge (every one Ready=True),
   from the first create call;
3. the API writes per object at steady state: every POST/PATCH/PUT/DELETE the emulator
   receives while each object is resynced at least once after convergence;
4. the operator's peak RSS (VmHWM of its process) over the whole run.

    .venv/bin/python bench/operator.py [--domains 100] [--mailboxes 10] [--smoke]

The full figures of the issue are ``--domains 1000`` (10,000 Mailboxes). Targets: one
domain Ready under 2 s, the whole set converged under 60 s, zero writes at steady state,
peak RSS under 200 MB. Misses are printed, not fatal: the exit status is non-zero only
when something fails (a process dies, convergence times out).

The emulator runs without its request log (``keep_requests=False``): a request's cost
there does not grow with the objects stored or the requests served, so that large runs
measure the operator rather than the emulator. The bench creates the objects from a pool
of ``--creators`` threads, as ``kubectl apply`` of many files or a GitOps tool would.
Everything runs on this machine: the backend, PostgreSQL and the emulator share its
cores with the operator, so the bench also prints the CPU time each part used while
converging (PostgreSQL, Redis and the kernel as the machine's total less the parts), and
every 15 s the objects Ready so far and the operator's RSS.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import multiprocessing
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _common import ROOT, free_port, setup_django

DB_NAME = "facteur_bench_operator"
TOKEN = "bench-operator-" + secrets.token_urlsafe(16)
NS = "bench"
CR = f"/apis/mail.facteur.dev/v1alpha1/namespaces/{NS}"
READY_TARGET_S, CONVERGE_TARGET_S, RSS_TARGET_MB = 2.0, 60.0, 200.0


# --- processes ------------------------------------------------------------------------------


class Process:
    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log_path = name, log
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait_http(self, url: str, timeout: float = 60) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            try:
                if requests.get(url, timeout=2).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s:\n{self.log_tail()}")

    def alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")

    def peak_rss_mb(self) -> float:
        return self._status_mb("VmHWM")

    def rss_mb(self) -> float:
        return self._status_mb("VmRSS")

    def _status_mb(self, field: str) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
        return int(match.group(1)) * 1024 / 1e6 if match else 0.0

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def bin_path(name: str) -> str:
    local = Path(sys.executable).parent / name
    return str(local if local.exists() else ROOT / ".venv" / "bin" / name)


# --- the emulator -----------------------------------------------------------------------------


class Cluster:
    def __init__(self, emulator: Any, url: str) -> None:
        self.emulator, self.url = emulator, url

    def ready(self, plural: str, among: set[str]) -> dict[str, bool]:
        """Name -> Ready=True, for the objects of ``plural`` named in ``among``, read in the
        emulator's memory by key (a scan of every object, 4 times a second, cost the
        emulator's process a sixth of its CPU in 1,000-domain runs)."""
        import kmock

        resource = kmock.resource(f"mail.facteur.dev/v1alpha1/{plural}")
        store = self.emulator.objects._objects  # kmock's store: key -> the object's versions
        found = {}
        for name in list(among):
            obj = store.get((resource, NS, name))
            if obj is None or obj.deleted:
                continue
            conditions = (obj.raw.get("status") or {}).get("conditions") or []
            found[name] = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        return found

    def status_written(self, start: int) -> tuple[dict[str, set[str]], int]:
        """The names whose status was written from the ``start``-th write on, by plural, and
        where the next look starts: only a status write can make an object Ready."""
        end = len(self.emulator.writes)
        names: dict[str, set[str]] = {}
        for write in self.emulator.writes[start:end]:
            parts = write.rsplit("/", 3)  # "PATCH .../PLURAL/NAME/status"
            if len(parts) == 4 and parts[3] == "status":
                names.setdefault(parts[1], set()).add(parts[2])
        return names, end

    def writes_served(self) -> int:
        return len(self.emulator.writes)

    def writes_since(self, start: int) -> list[str]:
        return self.emulator.writes[start:]


def domain_body(name: str, domain: str) -> dict:
    return {
        "apiVersion": "mail.facteur.dev/v1alpha1",
        "kind": "MailDomain",
        "metadata": {"name": name},
        "spec": {"domain": domain, "admins": [f"admin@{domain}"]},
    }


def mailbox_body(name: str, domain_name: str, local: str) -> dict:
    return {
        "apiVersion": "mail.facteur.dev/v1alpha1",
        "kind": "Mailbox",
        "metadata": {"name": name},
        "spec": {
            "domainRef": {"name": domain_name},
            "localPart": local,
            "aliases": [f"{local}-alias"],
        },
    }


def reconciles(metrics_port: int) -> float:
    import requests

    text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("facteur_operator_reconciles_total{")
    )


# --- the figures ------------------------------------------------------------------------------


class Creator:
    """Creates objects through the emulator's HTTP API, as kubectl would, on a kept-alive
    connection per thread. http.client rather than requests: the load generator is not
    what is measured, and requests cost four times the CPU per create."""

    def __init__(self, url: str) -> None:
        self.address, self.local = urlsplit(url).netloc, threading.local()

    def create(self, plural: str, body: dict) -> None:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = http.client.HTTPConnection(
                self.address, timeout=30
            )
        connection.request(
            "POST",
            f"{CR}/{plural}",
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        text = response.read()
        if response.status != 201:
            raise RuntimeError(f"create {plural}: {response.status} {text[:300]!r}")


def create_set(url: str, domains: int, per_domain: int, creators: int) -> None:
    """The whole set from ``creators`` threads. Run in a process of its own: in the
    emulator's, the clients took a fifth of its CPU and contended for its interpreter lock."""
    creator = Creator(url)

    def create_domain(d: int) -> None:
        # A domain, then its Mailboxes: the order a manifest of each domain gives.
        creator.create("maildomains", domain_body(f"d{d}", f"d{d}.bench.example"))
        for m in range(per_domain):
            creator.create("mailboxes", mailbox_body(f"d{d}-m{m}", f"d{d}", f"user{m}"))

    with ThreadPoolExecutor(creators) as pool:
        list(pool.map(create_domain, range(domains)))  # raises the first failure


def one_domain_ready(cluster: Cluster, samples: int, operator: Process) -> list[float]:
    times = []
    creator = Creator(cluster.url)
    for i in range(samples):
        name = f"single-{i}"
        started = time.perf_counter()
        creator.create("maildomains", domain_body(name, f"single{i}.example"))
        while not cluster.ready("maildomains", {name}).get(name):
            operator.alive()
            if time.perf_counter() - started > 60:
                raise RuntimeError(f"MailDomain {name} not Ready after 60 s")
            time.sleep(0.005)
        times.append(time.perf_counter() - started)
    return times


def converge(cluster: Cluster, args: argparse.Namespace, operator: Process) -> tuple[float, float]:
    """Create the set; (seconds to create it, seconds until all Ready) from the first create."""
    domains, per_domain, timeout = args.domains, args.mailboxes, args.timeout
    looked = cluster.writes_served()
    started = time.perf_counter()
    created = {"done": 0.0}
    process = multiprocessing.get_context("spawn").Process(
        target=create_set, args=(cluster.url, domains, per_domain, args.creators), daemon=True
    )
    process.start()

    def create_all() -> None:
        process.join()
        created["done"] = time.perf_counter() - started
        created["exitcode"] = float(process.exitcode or 0)

    creator = threading.Thread(target=create_all, daemon=True)
    creator.start()
    next_report = started + 15
    # Names not seen Ready yet. Each look reads those whose status was written since the
    # look before it, or in the interval before (a write is listed before it is stored).
    # Reading every pending name twice a second cost a tenth of the emulator process.
    pending = {
        "maildomains": {f"d{d}" for d in range(domains)},
        "mailboxes": {f"d{d}-m{m}" for d in range(domains) for m in range(per_domain)},
    }
    recent: dict[str, set[str]] = {}
    while True:
        operator.alive()
        if created.get("exitcode"):
            raise RuntimeError(f"creating the set failed (exit status {created['exitcode']:g})")
        written, looked = cluster.status_written(looked)
        for plural, names in pending.items():
            among = names & (written.get(plural, set()) | recent.get(plural, set()))
            names -= {name for name, ok in cluster.ready(plural, among).items() if ok}
        recent = written
        if not any(pending.values()):
            break
        if time.perf_counter() >= next_report:
            next_report += 15
            print(
                f"  {time.perf_counter() - started:4.0f} s: "
                f"{domains - len(pending['maildomains'])} MailDomains, "
                f"{domains * per_domain - len(pending['mailboxes'])} Mailboxes Ready; "
                f"operator RSS {operator.rss_mb():.0f} MB",
                flush=True,
            )
        if time.perf_counter() - started > timeout:
            raise RuntimeError(
                f"not converged after {timeout:.0f} s: {domains - len(pending['maildomains'])}"
                f"/{domains} domains, {domains * per_domain - len(pending['mailboxes'])}"
                f"/{domains * per_domain} mailboxes Ready"
            )
        time.sleep(0.5)
    elapsed = time.perf_counter() - started
    print(f"  {elapsed:4.1f} s: all {domains * (1 + per_domain)} objects Ready", flush=True)
    creator.join()
    return created["done"], elapsed


def steady_writes(
    cluster: Cluster, objects: int, metrics_port: int, resync: float, operator: Process
) -> tuple[list[str], float, float]:
    """Writes while every object is resynced at least once; (writes, reconciles, seconds).

    The window opens once the convergence's own writes are over: Ready is the status, and
    the Events a burst queued (posted one after the other) may still be going out."""
    quiet_since, seen, settle_deadline = time.time(), cluster.writes_served(), time.time() + 300
    while time.time() - quiet_since < 3 and time.time() < settle_deadline:
        operator.alive()
        time.sleep(0.5)
        if cluster.writes_served() != seen:
            quiet_since, seen = time.time(), cluster.writes_served()
    start, before, started = cluster.writes_served(), reconciles(metrics_port), time.time()
    deadline = started + max(4 * resync, 30)
    done = before
    while time.time() < deadline:
        operator.alive()
        time.sleep(max(resync / 4, 0.5))
        done = reconciles(metrics_port)
        if done - before >= objects and time.time() - started >= resync:
            break
    return cluster.writes_since(start), done - before, time.time() - started


def write_summary(writes: list[str], domains: int, per_domain: int) -> str:
    """The operator's writes by kind, per object of that kind."""
    kinds = {"maildomains": domains, "mailboxes": domains * per_domain}
    counts: dict[str, int] = {}
    for write in writes:
        method, path = write.removeprefix("method.").split(" ", 1)
        parts = path.strip("/").split("/")
        plural = parts[parts.index("namespaces") + 2] if "namespaces" in parts else parts[-1]
        if method == "POST" and plural in kinds:
            continue  # the bench's own creates
        what = f"{method} {plural}" + ("/status" if parts[-1] == "status" else "")
        counts[what] = counts.get(what, 0) + 1
    total = sum(counts.values())
    objects = sum(kinds.values())
    detail = ", ".join(f"{what} {n}" for what, n in sorted(counts.items(), key=lambda i: -i[1]))
    return f"{total} = {total / max(objects, 1):.2f} per object ({detail})"


def cpu_seconds(operator: Process, backend: Process) -> dict[str, float]:
    """CPU time used so far by each part of the run (user + system, live processes)."""
    import psutil

    def used(process: psutil.Process) -> float:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            return 0.0
        return times.user + times.system

    me = psutil.Process()
    backend_tree = psutil.Process(backend.process.pid)
    backend_pids = {backend_tree.pid} | {p.pid for p in backend_tree.children(recursive=True)}
    children = os.times()  # the creators' process, once it has ended (waited for)
    found = {
        "operator": used(psutil.Process(operator.process.pid)),
        "emulator and bench": used(me),
        "the bench's clients": children.children_user + children.children_system,
    }
    found["backend"] = sum(used(psutil.Process(pid)) for pid in backend_pids)
    # PostgreSQL's connections come and go (and the embedded server runs detached): it is
    # counted with Redis and the kernel as what the whole machine used besides the parts.
    # Linux's guest times are within user and nice already, steal is another VM's.
    machine = psutil.cpu_times()
    found["machine"] = sum(
        getattr(machine, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq")
    )
    return found


def run_figures(
    cluster: Cluster,
    args: argparse.Namespace,
    operator: Process,
    backend: Process,
    metrics_port: int,
) -> tuple:
    import psutil

    print(
        f"backend: gunicorn, 2 workers; emulator in this process; operator pid "
        f"{operator.process.pid}, resync {args.resync:g} s"
    )

    single = one_domain_ready(cluster, args.samples, operator)
    before, writes_before = cpu_seconds(operator, backend), cluster.writes_served()
    created_in, converged_in = converge(cluster, args, operator)
    after = cpu_seconds(operator, backend)
    used = {part: after[part] - before[part] for part in after}
    machine = used.pop("machine")
    used["PostgreSQL, Redis and the kernel"] = machine - sum(used.values())
    print(
        "CPU used while converging: "
        + ", ".join(f"{part} {seconds:.0f} s" for part, seconds in used.items())
        + f" ({machine:.0f} s in all, of {converged_in * psutil.cpu_count():.0f} s on "
        f"{psutil.cpu_count()} cores); operator RSS peak so far {operator.peak_rss_mb():.0f} MB"
    )
    summary = write_summary(cluster.writes_since(writes_before), args.domains, args.mailboxes)
    print(f"API writes while converging (the bench's creates excluded): {summary}")
    objects = args.samples + args.domains * (1 + args.mailboxes)
    writes, resynced, window = steady_writes(cluster, objects, metrics_port, args.resync, operator)
    peak = operator.peak_rss_mb()
    return single, created_in, converged_in, objects, writes, resynced, window, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=100)
    parser.add_argument("--mailboxes", type=int, default=10, help="Mailboxes per MailDomain")
    parser.add_argument("--samples", type=int, default=5, help="single MailDomains timed")
    parser.add_argument(
        "--resync",
        type=float,
        help="the operator's resync period (default: 30 s, or 1 s per 40 objects when more)",
    )
    parser.add_argument("--creators", type=int, default=8, help="threads creating objects")
    parser.add_argument("--timeout", type=float, default=1800, help="convergence limit (s)")
    parser.add_argument("--smoke", action="store_true", help="a few seconds: 3 domains")
    args = parser.parse_args()
    if args.smoke:
        args.domains, args.mailboxes, args.samples, args.resync = 3, 2, 1, 2.0
    if args.resync is None:
        # Every object is resynced once a period: 40 a second keeps that load below what
        # the 2-worker backend serves besides the changes (300 s, the default, at 11,000).
        args.resync = max(30.0, (args.samples + args.domains * (1 + args.mailboxes)) / 40)

    setup_django(database=DB_NAME)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # the emulator's requests
    from tests.operator.emulator import running_api_server

    logs = Path(os.environ.get("FACTEUR_BENCH_LOGS", ROOT / "var" / "bench"))
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        PYTHONUNBUFFERED="1",
        FACTEUR_SERVICE_TOKEN=TOKEN,
        FACTEUR_ALLOWED_HOSTS="127.0.0.1",
        FACTEUR_DEBUG="false",
        FACTEUR_SECURE_COOKIES="false",
        FACTEUR_LOG_LEVEL="WARNING",
    )
    backend_port, metrics_port, live_port = free_port(), free_port(), free_port()
    command = [
        bin_path("gunicorn"), "facteur.config.wsgi:application",
        "--bind", f"127.0.0.1:{backend_port}", "--workers", "2", "--timeout", "60",
    ]  # fmt: skip
    backend = Process("the backend", command, env, logs / "bench-operator-backend.log")
    operator: Process | None = None
    try:
        backend.wait_http(f"http://127.0.0.1:{backend_port}/api/v1.0/auth/config/")
        with running_api_server(dns_endpoint=True, keep_requests=False) as (emulator, url):
            operator_env = dict(
                env,
                FACTEUR_OPERATOR_KUBE_SERVER=url,
                FACTEUR_BACKEND_URL=f"http://127.0.0.1:{backend_port}",
                FACTEUR_OPERATOR_MX_HOST="mx.bench.example",
                FACTEUR_OPERATOR_RESYNC_SECONDS=str(args.resync),
                FACTEUR_OPERATOR_METRICS_PORT=str(metrics_port),
                FACTEUR_OPERATOR_METRICS_ADDR="127.0.0.1",
                FACTEUR_OPERATOR_LIVENESS=f"http://127.0.0.1:{live_port}/healthz",
            )
            operator = Process(
                "the operator",
                [bin_path("facteur-operator")],
                operator_env,
                logs / "bench-operator.log",
            )
            operator.wait_http(f"http://127.0.0.1:{live_port}/healthz")
            try:
                figures = run_figures(Cluster(emulator, url), args, operator, backend, metrics_port)
            finally:
                operator.stop()  # before the emulator: its watch streams would keep it serving
        single, created_in, converged_in, objects, writes, resynced, window, peak = figures

        def verdict(ok: bool) -> str:
            return "ok" if ok else "MISSED"

        worst = max(single)
        print(
            f"one MailDomain Ready: median {statistics.median(single):.2f} s, "
            f"max {worst:.2f} s over {len(single)} (target < {READY_TARGET_S:g} s: "
            f"{verdict(worst < READY_TARGET_S)})"
        )
        print(
            f"{args.domains} MailDomains x {args.mailboxes} Mailboxes "
            f"({args.domains * (1 + args.mailboxes)} objects) converged in {converged_in:.1f} s "
            f"(created in {created_in:.1f} s; target < {CONVERGE_TARGET_S:g} s: "
            f"{verdict(converged_in < CONVERGE_TARGET_S)})"
        )
        print(
            f"steady state: {len(writes)} API writes over {window:.0f} s and {resynced:.0f} "
            f"reconciles of {objects} objects = {len(writes) / objects:.3f} per object "
            f"(target 0: {verdict(not writes and resynced >= objects)}"
            + ("" if resynced >= objects else "; not every object was resynced: see its log")
            + ")"
        )
        for write in writes[:10]:
            print(f"  {write}")
        print(
            f"operator peak RSS: {peak:.0f} MB (target < {RSS_TARGET_MB:g} MB: "
            f"{verdict(peak < RSS_TARGET_MB)})"
        )
        if resynced < objects:
            print("  (not every object was resynced in the window: raise --resync's window)")
        return 0
    finally:
        if operator is not None:
            operator.stop()
        backend.stop()


if __name__ == "__main__":
    sys.exit(main())
