"""Sending a draft: the request (undo window), the cancel, and the send itself.

States of an outbound message: a draft (``is_draft``) becomes, on send, a sent
message (``is_draft=False``, ``is_sender=True``) with ``send_at`` set and every
recipient ``queued``. Until ``send_at`` (the undo window, or a scheduled send)
``message_send_cancel`` turns it back into a draft. From ``send_at`` on, the
``message_send`` task delivers it: local recipients through ``ingest_message``
(``delivered``), the others through the relay (``sent``, ``retrying`` with
exponential backoff, or ``failed``). Only ``queued`` and due ``retrying``
recipients are ever attempted, so a re-run never sends twice to anyone.

What failed in a run gets one bounce notice in the sender's mailbox
(``bounces.py``); ``message_send_retry`` queues failed and waiting recipients
again; ``sends_sweep`` re-queues sends whose task was lost.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from facteur.blobs.services import blob_put, blob_read
from facteur.domains.models import Mailbox
from facteur.ingest.recipients import destination_for
from facteur.ingest.services import Outcome, ingest_message
from facteur.mail.models import DeliveryStatus, Message, MessageRecipient
from facteur.mail.services.threads import threads_refresh
from facteur.search.services import search_index_messages
from facteur.sending import metrics
from facteur.sending.bounces import bounce_notice_deliver
from facteur.sending.compose import compose_message
from facteur.sending.dkim import dkim_sign
from facteur.sending.transport import Reply, send_remote

log = logging.getLogger(__name__)

# Waits before the 1st, 2nd... retry of a recipient the relay answered 4xx (or that
# could not be handed over): about two days in all, then the recipient has failed.
BACKOFF_SECONDS = (60, 300, 900, 3600, 7200, 14400, 28800, 43200, 43200, 43200)

# A run holds its message's lock at most this long (SMTP timeouts included).
LOCK_SECONDS = 15 * 60

PENDING = (DeliveryStatus.QUEUED, DeliveryStatus.RETRYING)
DONE = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)


class MessageTooLarge(Exception):
    """The attachments alone exceed FACTEUR_MAX_MESSAGE_SIZE."""


class MailboxDisabled(Exception):
    """The mailbox or its domain is disabled: it sends nothing (docs/operator.md)."""


def _require_enabled(mailbox: Mailbox) -> None:
    if not mailbox.accepts_mail:
        raise MailboxDisabled(
            f"The mailbox {mailbox.address} is disabled: it neither sends nor receives mail "
            "(its messages stay readable)."
        )


class SendNotCancellable(Exception):
    """The message is past its undo window, or something was already delivered."""


# A message's task re-queues itself while recipients wait (a chain of runs). Each
# queuing names a fresh token and makes it the message's chain in the cache; a run
# whose token is no longer the chain's (the sweeper took over from a task it thought
# lost, a retry was asked for) still delivers what is due, but queues nothing more:
# however often a send is re-queued, one chain goes on.
CHAIN_SECONDS = 2 * 24 * 3600  # longer than any wait between two runs


def _chain_key(message_id: object) -> str:
    return f"facteur:sending:chain:{message_id}"


def _schedule(
    message_id: object, eta: datetime | None = None, *, countdown: float | None = None
) -> None:
    from facteur.sending.tasks import message_send

    token = uuid.uuid4().hex
    cache.set(_chain_key(message_id), token, timeout=CHAIN_SECONDS)
    message_send.apply_async(args=[str(message_id), token], eta=eta, countdown=countdown)


def message_send_continue(*, message_id: object, token: str | None, wait: float) -> bool:
    """Queue the next run of a send chain in ``wait`` seconds, if ``token`` is the chain's.

    A run without a token (queued before chains had one), or whose chain the cache has
    forgotten, carries on. Returns whether a run was queued.
    """
    owner = cache.get(_chain_key(message_id))
    if owner is not None and token != owner:
        log.info("Sending %s: another run carries on; this chain ends", message_id)
        return False
    _schedule(message_id, countdown=max(1.0, wait))
    return True


@transaction.atomic
def message_send_request(*, draft: Message, send_at: datetime | None = None) -> Message:
    """Queue ``draft`` for sending at ``send_at`` (default: now + the undo window)."""
    draft = Message.objects.select_for_update().select_related("mailbox__domain").get(pk=draft.pk)
    if not draft.is_draft:
        raise ValidationError("Only drafts can be sent.", code="not_draft")
    _require_enabled(draft.mailbox)
    now = timezone.now()
    if send_at is None:
        send_at = now + timedelta(seconds=settings.FACTEUR_SEND_UNDO_SECONDS)
    elif send_at <= now:
        raise ValidationError({"send_at": ["Must be in the future."]})
    recipients = list(draft.recipients.all())
    if not recipients:
        raise ValidationError({"recipients": ["A message needs at least one recipient."]})
    for recipient in recipients:
        try:
            validate_email(recipient.email)
        except ValidationError:
            raise ValidationError(
                {recipient.kind: [f"{recipient.email!r} is not a valid e-mail address."]}
            ) from None
    attached = draft.attachments.aggregate(total=Sum("size"))["total"] or 0
    if attached > settings.FACTEUR_MAX_MESSAGE_SIZE:
        raise MessageTooLarge(
            f"The attachments ({attached} bytes) exceed the largest message that can be sent "
            f"({settings.FACTEUR_MAX_MESSAGE_SIZE} bytes)."
        )
    draft.is_draft = False
    draft.is_sender = True
    draft.send_at = send_at
    draft.received_at = now
    draft.save(update_fields=["is_draft", "is_sender", "send_at", "received_at", "updated_at"])
    draft.recipients.update(
        delivery_status=DeliveryStatus.QUEUED,
        delivery_message="",
        retry_count=0,
        retry_at=None,
        delivered_at=None,
    )
    threads_refresh(thread_ids=[draft.thread_id])
    search_index_messages(message_ids=[draft.pk])  # its date is now the sending's
    message_id = draft.pk
    transaction.on_commit(lambda: _schedule(message_id, send_at))
    return draft


@transaction.atomic
def message_send_cancel(*, message: Message) -> Message:
    """Undo a send whose time has not come: the message is a draft again."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    if (
        message.is_draft
        or not message.is_sender
        or message.send_at is None
        or message.send_at <= timezone.now()
        or message.recipients.exclude(delivery_status=DeliveryStatus.QUEUED).exists()
    ):
        raise SendNotCancellable("This message is no longer waiting to be sent.")
    message.is_draft = True
    message.send_at = None
    message.save(update_fields=["is_draft", "send_at", "updated_at"])
    message.recipients.update(
        delivery_status="", delivery_message="", retry_count=0, retry_at=None, delivered_at=None
    )
    threads_refresh(thread_ids=[message.thread_id])
    return message


