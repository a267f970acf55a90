"""API shapes of threads, messages, labels, contacts and drafts."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from facteur.mail.models import (
    VIEW_COUNTERS,
    Attachment,
    Contact,
    Label,
    Message,
    MessageRecipient,
    Thread,
    ThreadAccess,
    ThreadRole,
)
from facteur.mail.sanitize import has_remote_content, sanitize_html
from facteur.mail.selectors import thread_role
from facteur.mail.services.flags import FLAGS
from facteur.search.serializers import SearchMatchSerializer


class LabelRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "color"]


class ThreadSerializer(serializers.ModelSerializer):
    unread_count = serializers.IntegerField(read_only=True)
    role = serializers.SerializerMethodField()
    labels = serializers.SerializerMethodField()
    is_starred = serializers.SerializerMethodField()
    has_attachments = serializers.SerializerMethodField()
    has_draft = serializers.SerializerMethodField()
    folders = serializers.SerializerMethodField()

    class Meta:
        model = Thread
        fields = [
            "id",
            "mailbox",
            "subject",
            "snippet",
            "sender_names",
            "last_activity_at",
            "message_count",
            "unread_count",
            "is_starred",
            "has_attachments",
            "has_draft",
            "folders",
            "labels",
            "role",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=ThreadRole.choices))
    def get_role(self, thread: Thread) -> str | None:
        return thread_role(roles=self.context["roles"], thread=thread)

    @extend_schema_field(LabelRefSerializer(many=True))
    def get_labels(self, thread: Thread) -> list[dict[str, object]]:
        return LabelRefSerializer(getattr(thread, "my_labels", []), many=True).data

    def get_is_starred(self, thread: Thread) -> bool:
        return thread.starred_count > 0

    def get_has_attachments(self, thread: Thread) -> bool:
        return thread.attachment_count > 0

    def get_has_draft(self, thread: Thread) -> bool:
        return thread.draft_count > 0

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_folders(self, thread: Thread) -> list[str]:
        """The views the thread appears in (inbox, sent, trash...)."""
        return [view for view, counter in VIEW_COUNTERS.items() if getattr(thread, counter) > 0]


class ThreadListSerializer(serializers.Serializer):
    results = ThreadSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    matches = serializers.DictField(
        child=SearchMatchSerializer(),
        required=False,
        help_text="With ``search`` only: why each thread matched, by thread id.",
    )


class ThreadListQuerySerializer(serializers.Serializer):
    mailbox = serializers.UUIDField(required=False, help_text="Default: every mailbox.")
    view = serializers.ChoiceField(
        choices=sorted(VIEW_COUNTERS),
        required=False,
        help_text="Folder; default inbox, or all when a label is given.",
    )
    label = serializers.UUIDField(required=False)
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)
    starred = serializers.BooleanField(required=False, allow_null=True, default=None)
    has_attachments = serializers.BooleanField(required=False, allow_null=True, default=None)
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="A search (docs/search.md), combined with the other filters; the threads "
        "then come best match first. Blank: no search.",
    )
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


class PersonSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True, required=False, default="", max_length=300)
    email = serializers.EmailField(max_length=320)


class RecipientSerializer(serializers.ModelSerializer):
    class Meta:
        model = MessageRecipient
        fields = [
            "kind",
            "name",
            "email",
            "delivery_status",
            "delivery_message",
            "delivered_at",
            "retry_count",
            "retry_at",
        ]
        read_only_fields = fields


class AttachmentSerializer(serializers.ModelSerializer):
    blob = serializers.UUIDField(source="blob_id", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id",
            "blob",
            "filename",
            "content_type",
            "size",
            "content_id",
            "is_inline",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, attachment: Attachment) -> str:
        return f"/api/v1.0/blobs/{attachment.blob_id}/"


class MessageSerializer(serializers.ModelSerializer):
    sender = serializers.SerializerMethodField()
    recipients = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)
    is_unread = serializers.SerializerMethodField()
    html_body = serializers.SerializerMethodField()
    has_remote_content = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "thread",
            "mailbox",
            "mime_id",
            "in_reply_to",
            "references",
            "subject",
            "sender",
            "reply_to",
            "recipients",
            "sent_at",
            "received_at",
            "snippet",
            "text_body",
            "html_body",
            "has_remote_content",
            "attachments",
            "size",
            "is_unread",
            "is_draft",
            "is_sender",
            "is_starred",
            "is_trashed",
            "is_spam",
            "is_archived",
            "is_malformed",
            "parse_errors",
            "send_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer)
    def get_sender(self, message: Message) -> dict[str, str]:
        return {"name": message.sender_name, "email": message.sender_email}

    @extend_schema_field(RecipientSerializer(many=True))
    def get_recipients(self, message: Message) -> list[dict[str, object]]:
        recipients = list(message.recipients.all())
        if not (message.is_sender or message.is_draft):
            # Bcc of received mail is not for the other recipients' eyes.
            recipients = [r for r in recipients if r.kind != "bcc"]
        return RecipientSerializer(recipients, many=True).data

    def get_is_unread(self, message: Message) -> bool:
        return str(message.pk) in self.context.get("unread_ids", set())

    def _sanitized(self, message: Message) -> str:
        cache = self.context.setdefault("_sanitized", {})
        if message.pk not in cache:
            cache[message.pk] = sanitize_html(message.html_body)
        return cache[message.pk]

    def get_html_body(self, message: Message) -> str:
        return self._sanitized(message)

    def get_has_remote_content(self, message: Message) -> bool:
        return has_remote_content(self._sanitized(message))


class MessageDetailSerializer(MessageSerializer):
    headers = serializers.JSONField(read_only=True)

    class Meta(MessageSerializer.Meta):
        fields = [*MessageSerializer.Meta.fields, "headers"]
        read_only_fields = fields


class FlagRequestSerializer(serializers.Serializer):
    flag = serializers.ChoiceField(choices=FLAGS)
    value = serializers.BooleanField()
    message_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=1000, default=list
    )
    thread_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=1000, default=list
    )

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if not attrs["message_ids"] and not attrs["thread_ids"]:
            raise serializers.ValidationError("Give message_ids or thread_ids.")
        return attrs


class FlagResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField()


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "mailbox", "name", "color", "created_at"]
        read_only_fields = ["id", "created_at"]


class LabelCreateSerializer(serializers.Serializer):
    mailbox = serializers.UUIDField()
    name = serializers.CharField(max_length=255)
    color = serializers.CharField(max_length=7, required=False)


class LabelUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False)
    color = serializers.CharField(max_length=7, required=False)


class ThreadIdsSerializer(serializers.Serializer):
    thread_ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=1000)


class ThreadAccessSerializer(serializers.ModelSerializer):
    mailbox_address = serializers.SerializerMethodField()

    class Meta:
        model = ThreadAccess
        fields = ["id", "mailbox", "mailbox_address", "role", "created_at"]
        read_only_fields = fields

    def get_mailbox_address(self, access: ThreadAccess) -> str:
        return access.mailbox.address


class ThreadAccessCreateSerializer(serializers.Serializer):
    mailbox = serializers.CharField(help_text="The address (or id) of the mailbox to share with.")
    role = serializers.ChoiceField(choices=ThreadRole.choices)


class ThreadAccessUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ThreadRole.choices)


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "mailbox", "email", "name", "use_count", "last_used_at"]
        read_only_fields = fields


class DraftWriteSerializer(serializers.Serializer):
    mailbox = serializers.UUIDField(required=False, help_text="Required when creating.")
    in_reply_to = serializers.UUIDField(
        required=False, help_text="Id of the message this replies to (on creation)."
    )
    subject = serializers.CharField(
        required=False, allow_blank=True, max_length=998, trim_whitespace=False
    )
    text_body = serializers.CharField(
        required=False, allow_blank=True, max_length=5_000_000, trim_whitespace=False
    )
    html_body = serializers.CharField(
        required=False, allow_blank=True, max_length=10_000_000, trim_whitespace=False
    )
    to = PersonSerializer(many=True, required=False)
    cc = PersonSerializer(many=True, required=False)
    bcc = PersonSerializer(many=True, required=False)
    attachments = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=100, help_text="Blob ids."
    )
