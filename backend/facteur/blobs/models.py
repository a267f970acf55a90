"""Content-addressed byte storage: raw MIME and attachments, zstd-compressed, in PostgreSQL."""

import uuid

from django.conf import settings
from django.db import models


class Compression(models.TextChoices):
    NONE = "none"
    ZSTD = "zstd"


class Blob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sha256 = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    compression = models.CharField(max_length=8, choices=Compression.choices)
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)


class Upload(models.Model):
    """A blob uploaded into a mailbox (e.g. a draft's attachment); grants that mailbox its use."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    blob = models.ForeignKey(Blob, on_delete=models.CASCADE, related_name="uploads")
    mailbox = models.ForeignKey("domains.Mailbox", on_delete=models.CASCADE, related_name="uploads")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["mailbox", "blob"], name="upload_mailbox_blob")]
