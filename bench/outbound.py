"""Outbound mail: compose + DKIM-sign + hand to the relay, through the real send task.

    .venv/bin/python bench/outbound.py                      # 2,000 messages, 2 worker processes
    .venv/bin/python bench/outbound.py --algorithm ed25519  # Ed25519 instead of RSA 2048
    .venv/bin/python bench/outbound.py --smoke              # 100 messages, for CI

On a fresh bench database: one domain with its DKIM key, one mailbox, and N drafts made
before the clock starts (text + HTML bodies of 10-25 sentences like bench/ingest.py's
corpus, one in eight with a 6-30 KB attachment, 1 to 3 remote recipients each). An
aiosmtpd server in this process stands for the relay (MTA-out). A real Celery worker
(prefork, ``--workers`` processes, Redis broker) runs ``facteur.sending.tasks.message_send``.

The clock runs from queuing every draft (``message_send_request``, as the send API does,
with a zero undo window) until the relay has received every message; per message, the
latency from queuing to the relay's 250. Also measured: the worker's CPU per message,
its peak RSS, and (single-threaded, in this process, on a sample) the cost of each stage:
composing, signing, the SMTP transaction. A sample of what the relay got is checked
with dkimpy against the domain's published key. Misses are printed, not fatal.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import ROOT, free_port, percentile, setup_django
from ingest import WORDS

DOMAIN = "bench-out.test"
SENDER = "news"
SAMPLE = 50  # messages timed stage by stage, and checked with dkimpy
BIN = Path(sys.executable).parent


class Relay:
    """The relay stand-in: accepts everything, notes when each Message-ID arrived."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.arrivals: dict[str, float] = {}
        self.samples: list[bytes] = []
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server, session, envelope) -> str:
        import email.parser

        content = bytes(envelope.content)
        headers = email.parser.BytesHeaderParser().parsebytes(content)
        with self.lock:
            self.arrivals[str(headers["Message-ID"]).strip("<> ")] = time.monotonic()
            if len(self.samples) < SAMPLE:
                self.samples.append(content)
        return "250 2.0.0 Ok: queued"

    def start(self) -> int:
        self.controller.start()
        return self.controller.port

    def stop(self) -> None:
        self.controller.stop()


def make_drafts(count: int, seed: int) -> list:
    """``count`` drafts of one mailbox, with their attachments (uploads)."""
    from facteur.blobs.models import Upload
    from facteur.blobs.services import blob_put
    from facteur.domains.models import Mailbox
    from facteur.mail.services.drafts import DraftFields, draft_create

    rng = random.Random(seed)
    mailbox = Mailbox.objects.get(local_part=SENDER, domain__name=DOMAIN)
    drafts = []
    for n in range(count):
        paragraphs = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randrange(40, 90))).capitalize() + "."
            for _ in range(rng.randrange(2, 5))
        ]
        blob_ids = []
        if rng.random() < 0.125:
            blob = blob_put(data=rng.randbytes(rng.randrange(6_000, 30_000)))
            Upload.objects.create(
                mailbox=mailbox, blob=blob, filename=f"report-{n}.pdf",
                content_type="application/pdf",
            )  # fmt: skip
            blob_ids.append(str(blob.pk))
        to = [
            {"name": f"Person {i}", "email": f"person{i}@corp{i % 40}.example"}
            for i in rng.sample(range(400), rng.randrange(1, 4))
        ]
        fields = DraftFields(
            subject=f"Update {n}: {rng.choice(WORDS)} {rng.choice(WORDS)}",
            text_body="\n\n".join(paragraphs),
            html_body="".join(f"<p>{p}</p>" for p in paragraphs),
            to=to,
            attachment_blob_ids=blob_ids,
        )
        drafts.append(draft_create(mailbox=mailbox, fields=fields))
    return drafts


def stage_costs(drafts: list) -> dict[str, float]:
    """Milliseconds per message for each stage, single-threaded, on ``drafts``."""
    from django.utils import timezone

    from facteur.domains.models import MailDomain
    from facteur.sending.compose import compose_message
    from facteur.sending.dkim import dkim_sign
    from facteur.sending.transport import relay_send

    domain = MailDomain.objects.get(name=DOMAIN)
    totals = {"compose": 0.0, "DKIM sign": 0.0, "SMTP to the relay": 0.0}
    for draft in drafts:
        started = time.perf_counter()
        raw = compose_message(draft=draft, date=timezone.now())
        composed = time.perf_counter()
        signed = dkim_sign(raw=raw, domain=domain)
        signed_at = time.perf_counter()
        replies = relay_send(
            sender=draft.sender_email, recipients=[r.email for r in draft.recipients.all()],
            raw=signed,
        )  # fmt: skip
        sent = time.perf_counter()
        assert all(reply.code == 250 for reply in replies.values()), replies
        totals["compose"] += composed - started
        totals["DKIM sign"] += signed_at - composed
        totals["SMTP to the relay"] += sent - signed_at
    return {name: seconds / len(drafts) * 1000 for name, seconds in totals.items()}


