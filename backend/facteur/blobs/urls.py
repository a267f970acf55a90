from django.urls import path

from facteur.blobs import apis

urlpatterns = [
    path("mailboxes/<uuid:mailbox_id>/blobs/", apis.UploadApi.as_view(), name="mailboxes-blobs"),
    path("blobs/<uuid:blob_id>/", apis.BlobDownloadApi.as_view(), name="blobs-detail"),
]
