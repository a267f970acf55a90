from __future__ import annotations

from rest_framework import serializers


class SegmentSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="Plain text (not HTML): render it escaped.")
    match = serializers.BooleanField(help_text="This piece matched the search.")


class SearchMatchSerializer(serializers.Serializer):
    """Why a thread matched a search: its best message, with the matching words marked."""

    message = serializers.UUIDField(source="message_id")
    score = serializers.FloatField()
    subject = SegmentSerializer(many=True)
    snippet = SegmentSerializer(many=True)
