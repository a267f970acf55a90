"""Handing signed messages to the next hop: the MTA-out relay, over SMTP (smtplib).

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
from dataclasses import dataclass

from django.conf import settings

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60


class RelayUnavailable(Exception):
    """The relay could not be reached or refused the session: retry everyone later."""


class DirectSendingNotBuilt(RelayUnavailable):
    """FACTEUR_SENDING_MODE=direct (MX lookup) is not built yet; messages wait and retry."""


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    @property
    def line(self) -> str:
        return f"{self.code} {self.text}".strip()


def _reply(code: int, text: bytes | str) -> Reply:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return Reply(code, " ".join(text.split()))


def send_remote(*, sender: str, recipients: list[str], raw: bytes) -> dict[str, Reply]:
    """Hand ``raw`` over for ``recipients`` (none of them local); a reply for each one.

    The next hop depends on FACTEUR_SENDING_MODE. A recipient that could not be
    handed over at all gets a 451 "Not handed over: ..." reply, so it is retried.
    """
    try:
        if settings.FACTEUR_SENDING_MODE != "relay":
            raise DirectSendingNotBuilt(
                f"FACTEUR_SENDING_MODE={settings.FACTEUR_SENDING_MODE!r}: only 'relay' is built "
                "(direct delivery to the recipients' MX is not)."
            )
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
            settings.FACTEUR_RELAY_HOST, settings.FACTEUR_RELAY_PORT, timeout=TIMEOUT_SECONDS
        ) as client:
            client.ehlo()
            if settings.FACTEUR_RELAY_STARTTLS and client.has_extn("starttls"):
                context = ssl.create_default_context(cafile=settings.FACTEUR_RELAY_CA_FILE or None)
                client.starttls(context=context)
                client.ehlo()
            if settings.FACTEUR_RELAY_USERNAME:
                client.login(settings.FACTEUR_RELAY_USERNAME, settings.FACTEUR_RELAY_PASSWORD)
            code, text = client.mail(sender)
            if code != 250:
                client.rset()
                return dict.fromkeys(recipients, _reply(code, text))
            accepted = []
            for recipient in recipients:
                code, text = client.rcpt(recipient)
                results[recipient] = _reply(code, text)
                if code in (250, 251):
                    accepted.append(recipient)
            if not accepted:
                client.rset()
                return results
            try:
                code, text = client.data(raw)
            except smtplib.SMTPDataError as exc:  # DATA itself refused (not 354)
                code, text = exc.smtp_code, exc.smtp_error
            for recipient in accepted:
                results[recipient] = _reply(code, text)
            answered = True
    except (OSError, smtplib.SMTPException) as exc:
        if answered:  # the connection broke at QUIT: the message was already answered
            return results
        raise RelayUnavailable(f"{type(exc).__name__}: {exc}") from exc
    return results
