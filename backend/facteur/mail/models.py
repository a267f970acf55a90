"""The mail store: threads, messages, recipients, attachments, labels, contacts.

Ownership: every thread and message belongs to one mailbox (each recipient
mailbox gets its own copy at delivery). Flags (starred, archived, trashed,
spam, draft) are that mailbox's; labels belong to a mailbox and are put on
threads; read state is per user (``UnreadMark``), so each member of a shared
mailbox sees what they have not read yet. A thread can be shared with other
mailboxes through ``ThreadAccess``; they then work on the owner's thread.

A Thread carries denormalised counters that the thread list filters and sorts
on; ``facteur.mail.services.thread_refresh`` recomputes them after every change.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

VIEW_COUNTERS = {
    # view name -> Thread counter that is > 0 when the thread belongs to the view
    "inbox": "inbox_count",
    "drafts": "draft_count",
    "sent": "sent_count",
    "starred": "starred_count",
    "archive": "archived_count",
    "trash": "trashed_count",
    "spam": "spam_count",
    "all": "all_count",
}


def _view_indexes() -> list[models.Index]:
    # One partial index per view keeps every folder's first page an index scan.
    return [
        models.Index(
            "mailbox",
            models.F("last_activity_at").desc(),
            models.F("id").desc(),
            condition=Q(**{f"{counter}__gt": 0}),
            name=f"thread_view_{view}",
        )
        for view, counter in VIEW_COUNTERS.items()
    ]


class Thread(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by thread_mailbox_activity (mailbox first); FK indexes covered by a
    # composite index are left out throughout: every index costs each write.
    mailbox = models.ForeignKey(
        "domains.Mailbox", on_delete=models.CASCADE, related_name="threads", db_index=False
    )
    subject = models.TextField(blank=True)
    snippet = models.TextField(blank=True)
    # Display names of the latest senders, newest last (a few at most).
    sender_names = models.JSONField(default=list)
    last_activity_at = models.DateTimeField(default=timezone.now)
    message_count = models.IntegerField(default=0)
    inbox_count = models.IntegerField(default=0)
    draft_count = models.IntegerField(default=0)
    sent_count = models.IntegerField(default=0)
    starred_count = models.IntegerField(default=0)
    archived_count = models.IntegerField(default=0)
    trashed_count = models.IntegerField(default=0)
    spam_count = models.IntegerField(default=0)
    all_count = models.IntegerField(default=0)  # neither trashed nor spam
    attachment_count = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                "mailbox",
                models.F("last_activity_at").desc(),
                models.F("id").desc(),
                name="thread_mailbox_activity",
            ),
            *_view_indexes(),
        ]


class ThreadRole(models.TextChoices):
    VIEWER = "viewer"
    EDITOR = "editor"


class ThreadAccess(models.Model):
    """A thread shared with another mailbox (the owning mailbox needs no row)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="accesses")
    mailbox = models.ForeignKey(
        "domains.Mailbox", on_delete=models.CASCADE, related_name="thread_accesses"
    )
    role = models.CharField(max_length=10, choices=ThreadRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "mailbox"], name="threadaccess_unique")
        ]
        indexes = [models.Index(fields=["mailbox", "thread"], name="threadaccess_mailbox")]


