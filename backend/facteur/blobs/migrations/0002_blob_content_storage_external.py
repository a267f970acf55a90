from django.db import migrations


class Migration(migrations.Migration):
    """Blob content is zstd-compressed already: PostgreSQL should store it out of line
    without trying to compress it again (EXTERNAL instead of the default EXTENDED)."""

    dependencies = [("blobs", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE blobs_blob ALTER COLUMN content SET STORAGE EXTERNAL",
            reverse_sql="ALTER TABLE blobs_blob ALTER COLUMN content SET STORAGE EXTENDED",
        )
    ]
