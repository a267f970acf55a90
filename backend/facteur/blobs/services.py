"""Writing and reading blobs: content-addressed by sha256, zstd-compressed when it pays."""

from __future__ import annotations

import hashlib
import threading

import zstandard
from django.db import connection

from facteur.blobs.models import Blob, Compression

# Below this size compression costs more than it saves.
_COMPRESS_MIN = 256
# zstd contexts are not thread-safe: each thread (e.g. of the delivery service) gets its own.
_local = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    if not hasattr(_local, "compressor"):
        _local.compressor = zstandard.ZstdCompressor(level=3)
    return _local.compressor


def _decompressor() -> zstandard.ZstdDecompressor:
    if not hasattr(_local, "decompressor"):
        _local.decompressor = zstandard.ZstdDecompressor()
    return _local.decompressor


def blob_put(*, data: bytes) -> Blob:
    """Store ``data`` once; storing the same bytes again returns the existing blob."""
    digest = hashlib.sha256(data).hexdigest()
    compression = Compression.NONE
    stored = data
    if len(data) >= _COMPRESS_MIN:
        compressed = _compressor().compress(data)
        if len(compressed) < len(data) * 0.9:
            compression, stored = Compression.ZSTD, compressed
    # INSERT .. ON CONFLICT keeps concurrent deliveries of the same bytes race-free.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO blobs_blob (id, sha256, size, compression, content, created_at) "
            "VALUES (gen_random_uuid(), %s, %s, %s, %s, now()) "
            "ON CONFLICT (sha256) DO UPDATE SET sha256 = EXCLUDED.sha256 "
            "RETURNING id, compression, created_at",
            [digest, len(data), compression, stored],
        )
        # An existing blob keeps the compression it was stored with.
        blob_id, compression, created_at = cursor.fetchone()
    blob = Blob(id=blob_id, sha256=digest, size=len(data), compression=compression)
    blob.created_at = created_at
    blob._state.adding = False
    blob._state.db = "default"
    return blob


def blob_read(*, blob: Blob) -> bytes:
    content = bytes(Blob.objects.values_list("content", flat=True).get(pk=blob.pk))
    if blob.compression == Compression.ZSTD:
        return _decompressor().decompress(content, max_output_size=blob.size)
    return content


# A blob is garbage when no message, attachment or upload refers to it. Young blobs
# are spared: ingest writes the blob before the message that refers to it.
_GC_SQL = """
DELETE FROM blobs_blob b
WHERE b.created_at < now() - make_interval(secs => %s)
  AND NOT EXISTS (SELECT 1 FROM mail_message m WHERE m.raw_blob_id = b.id)
  AND NOT EXISTS (SELECT 1 FROM mail_attachment a WHERE a.blob_id = b.id)
  AND NOT EXISTS (SELECT 1 FROM blobs_upload u WHERE u.blob_id = b.id)
"""


def blobs_collect_garbage(*, min_age_seconds: int = 3600) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_GC_SQL, [min_age_seconds])
        return cursor.rowcount
