"""A real database failure for chosen messages, for tests of what a failure does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def messages_refused(subject: str) -> Iterator[None]:
    """While inside: PostgreSQL refuses to insert a message with this subject (a
    trigger raises), as it would on a real fault. Needs committed schema changes, so
    tests using it run with ``transactional_db``."""
    assert subject.isalnum(), "a plain word: it goes into the trigger's text"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse_subject() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF NEW.subject = '{subject}' THEN "
            "RAISE EXCEPTION 'refused by a test'; END IF; RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_refuse_subject BEFORE INSERT ON mail_message "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_subject()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_refuse_subject ON mail_message")
            cursor.execute("DROP FUNCTION test_refuse_subject()")
