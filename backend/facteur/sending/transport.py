"""Handing signed messages to the next hop: the MTA-out relay, over SMTP (smtplib), or
in direct mode each recipient domain's MX (``facteur.sending.direct``).

One SMTP transaction per message for all its remote recipients (To, Cc and Bcc:
Bcc recipients are in the envelope only). The relay answers each RCPT on its
own, so the result is per recipient: the reply code and text that decide its
delivery status. A failure to talk to the relay at all (refused connection,
timeout, TLS or AUTH trouble, a dropped connection) raises ``RelayUnavailable``:
nothing was accepted, every recipient is retried.
"""

from __future__ import annotations

import logging
import smtplib
import ssl

from django.conf import settings

from facteur.sending.direct import direct_send
from facteur.sending.smtp_transaction import Reply, helo_name, smtp_transaction

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60


class RelayUnavailable(Exception):
    """The relay could not be reached or refused the session: retry everyone later."""


def send_remote(*, sender: str, recipients: list[str], raw: bytes) -> dict[str, Reply]:
    """Hand ``raw`` over for ``recipients`` (none of them local); a reply for each one.

    The next hop depends on FACTEUR_SENDING_MODE: the relay, or (``direct``) each
    recipient domain's MX. A recipient that could not be handed over at all gets
    a 451 "Not handed over: ..." reply, so it is retried.
    """
    if settings.FACTEUR_SENDING_MODE == "direct":
        return direct_send(sender=sender, recipients=recipients, raw=raw)
    try:
        return relay_send(sender=sender, recipients=recipients, raw=raw)
    except RelayUnavailable as exc:
        log.warning("Not handed over to %d recipient(s): %s", len(recipients), exc)
        return dict.fromkeys(recipients, Reply(451, f"Not handed over: {exc}"))


def relay_send(*, sender: str, recipients: list[str], raw: bytes) -> dict[str, Reply]:
    """Send ``raw`` to ``recipients`` through FACTEUR_RELAY_HOST:PORT; each one's reply.

    STARTTLS when FACTEUR_RELAY_STARTTLS and the relay offers it, its certificate checked
    against FACTEUR_RELAY_CA_FILE (else the system CAs); AUTH when FACTEUR_RELAY_USERNAME
    is set. A recipient whose RCPT was accepted gets the reply to DATA.
    """
    results: dict[str, Reply] = {}
    answered = False  # DATA was answered: the replies are final
    try:
        with smtplib.SMTP(
            settings.FACTEUR_RELAY_HOST,
            settings.FACTEUR_RELAY_PORT,
            local_hostname=helo_name(),
            timeout=TIMEOUT_SECONDS,
        ) as client:
            client.ehlo()
            if settings.FACTEUR_RELAY_STARTTLS and client.has_extn("starttls"):
                context = ssl.create_default_context(cafile=settings.FACTEUR_RELAY_CA_FILE or None)
                client.starttls(context=context)
                client.ehlo()
            if settings.FACTEUR_RELAY_USERNAME:
                client.login(settings.FACTEUR_RELAY_USERNAME, settings.FACTEUR_RELAY_PASSWORD)
            results = smtp_transaction(client, sender=sender, recipients=recipients, raw=raw)
            answered = True
    except (OSError, smtplib.SMTPException) as exc:
        if answered:  # the connection broke at QUIT: the message was already answered
            return results
        raise RelayUnavailable(f"{type(exc).__name__}: {exc}") from exc
    return results
