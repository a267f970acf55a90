"""Direct delivery (FACTEUR_SENDING_MODE=direct): each recipient domain's MX, over SMTP.

Recipients are grouped by domain; each domain gets one SMTP session and one
transaction with all its recipients. Its MX hosts (``facteur.sending.mx``) are
tried in order: a host that cannot be reached, greets with 4xx or breaks the
session before the replies are final is skipped for the next one; the first
host that answers (5xx greeting included) decides each recipient's reply.

TLS is opportunistic (RFC 7435, Postfix's ``smtp_tls_security_level=may``):
STARTTLS when offered, the certificate not verified (encryption against passive
eavesdropping only). When the TLS negotiation fails, the same address is tried
once more in plaintext, as Postfix does; a server that refuses mail without TLS
then answers for itself.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor

import dns.exception
from django.conf import settings

from facteur.sending import mx
from facteur.sending.smtp_transaction import Reply, helo_name, reply_from, smtp_transaction

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 30
COMMAND_TIMEOUT_SECONDS = 60
# Domains served at the same time: one slow MX does not hold up the others.
PARALLEL_DOMAINS = 4


def direct_send(*, sender: str, recipients: list[str], raw: bytes) -> dict[str, Reply]:
    """Deliver ``raw`` to each recipient domain's MX; a reply for each recipient."""
    by_domain: dict[str, list[str]] = {}
    results: dict[str, Reply] = {}
    for recipient in recipients:
        local, at, domain = recipient.rpartition("@")
        if not (local and at and domain):
            results[recipient] = Reply(553, "5.1.3 Not a mail address")
            continue
        by_domain.setdefault(domain.lower(), []).append(recipient)
    if not by_domain:
        return results
    try:
        resolver = mx.make_resolver()
    except dns.exception.DNSException as exc:  # no /etc/resolv.conf, say
        reply = Reply(451, f"4.4.3 Not handed over: no DNS resolver ({exc})")
        return results | dict.fromkeys([r for rs in by_domain.values() for r in rs], reply)

    def one_domain(item: tuple[str, list[str]]) -> dict[str, Reply]:
        domain, its_recipients = item
        return deliver_to_domain(
            domain, sender=sender, recipients=its_recipients, raw=raw, resolver=resolver
        )

    workers = min(PARALLEL_DOMAINS, len(by_domain))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="facteur-direct") as pool:
        for replies in pool.map(one_domain, by_domain.items()):
            results.update(replies)
    return results


def deliver_to_domain(
    domain: str, *, sender: str, recipients: list[str], raw: bytes, resolver
) -> dict[str, Reply]:
    """One SMTP transaction with ``domain``'s first MX host that answers."""
    try:
        route = mx.route(domain, resolver=resolver)
    except mx.RouteFailure as exc:
        log.warning("Direct: %s: %s (%d recipient(s))", domain, exc.reply.line, len(recipients))
        return dict.fromkeys(recipients, exc.reply)
    problems = list(route.problems)
    for destination in route.destinations:
        where = f"{destination.host}[{destination.address}]"
        try:
            replies = _session(destination, sender=sender, recipients=recipients, raw=raw)
        except _HostFailed as exc:
            log.info("Direct: %s: %s: %s; trying the next host", domain, where, exc)
            problems.append(f"{where}: {exc}")
            continue
        log.info("Direct: %s: %d recipient(s) answered by %s", domain, len(recipients), where)
        return replies
    log.warning("Direct: %s: no MX host took the message: %s", domain, "; ".join(problems))
    # The last problems say most (the first ones may be skipped MX names).
    text = "; ".join(problems[-3:])
    return dict.fromkeys(recipients, Reply(451, f"4.4.1 Not handed over: {text}"))


class _HostFailed(Exception):
    """This address did not take the message: try the next one."""


class _TlsFailed(_HostFailed):
    """STARTTLS was offered but the negotiation failed: plaintext may still work."""


def _session(
    destination: mx.Destination, *, sender: str, recipients: list[str], raw: bytes
) -> dict[str, Reply]:
    envelope = {"sender": sender, "recipients": recipients, "raw": raw}
    try:
        return _attempt(destination, use_tls=True, **envelope)
    except _TlsFailed as exc:
        log.info(
            "Direct: %s[%s]: %s; again in plaintext", destination.host, destination.address, exc
        )
        return _attempt(destination, use_tls=False, **envelope)


def _attempt(
    destination: mx.Destination, *, use_tls: bool, sender: str, recipients: list[str], raw: bytes
) -> dict[str, Reply]:
    try:
        client = _MxClient(destination)
    except smtplib.SMTPConnectError as exc:  # the greeting was not 220
        if 500 <= exc.smtp_code < 600:
            return dict.fromkeys(recipients, reply_from(exc.smtp_code, exc.smtp_error))
        raise _HostFailed(f"greeting {reply_from(exc.smtp_code, exc.smtp_error).line}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise _HostFailed(_describe(exc)) from exc
    try:
        refusal = _hello(client, recipients)
        if refusal is not None:
            return refusal
        if use_tls and client.has_extn("starttls"):
            _starttls(client)
        return smtp_transaction(client, sender=sender, recipients=recipients, raw=raw)
    except _HostFailed:
        raise
    except (OSError, smtplib.SMTPException) as exc:
        raise _HostFailed(_describe(exc)) from exc
    finally:
        _quit(client)


def _hello(client: smtplib.SMTP, recipients: list[str]) -> dict[str, Reply] | None:
    """EHLO, else HELO; the replies for everyone when the server refuses us (5xx)."""
    code, text = client.ehlo()
    if code != 250:
        code, text = client.helo()
    if code == 250:
        return None
    if 500 <= code < 600:
        return dict.fromkeys(recipients, reply_from(code, text))
    raise _HostFailed(f"HELO {reply_from(code, text).line}")


def _starttls(client: smtplib.SMTP) -> None:
    """Encrypt; a refused STARTTLS (454) goes on in plaintext on the same session."""
    try:
        client.starttls(context=_opportunistic_tls())
    except smtplib.SMTPResponseException as exc:  # a reply, not a 220: nothing changed
        log.info("Direct: STARTTLS refused (%s); going on in plaintext", _describe(exc))
        return
    except (OSError, smtplib.SMTPException) as exc:  # ssl.SSLError is an OSError
        raise _TlsFailed(f"TLS failed: {_describe(exc)}") from exc
    try:
        client.ehlo()  # RFC 3207: ask again what the server offers, now under TLS
    except (OSError, smtplib.SMTPException) as exc:
        raise _TlsFailed(f"TLS failed: {_describe(exc)}") from exc


def _opportunistic_tls() -> ssl.SSLContext:
    """Encrypt without checking who answers: no CA, no name (RFC 7435)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _MxClient(smtplib.SMTP):
    """smtplib to one address of an MX host: the host name still goes in SNI."""

    def __init__(self, destination: mx.Destination):
        self._address = destination.address
        super().__init__(
            destination.host,
            settings.FACTEUR_DIRECT_SMTP_PORT,
            local_hostname=helo_name(),
            timeout=COMMAND_TIMEOUT_SECONDS,
        )

    def _get_socket(self, host, port, timeout):
        sock = socket.create_connection((self._address, port), CONNECT_TIMEOUT_SECONDS)
        sock.settimeout(timeout)
        return sock


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()  # the replies, if any, are already final


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return reply_from(exc.smtp_code, exc.smtp_error).line
    return f"{type(exc).__name__}: {exc}".rstrip(": ")
