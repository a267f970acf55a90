"""Uploading blobs into a mailbox (draft attachments) and downloading them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from facteur.api.errors import PayloadTooLarge
from facteur.api.validation import validated
from facteur.blobs import serializers
from facteur.blobs.models import Upload
from facteur.blobs.selectors import blob_for_reader
from facteur.blobs.services import blob_put, blob_read
from facteur.domains.models import MailboxRole
from facteur.mail.selectors import Roles

# Types a browser may display inline without risk to our origin.
_INLINE_SAFE = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}


class UploadApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="mailboxes_blobs_upload",
        request={"multipart/form-data": serializers.UploadRequestSerializer},
        responses={201: serializers.UploadSerializer},
    )
    def post(self, request: Request, mailbox_id: uuid.UUID) -> Response:
        roles = Roles.of(request.user)
        if roles.on_mailbox(mailbox_id) is None:
            raise NotFound()
        if not roles.can(mailbox_id, MailboxRole.EDITOR):
            raise PermissionDenied("Your role on this mailbox does not allow uploads.")
        limit = settings.FACTEUR_MAX_UPLOAD_SIZE
        # Refuse before reading the body when the client says how big it is.
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:
            raise PayloadTooLarge(f"Uploads are limited to {limit} bytes.")
        data = validated(serializers.UploadRequestSerializer, request.data)
        upload_file = data["file"]
        if upload_file.size > limit:
            raise PayloadTooLarge(f"Uploads are limited to {limit} bytes.")
        blob = blob_put(data=upload_file.read())
        upload = Upload.objects.create(
            blob=blob,
            mailbox_id=mailbox_id,
            uploaded_by=request.user,
            filename=(upload_file.name or "attachment")[:255],
            content_type=(upload_file.content_type or "application/octet-stream")[:255],
        )
        upload.blob = blob
        return Response(serializers.UploadSerializer(upload).data, status=status.HTTP_201_CREATED)


class BlobDownloadApi(APIView):
    @extend_schema(
        operation_id="blobs_download",
        parameters=[
            OpenApiParameter(
                "inline", OpenApiTypes.BOOL, description="Display (safe image/PDF types only)."
            )
        ],
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    def get(self, request: Request, blob_id: uuid.UUID) -> HttpResponse:
        found = blob_for_reader(roles=Roles.of(request.user), blob_id=blob_id)
        if found is None:
            raise NotFound()
        blob, filename, content_type = found
        inline = request.query_params.get("inline") in {"1", "true"}
        disposition = "inline" if inline and content_type in _INLINE_SAFE else "attachment"
        if disposition == "attachment":
            content_type = "application/octet-stream"
        response = HttpResponse(blob_read(blob=blob), content_type=content_type)
        safe_name = (filename or "attachment").replace('"', "").replace("\\", "")
        response["Content-Disposition"] = (
            f'{disposition}; filename="{safe_name.encode("ascii", "replace").decode()}"; '
            f"filename*=UTF-8''{_rfc5987(safe_name)}"
        )
        # Nothing served here may run as a page of our origin.
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        response["X-Content-Type-Options"] = "nosniff"
        return response


def _rfc5987(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
