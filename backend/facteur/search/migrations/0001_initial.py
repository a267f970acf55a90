import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations, models

# Text search configurations: unaccented simple, French and English stemming.
CONFIGS = """
CREATE TEXT SEARCH CONFIGURATION facteur_simple (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION facteur_simple
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
CREATE TEXT SEARCH CONFIGURATION facteur_french (COPY = french);
ALTER TEXT SEARCH CONFIGURATION facteur_french
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
CREATE TEXT SEARCH CONFIGURATION facteur_english (COPY = english);
ALTER TEXT SEARCH CONFIGURATION facteur_english
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
"""

# The same text as lexemes of the three configurations (subject and body), and the
# matching query builders; a word matches when any configuration's lexeme does.
FUNCTIONS = r"""
CREATE FUNCTION facteur_search_vector(t text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('facteur_simple', coalesce(t, ''))
        || to_tsvector('facteur_french', coalesce(t, ''))
        || to_tsvector('facteur_english', coalesce(t, ''))
$$;
CREATE FUNCTION facteur_search_words(t text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT plainto_tsquery('facteur_simple', t) || plainto_tsquery('facteur_french', t)
        || plainto_tsquery('facteur_english', t)
$$;
CREATE FUNCTION facteur_search_phrase(t text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT phraseto_tsquery('facteur_simple', t) || phraseto_tsquery('facteur_french', t)
        || phraseto_tsquery('facteur_english', t)
$$;
-- Names, addresses and file names: cut at the separators the index cuts them at.
CREATE FUNCTION facteur_search_names(t text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT plainto_tsquery('facteur_simple', translate(t, '@.-_+', '     '))
$$;
-- Restrict every lexeme of q to the weights w ('A': subject...): 'x' becomes 'x':A.
CREATE FUNCTION facteur_search_weighted(q tsquery, w text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(q::text, '(''(?:[^'']|'''')*'')', '\1:' || w, 'g')::tsquery
$$;
"""

DROP = """
DROP FUNCTION facteur_search_weighted(tsquery, text);
DROP FUNCTION facteur_search_names(text);
DROP FUNCTION facteur_search_phrase(text);
DROP FUNCTION facteur_search_words(text);
DROP FUNCTION facteur_search_vector(text);
DROP TEXT SEARCH CONFIGURATION facteur_english;
DROP TEXT SEARCH CONFIGURATION facteur_french;
DROP TEXT SEARCH CONFIGURATION facteur_simple;
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("domains", "0001_initial"),
        ("mail", "0005_recipient_pending"),
    ]

    operations = [
        UnaccentExtension(),
        migrations.RunSQL(CONFIGS + FUNCTIONS, DROP),
        migrations.CreateModel(
            name="MessageDocument",
            fields=[
                (
                    "message",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="mail.message",
                    ),
                ),
                ("received_at", models.DateTimeField()),
                ("document", django.contrib.postgres.search.SearchVectorField()),
                (
                    "mailbox",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="domains.mailbox",
                    ),
                ),
            ],
            options={
                "indexes": [
                    django.contrib.postgres.indexes.GinIndex(
                        fields=["document"], name="search_document_gin"
                    )
                ],
            },
        ),
        # Existing mail is indexed by 0003_newest_first, once the table has all its columns.
    ]
