"""The PostgreSQL backend's index: one weighted tsvector per message.

Written in the transaction that stores or changes the message (ingest, drafts),
so a message is searchable as soon as it is committed. Flags, folders, labels
and read state are not copied here: the search joins them from the mail store,
so a flag change needs no reindexing. Deleting a message deletes its row.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models


class MessageDocument(models.Model):
    message = models.OneToOneField(
        "mail.Message", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # Copied from the message (they never change) so that the index answers alone; the
    # document also holds the lexeme "#<mailbox id>", so that one GIN index scan finds
    # "these words in these mailboxes" (see backends.postgres).
    mailbox = models.ForeignKey(
        "domains.Mailbox", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    received_at = models.DateTimeField()
    # Copied too (a draft's changes rewrite the row): "has:attachment" without words walks
    # the partial index below instead of fetching every message of the scope.
    has_attachments = models.BooleanField(default=False)
    document = SearchVectorField()

    class Meta:
        indexes = [
            GinIndex(fields=["document"], name="search_document_gin"),
            # Queries without words: each mailbox's documents newest first, merged, stopping
            # at the newest matches (backends.postgres, _Compiler.newest_first).
            models.Index(fields=["mailbox", "-received_at"], name="search_document_newest"),
            models.Index(
                fields=["mailbox", "-received_at"],
                condition=models.Q(has_attachments=True),
                name="search_document_attached",
            ),
        ]


class ReindexRun(models.Model):
    """An OpenSearch reindex in progress (at most one: it holds an advisory lock).

    While this row exists, every write to the index records its message ids in
    ``ReindexChange`` before writing; the reindex writes them again once the alias
    names the new index, so changes made during the bulk copy are not lost.
    """

    started_at = models.DateTimeField()
    index = models.CharField(max_length=255)


class ReindexChange(models.Model):
    """A message written (or deleted) while a reindex ran: written again after the swap."""

    id = models.BigAutoField(primary_key=True)
    # Not a foreign key: the message may be deleted, and its document must go too.
    message_id = models.UUIDField()
