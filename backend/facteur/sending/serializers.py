"""Request bodies of the send endpoints."""

from __future__ import annotations

from rest_framework import serializers


class DraftSendSerializer(serializers.Serializer):
    send_at = serializers.DateTimeField(
        required=False,
        help_text="Scheduled send: when to send (in the future). "
        "Default: now plus the undo window (FACTEUR_SEND_UNDO_SECONDS).",
    )
