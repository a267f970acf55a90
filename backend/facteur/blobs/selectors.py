"""Who may read a blob: it must be an attachment of a message they see, or an upload
into a mailbox they belong to. Knowing a blob's id alone grants nothing."""

from __future__ import annotations

from facteur.blobs.models import Blob, Upload
from facteur.mail.selectors import Roles, attachments_visible


def blob_for_reader(*, roles: Roles, blob_id: object) -> tuple[Blob, str, str] | None:
    """The blob with the filename and content type it is known by to this reader."""
    attachment = (
        attachments_visible(roles=roles).filter(blob_id=blob_id).select_related("blob").first()
    )
    if attachment is not None:
        return attachment.blob, attachment.filename, attachment.content_type
    upload = (
        Upload.objects.filter(blob_id=blob_id, mailbox_id__in=roles.mailbox_ids)
        .select_related("blob")
        .first()
    )
    if upload is not None:
        return upload.blob, upload.filename, upload.content_type
    return None
