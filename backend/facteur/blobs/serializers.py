from rest_framework import serializers

from facteur.blobs.models import Upload


class UploadSerializer(serializers.ModelSerializer):
    blob = serializers.UUIDField(source="blob_id", read_only=True)
    size = serializers.IntegerField(source="blob.size", read_only=True)
    sha256 = serializers.CharField(source="blob.sha256", read_only=True)

    class Meta:
        model = Upload
        fields = ["id", "blob", "mailbox", "filename", "content_type", "size", "sha256"]
        read_only_fields = fields


class UploadRequestSerializer(serializers.Serializer):
    file = serializers.FileField()