def verify_samples(samples: list[bytes]) -> tuple[int, int]:
    """(verified, checked) with dkimpy against the domain's published TXT value."""
    import dkim

    from facteur.domains.models import DkimKey
    from facteur.domains.services import dkim_txt_value

    key = DkimKey.objects.get(domain__name=DOMAIN, is_active=True)
    record = dkim_txt_value(key=key).encode()

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        return record if name.decode().startswith(f"{key.selector}._domainkey.") else b""

    return sum(bool(dkim.verify(raw, dnsfunc=dnsfunc)) for raw in samples), len(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--algorithm", choices=("rsa-sha256", "ed25519-sha256"),
                        default="rsa-sha256")  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="100 messages, for CI")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    count = 100 if args.smoke else args.messages

    relay = Relay()
    relay_port = relay.start()
    os.environ.update({
        "FACTEUR_SENDING_MODE": "relay",
        "FACTEUR_RELAY_HOST": "127.0.0.1",
        "FACTEUR_RELAY_PORT": str(relay_port),
        "FACTEUR_RELAY_STARTTLS": "false",
        "FACTEUR_SEND_UNDO_SECONDS": "0",
        "FACTEUR_LOG_LEVEL": os.environ.get("FACTEUR_LOG_LEVEL", "WARNING"),
    })  # fmt: skip
    setup_django(database="facteur_bench_outbound")
    import psutil
    from django.db import connection

    from facteur.domains.services import dkim_key_generate, domain_create, mailbox_create
    from facteur.sending.services import message_send_request

    domain = domain_create(name=DOMAIN)
    dkim_key_generate(domain=domain, algorithm=args.algorithm)
    mailbox_create(domain=domain, local_part=SENDER)
    made = time.monotonic()
    drafts = make_drafts(count + SAMPLE, args.seed)
    sample, drafts = drafts[:SAMPLE], drafts[SAMPLE:]
    print(f"{count + SAMPLE} drafts made in {time.monotonic() - made:.1f} s; "
          f"DKIM {args.algorithm}; relay on 127.0.0.1:{relay_port}")  # fmt: skip
    stages = stage_costs(sample)
    relay.arrivals.clear()
    relay.samples.clear()
    connection.close()

    log = Path(tempfile.mkstemp(prefix="facteur-bench-outbound-", suffix=".log")[1])
    worker = subprocess.Popen(
        [str(BIN / "celery"), "--app=facteur", "worker", f"--concurrency={args.workers}",
         "--pool=prefork", "--loglevel=WARNING", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "backend")},
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        process = psutil.Process(worker.pid)
        deadline = time.monotonic() + 60
        while len(process.children()) < args.workers and time.monotonic() < deadline:
            time.sleep(0.2)  # the pool's processes are forked when the worker is ready
        time.sleep(1.0)
        pids = [process, *process.children(recursive=True)]
        cpu_before = sum(p.cpu_times().user + p.cpu_times().system for p in pids)

        queued: dict[str, float] = {}
        started = time.monotonic()
        for draft in drafts:
            queued[draft.mime_id] = time.monotonic()
            message_send_request(draft=draft)
        queued_in = time.monotonic() - started
        peak_rss = 0.0
        deadline = time.monotonic() + max(120, count / 5)
        while len(relay.arrivals) < count and time.monotonic() < deadline:
            peak_rss = max(peak_rss, sum(p.memory_info().rss for p in pids if p.is_running()))
            if worker.poll() is not None:
                break
            time.sleep(0.05)
        done = max(relay.arrivals.values(), default=time.monotonic())
        cpu_after = sum(p.cpu_times().user + p.cpu_times().system for p in pids)
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
        relay.stop()

    arrived = len(relay.arrivals)
    latencies = sorted(relay.arrivals[m] - queued[m] for m in relay.arrivals if m in queued)
    elapsed = done - started
    rate = arrived / elapsed if elapsed > 0 else 0.0
    verified, checked = verify_samples(relay.samples)
    recipients = sum(d.recipients.count() for d in drafts[:200]) / min(200, len(drafts))
    print(f"messages: {count} drafts, {recipients:.1f} remote recipients each on average; "
          f"{args.workers} worker processes (Celery prefork, Redis broker)")  # fmt: skip
    print(f"queued (send requests) in {queued_in:.2f} s; relayed {arrived}/{count} in "
          f"{elapsed:.2f} s from the first request")  # fmt: skip
    print(f"throughput: {rate:.0f} messages/s (compose + sign + relay, end to end)")
    print("latency from send request to the relay's 250: "
          + ", ".join(f"p{int(p * 100)} {percentile(latencies, p) * 1000:.0f} ms"
                      for p in (0.5, 0.95, 0.99)))  # fmt: skip
    print(f"worker CPU: {(cpu_after - cpu_before) / max(arrived, 1) * 1000:.2f} ms per message; "
          f"peak RSS of the worker and its pool: {peak_rss / 1e6:.0f} MB")  # fmt: skip
    print("stages, single-threaded (ms per message): "
          + "; ".join(f"{name} {ms:.2f}" for name, ms in stages.items()))  # fmt: skip
    print(f"DKIM: {verified}/{checked} relayed messages verified with dkimpy")
    if arrived < count or verified < checked:
        print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
        return 1
    log.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
