"""``facteur-delivery``: the long-running delivery service.

LMTP on FACTEUR_LMTP_HOST:FACTEUR_LMTP_PORT (what Postfix delivers to) and SMTP on
127.0.0.1:FACTEUR_SMTP_LISTENER_PORT (the single-machine run), one handler for both.
SIGTERM or SIGINT: stop accepting, finish the messages in progress (up to
--stop-grace seconds), exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from facteur.delivery.server import DeliveryServer

SMTP_HOST = "127.0.0.1"  # the SMTP face is for trying things on one machine only
# Metrics stay on loopback unless asked: in a pod, --metrics-host is the pod's address.
METRICS_HOST = "127.0.0.1"

log = logging.getLogger("facteur.delivery")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facteur-delivery",
        description="Receive mail over LMTP (from Postfix) and SMTP (single-machine run) "
        "and store it. Settings come from the environment.",
    )
    parser.add_argument("--lmtp-port", type=int, help="LMTP port (default FACTEUR_LMTP_PORT)")
    parser.add_argument(
        "--smtp-port", type=int, help="SMTP port (default FACTEUR_SMTP_LISTENER_PORT)"
    )
    parser.add_argument("--no-lmtp", action="store_true", help="do not listen for LMTP")
    parser.add_argument("--no-smtp", action="store_true", help="do not listen for SMTP")
    parser.add_argument(
        "--stop-grace",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM, how long messages in progress may take to finish (default 30)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="serve Prometheus metrics on --metrics-host:PORT (default: off)",
    )
    parser.add_argument(
        "--metrics-host",
        default=METRICS_HOST,
        metavar="ADDRESS",
        help=f"address the metrics are served on (default {METRICS_HOST}; in a pod, its IP)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.no_lmtp and args.no_smtp:
        parser.error("--no-lmtp and --no-smtp together leave nothing to listen on")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facteur.config.settings")
    import django

    django.setup()  # before importing what touches models
    # aiosmtpd logs every command with its addresses at INFO; we log one line a message.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    from django.conf import settings
    from prometheus_client import start_http_server

    from facteur.delivery.handler import DeliveryHandler
    from facteur.delivery.server import DeliveryServer, Listener

    listeners = []
    if not args.no_lmtp:
        port = args.lmtp_port if args.lmtp_port is not None else settings.FACTEUR_LMTP_PORT
        listeners.append(Listener("lmtp", settings.FACTEUR_LMTP_HOST, port))
    if not args.no_smtp:
        port = args.smtp_port if args.smtp_port is not None else settings.FACTEUR_SMTP_LISTENER_PORT
        listeners.append(Listener("smtp", SMTP_HOST, port))
    if args.metrics_port:
        try:
            start_http_server(args.metrics_port, addr=args.metrics_host)
        except OSError as exc:  # not an address of this machine, or the port in use
            sys.stderr.write(
                f"facteur-delivery: error: metrics on {args.metrics_host}:{args.metrics_port}: "
                f"{exc}\n"
            )
            return 1
        log.info("metrics on http://%s:%d/metrics", args.metrics_host, args.metrics_port)

    server = DeliveryServer(
        handler=DeliveryHandler(max_recipients=settings.FACTEUR_MAX_RECIPIENTS),
        listeners=listeners,
        data_size_limit=settings.FACTEUR_MAX_MESSAGE_SIZE,
    )
    try:
        finished = asyncio.run(_serve(server, args.stop_grace))
    except OSError as exc:  # a port in use, most often
        sys.stderr.write(f"facteur-delivery: error: {exc}\n")
        return 1
    if not finished:
        # A worker thread stuck in the database would keep the interpreter from ever
        # exiting (it joins its threads). Its session was closed without a reply: the
        # sender retries, and ingest keeps whatever it had committed from doubling.
        logging.shutdown()
        os._exit(0)
    return 0


async def _serve(server: DeliveryServer, grace: float) -> bool:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await server.start()
        log.info("ready")
        await stop.wait()
        log.info("stopping")
    finally:
        finished = await server.stop(grace=grace)
    log.info("stopped")
    return finished


if __name__ == "__main__":
    sys.exit(main())