def _claim(message_id: object) -> tuple[Message | None, float | None]:
    """The message if it is due, else how long until it is (None: nothing to do)."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("mailbox__domain")
            .filter(pk=message_id)
            .first()
        )
        if message is None or message.is_draft or message.send_at is None:
            return None, None  # deleted, or cancelled (a draft again)
        now = timezone.now()
        if message.send_at > now:
            return None, (message.send_at - now).total_seconds()
        if message.sent_at is None:
            # The Date header, fixed at the first attempt so that every retry composes
            # the same bytes.
            message.sent_at = now
            message.save(update_fields=["sent_at", "updated_at"])
        return message, None


def _store_raw(message: Message) -> bytes:
    """The message's bytes: composed and stored at the first attempt, read back after."""
    if message.raw_blob_id is not None:
        return blob_read(blob=message.raw_blob)
    raw = compose_message(draft=message, date=message.sent_at)
    message.raw_blob = blob_put(data=raw)
    message.content_hash = hashlib.sha256(raw).hexdigest()
    message.size = len(raw)
    message.save(update_fields=["raw_blob", "content_hash", "size", "updated_at"])
    return raw


def _next_run(message: Message) -> float | None:
    """Seconds until the earliest retry of ``message`` (None: nothing left to do)."""
    pending = list(
        message.recipients.filter(delivery_status__in=PENDING).values_list("retry_at", flat=True)
    )
    if not pending:
        return None
    now = timezone.now()
    return max(0.0, min(((at or now) - now).total_seconds() for at in pending))


def _record(recipient: MessageRecipient, reply: Reply, *, now: datetime, sent: str) -> None:
    recipient.delivery_message = reply.line[:2000]
    if 200 <= reply.code < 300:
        recipient.delivery_status = sent
        recipient.delivered_at = now
        recipient.retry_at = None
    elif 400 <= reply.code < 500:
        recipient.retry_count += 1
        if recipient.retry_count > len(BACKOFF_SECONDS):
            recipient.delivery_status = DeliveryStatus.FAILED
            recipient.retry_at = None
        else:
            recipient.delivery_status = DeliveryStatus.RETRYING
            wait = BACKOFF_SECONDS[recipient.retry_count - 1]
            recipient.retry_at = now + timedelta(seconds=wait)
    else:
        recipient.delivery_status = DeliveryStatus.FAILED
        recipient.retry_at = None
    recipient.save(
        update_fields=[
            "delivery_status",
            "delivery_message",
            "retry_count",
            "retry_at",
            "delivered_at",
        ]
    )


def message_send(*, message_id: object) -> float | None:
    """Deliver a queued message to every recipient that is due; what the task runs.

    Returns the seconds after which the task must run again (the message is not
    due yet, or recipients wait for a retry), or None when there is nothing left.
    Two runs for one message never overlap (a lock in the cache): the second one
    comes back later.
    """
    lock = f"facteur:sending:{message_id}"
    if not cache.add(lock, "1", timeout=LOCK_SECONDS):
        return float(BACKOFF_SECONDS[0])
    try:
        return _send(message_id)
    finally:
        cache.delete(lock)