class Message(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    mailbox = models.ForeignKey(
        "domains.Mailbox", on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    # Message-ID without angle brackets; "" when the message had none.
    mime_id = models.CharField(max_length=998, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.JSONField(default=list)
    subject = models.TextField(blank=True)
    sender_name = models.CharField(max_length=300, blank=True)
    sender_email = models.CharField(max_length=320, blank=True)
    reply_to = models.CharField(max_length=998, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # the Date header
    received_at = models.DateTimeField(default=timezone.now)
    # Every header as [name, decoded value] pairs, in order.
    headers = models.JSONField(default=list)
    snippet = models.TextField(blank=True)
    text_body = models.TextField(blank=True)
    # As received; sanitised with nh3 whenever it is served.
    html_body = models.TextField(blank=True)
    size = models.IntegerField(default=0)
    raw_blob = models.ForeignKey(
        "blobs.Blob", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # sha256 of the raw bytes, with mime_id the key that makes a retried delivery a no-op.
    content_hash = models.CharField(max_length=64, blank=True)
    is_draft = models.BooleanField(default=False)
    is_sender = models.BooleanField(default=False)  # written by the mailbox itself
    # Outbound: when the send task may hand it over (the undo window or a scheduled send);
    # null for received mail and drafts.
    send_at = models.DateTimeField(null=True, blank=True)
    is_starred = models.BooleanField(default=False)
    is_trashed = models.BooleanField(default=False)
    is_spam = models.BooleanField(default=False)
    is_archived = models.BooleanField(default=False)
    trashed_at = models.DateTimeField(null=True, blank=True)
    has_attachments = models.BooleanField(default=False)
    # The parser could not make full sense of it: kept raw, shown with its source.
    is_malformed = models.BooleanField(default=False)
    parse_errors = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "mime_id", "content_hash"],
                condition=Q(is_draft=False),
                name="message_delivery_unique",
            )
        ]
        indexes = [
            models.Index(fields=["thread", "received_at"], name="message_thread_received"),
            models.Index(fields=["mailbox", "mime_id"], name="message_mailbox_mimeid"),
            # Ingest finds replies that arrived before the message they answer.
            models.Index(
                fields=["mailbox", "in_reply_to"],
                condition=~Q(in_reply_to=""),
                name="message_mailbox_inreplyto",
            ),
            models.Index(
                fields=["trashed_at"], condition=Q(is_trashed=True), name="message_trashed_at"
            ),
            # Counting a mailbox's mail (outside drafts, trash and spam) from the index alone.
            models.Index(
                fields=["mailbox"],
                condition=Q(is_draft=False, is_trashed=False, is_spam=False),
                name="message_mailbox_counted",
            ),
        ]


class DeliveryStatus(models.TextChoices):
    # Inbound copies have no status; outbound recipients move through these.
    QUEUED = "queued"
    RETRYING = "retrying"
    SENT = "sent"
    DELIVERED = "delivered"  # delivered internally to a local mailbox
    FAILED = "failed"


class RecipientKind(models.TextChoices):
    TO = "to"
    CC = "cc"
    BCC = "bcc"


class MessageRecipient(models.Model):
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="recipients", db_index=False
    )
    kind = models.CharField(max_length=3, choices=RecipientKind.choices)
    name = models.CharField(max_length=300, blank=True)
    email = models.CharField(max_length=320)
    position = models.SmallIntegerField(default=0)
    delivery_status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, blank=True, default=""
    )
    delivery_message = models.TextField(blank=True)
    retry_count = models.IntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["message", "position"], name="recipient_message"),
            # The sweeper's lookup of overdue sends: only outbound recipients still to send.
            models.Index(
                fields=["retry_at"],
                name="recipient_pending",
                condition=Q(delivery_status__in=["queued", "retrying"]),
            ),
        ]


class Attachment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", db_index=False
    )
    blob = models.ForeignKey(
        "blobs.Blob", on_delete=models.PROTECT, related_name="attachments", db_index=False
    )
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=255)
    size = models.BigIntegerField()
    content_id = models.CharField(max_length=998, blank=True)  # for cid: references
    is_inline = models.BooleanField(default=False)
    position = models.SmallIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["message", "position"], name="attachment_message"),
            models.Index(fields=["blob"], name="attachment_blob"),
        ]


class UnreadMark(models.Model):
    """Message ``message`` is unread for ``user``; marking it read deletes the row."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="unread_marks")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="unread_marks")
    mailbox = models.ForeignKey("domains.Mailbox", on_delete=models.CASCADE, related_name="+")
    # False while the message is in the trash or spam, which do not count as unread
    # mail; kept in step by the flag service so that unread counts need no join.
    is_counted = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "message"], name="unreadmark_unique")
        ]
        indexes = [
            models.Index(fields=["user", "thread"], name="unreadmark_user_thread"),
            models.Index(
                fields=["user", "mailbox"],
                condition=Q(is_counted=True),
                name="unreadmark_user_mailbox",
            ),
        ]


class Label(models.Model):
    """A mailbox's label; ``/`` in the name makes a hierarchy ("Clients/ACME")."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mailbox = models.ForeignKey("domains.Mailbox", on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=255)
    color = models.CharField(max_length=7, default="#6b7280")
    threads = models.ManyToManyField(Thread, related_name="labels", through="ThreadLabel")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailbox", "name"], name="label_unique")]


class ThreadLabel(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["label", "thread"], name="threadlabel_unique")
        ]
        indexes = [models.Index(fields=["thread"], name="threadlabel_thread")]


class Contact(models.Model):
    """An address a mailbox has exchanged mail with; feeds autocomplete."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mailbox = models.ForeignKey(
        "domains.Mailbox", on_delete=models.CASCADE, related_name="contacts", db_index=False
    )
    email = models.CharField(max_length=320)
    name = models.CharField(max_length=300, blank=True)
    use_count = models.IntegerField(default=1)
    last_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailbox", "email"], name="contact_unique")]
