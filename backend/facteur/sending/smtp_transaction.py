"""One SMTP mail transaction on an open session (RFC 5321 section 3.3), shared by the
relay (``transport.relay_send``) and direct delivery (``direct.direct_send``).

MAIL FROM, one RCPT TO per recipient, DATA when any was accepted. The server
answers each RCPT on its own, so the result is per recipient: the reply that
decides its delivery status (an accepted recipient gets the reply to DATA).
"""

from __future__ import annotations

import contextlib
import functools
import smtplib
import socket
from dataclasses import dataclass

import dns.exception
import dns.name
from django.conf import settings


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    @property
    def line(self) -> str:
        return f"{self.code} {self.text}".strip()


def reply_from(code: int, text: bytes | str) -> Reply:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return Reply(code, " ".join(text.split()))


def helo_name() -> str:
    """Our name in EHLO and in bounce notices: FACTEUR_SMTP_HELO_NAME, else the machine's."""
    return settings.FACTEUR_SMTP_HELO_NAME or _machine_name()


@functools.cache
def _machine_name() -> str:
    """The machine's FQDN, else its address literal (RFC 5321 section 4.1.4); looked up once."""
    fqdn = socket.getfqdn()
    if "." in fqdn:
        return fqdn
    try:
        return f"[{socket.gethostbyname(socket.gethostname())}]"
    except OSError:
        return "[127.0.0.1]"


NON_ASCII = Reply(553, "5.6.7 Non-ASCII local part: SMTPUTF8 is not supported")
BAD_DOMAIN = Reply(553, "5.1.3 Malformed domain in the address")


def ascii_domain(domain: str) -> str:
    """``domain`` as DNS and SMTP want it: IDNA A-labels (IDNA 2008), no final dot.

    Raises ValueError when it is no valid domain name.
    """
    try:
        return dns.name.from_unicode(domain.rstrip(".")).to_text(omit_final_dot=True)
    except (dns.exception.DNSException, UnicodeError) as exc:
        raise ValueError(f"{domain!r}: {exc}") from exc


def envelope_address(address: str) -> str | Reply:
    """``address`` as it can go in MAIL FROM or RCPT TO (an IDNA domain encoded), or
    the reply that refuses it without asking the server (smtplib speaks ASCII only)."""
    local, at, domain = address.rpartition("@")
    if not local.isascii():
        return NON_ASCII
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{ascii_domain(domain)}"
    except ValueError:
        return BAD_DOMAIN


def smtp_transaction(
    client: smtplib.SMTP, *, sender: str, recipients: list[str], raw: bytes
) -> dict[str, Reply]:
    """Send ``raw`` from ``sender`` to ``recipients`` on ``client`` (greeted, EHLO done).

    Raises OSError or smtplib.SMTPException when the session breaks before the
    replies are final; once they are, a failing RSET does not matter.
    """
    mail_from = envelope_address(sender)
    if isinstance(mail_from, Reply):
        return dict.fromkeys(recipients, mail_from)
    code, text = client.mail(mail_from)
    if code != 250:
        _rset(client)
        return dict.fromkeys(recipients, reply_from(code, text))
    results: dict[str, Reply] = {}
    accepted = []
    for recipient in recipients:
        rcpt_to = envelope_address(recipient)
        if isinstance(rcpt_to, Reply):
            results[recipient] = rcpt_to
            continue
        code, text = client.rcpt(rcpt_to)
        results[recipient] = reply_from(code, text)
        if code in (250, 251):
            accepted.append(recipient)
    if not accepted:
        _rset(client)
        return results
    try:
        code, text = client.data(raw)
    except smtplib.SMTPDataError as exc:  # DATA itself refused (not 354)
        code, text = exc.smtp_code, exc.smtp_error
    for recipient in accepted:
        results[recipient] = reply_from(code, text)
    return results


def _rset(client: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):  # the replies are final already
        client.rset()