def _send(message_id: object) -> float | None:
    message, wait = _claim(message_id)
    if message is None:
        return wait
    now = timezone.now()
    due = [
        r
        for r in message.recipients.filter(delivery_status__in=PENDING).order_by("kind", "position")
        if r.retry_at is None or r.retry_at <= now
    ]
    if not due:
        return _next_run(message)

    raw = _store_raw(message)
    signed = dkim_sign(raw=raw, domain=message.mailbox.domain)

    found = {r.email: destination_for(r.email) for r in due}
    local = [r for r in due if found[r.email] is not None and not found[r.email].disabled]
    remote = [r for r in due if found[r.email] is None]
    results: list[tuple[MessageRecipient, Reply, str]] = [
        # A local mailbox that is disabled refuses, as the delivery service would.
        (r, Reply(550, "5.2.1 Mailbox disabled, not accepting messages"), DeliveryStatus.DELIVERED)
        for r in due
        if found[r.email] is not None and found[r.email].disabled
    ]
    if local:
        result = ingest_message(raw=signed, recipients=[r.email for r in local])
        for recipient in local:
            outcome = result.outcome(recipient.email)
            if outcome is not None and outcome.outcome in (Outcome.STORED, Outcome.DUPLICATE):
                reply = Reply(250, "Delivered to a local mailbox")
            else:
                reply = Reply(550, "5.1.1 No such local mailbox")
            results.append((recipient, reply, DeliveryStatus.DELIVERED))
    if remote:
        # One envelope recipient per address, even if it is in both To and Bcc.
        addresses = list(dict.fromkeys(r.email for r in remote))
        replies = send_remote(sender=message.sender_email, recipients=addresses, raw=signed)
        for recipient in remote:
            reply = replies.get(recipient.email) or Reply(451, "No reply from the relay")
            results.append((recipient, reply, DeliveryStatus.SENT))
    # The statuses and the bounce notice of what failed commit together: a run that
    # stops before the end leaves neither, and the next one does both.
    with transaction.atomic():
        for recipient, reply, sent in results:
            _record(recipient, reply, now=now, sent=sent)
        failed = [r for r, _, _ in results if r.delivery_status == DeliveryStatus.FAILED]
        if failed:
            bounce_notice_deliver(message=message, recipients=failed)
    for recipient, _, sent in results:  # committed: counted once
        route = "local" if sent == DeliveryStatus.DELIVERED else "remote"
        metrics.ATTEMPTS.labels(route, metrics.attempt_result(recipient.delivery_status)).inc()
    return _next_run(message)


class NothingToRetry(Exception):
    """No recipient of the message is failed or waiting for a retry."""


@transaction.atomic
def message_send_retry(*, message: Message) -> Message:
    """Send again, now, to the recipients that failed or wait for a retry.

    They are ``queued`` again with a fresh retry budget and ``retry_at`` now (due
    now; the sweeper measures a lost task from it). Recipients already sent or
    delivered are left alone.
    """
    message = (
        Message.objects.select_for_update().select_related("mailbox__domain").get(pk=message.pk)
    )
    if message.is_draft or not message.is_sender or message.send_at is None:
        raise NothingToRetry("This message was not sent.")
    _require_enabled(message.mailbox)
    now = timezone.now()
    retried = message.recipients.filter(
        delivery_status__in=(DeliveryStatus.FAILED, DeliveryStatus.RETRYING)
    ).update(
        delivery_status=DeliveryStatus.QUEUED,
        delivery_message="",
        retry_count=0,
        retry_at=now,
        delivered_at=None,
    )
    if not retried:
        raise NothingToRetry("No recipient of this message failed or waits for a retry.")
    message_id = message.pk
    transaction.on_commit(lambda: _schedule(message_id, None))
    return message


# A send whose task has not run this long after it was due is taken for lost.
SWEEP_GRACE = timedelta(minutes=5)
SWEEP_BATCH = 500


def sends_sweep(*, now: datetime | None = None) -> list[uuid.UUID]:
    """Queue the task again for sends whose task was lost (Redis flushed, a worker gone).

    A send is taken for lost when one of its recipients is pending (``queued`` or
    ``retrying``) and was due more than SWEEP_GRACE ago: its ``retry_at``, or the
    message's ``send_at`` when it has none. At most SWEEP_BATCH messages per sweep.
    Their overdue recipients are made due now, so that the next sweeps leave them
    alone for a grace period (and take the next batch). When the original task was
    not lost after all, the lock and the status checks of ``message_send`` make the
    extra run send nothing twice.
    """
    now = now or timezone.now()
    cutoff = now - SWEEP_GRACE
    overdue = MessageRecipient.objects.filter(
        Q(retry_at__lt=cutoff) | Q(retry_at__isnull=True, message__send_at__lt=cutoff),
        delivery_status__in=PENDING,
        message__is_draft=False,
    )
    ids = list(overdue.order_by().values_list("message_id", flat=True).distinct()[:SWEEP_BATCH])
    if not ids:
        return []
    overdue.filter(message_id__in=ids).update(retry_at=now)
    for message_id in ids:
        _schedule(message_id, None)
    log.warning("Re-queued %d send(s) whose task was lost", len(ids))
    return ids
