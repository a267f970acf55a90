from django.db import migrations, models


def index_existing(apps, schema_editor):
    """Index the messages that have no document: every message on an installation that
    had mail before search (0001 used to do this; the statement needs this migration's
    column), none where 0001 already did."""
    from facteur.search.backends.postgres import INDEX_SQL

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(m.id) FROM mail_message m WHERE NOT EXISTS"
            " (SELECT 1 FROM search_messagedocument d WHERE d.message_id = m.id)"
        )
        ids = cursor.fetchone()[0] or []
        for start in range(0, len(ids), 1000):
            cursor.execute(INDEX_SQL, {"ids": [str(i) for i in ids[start : start + 1000]]})


class Migration(migrations.Migration):

    dependencies = [
        ('domains', '0003_disabled'),
        ('mail', '0005_recipient_pending'),
        ('search', '0002_reindex_changes'),
    ]

    operations = [
        migrations.AddField(
            model_name='messagedocument',
            name='has_attachments',
            field=models.BooleanField(default=False),
        ),
        # Existing documents: the flag from their message (a draft's changes reindex it).
        migrations.RunSQL(
            "UPDATE search_messagedocument d SET has_attachments = TRUE FROM mail_message m"
            " WHERE m.id = d.message_id AND m.has_attachments",
            migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name='messagedocument',
            index=models.Index(fields=['mailbox', '-received_at'], name='search_document_newest'),
        ),
        migrations.AddIndex(
            model_name='messagedocument',
            index=models.Index(condition=models.Q(('has_attachments', True)), fields=['mailbox', '-received_at'], name='search_document_attached'),
        ),
        migrations.RunPython(index_existing, migrations.RunPython.noop),
    ]
