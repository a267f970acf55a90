"""The installed ``facteur-admin`` console script, run as a real process."""

from __future__ import annotations

import json

from facteur.cli.main import main
from facteur.domains.models import Mailbox, MailboxAccess
from facteur.users.models import User
from tests.cli.conftest import console_script


def test_console_script_is_installed():
    assert console_script("facteur-admin").is_file()


def test_usage_without_arguments(capsys):
    assert main([]) == 2
    assert "usage: facteur-admin NOUN ACTION" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "mailbox  create ADDRESS" in capsys.readouterr().out


def test_a_session_through_the_console_script(run_admin, tmp_path, settings):
    # The process hashes with the real settings (Argon2); the test settings know MD5 only.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]
    assert run_admin("domain", "create", "example.org").returncode == 0

    created = run_admin(
        "user", "create", "ann@example.org", "--name", "Ann", "--random-password", "--json"
    )
    assert created.returncode == 0, created.stderr
    password = json.loads(created.stdout)["password"]

    from_stdin = run_admin(
        "user", "create", "bob@example.org", "--password", stdin="bobs-long-secret\n"
    )
    assert from_stdin.returncode == 0, from_stdin.stderr

    steps = [
        ("mailbox", "create", "contact@example.org", "--shared", "--owner", "ann@example.org"),
        ("access", "grant", "contact@example.org", "bob@example.org", "editor"),
        ("domain", "admin", "add", "example.org", "ann@example.org"),
    ]
    for step in steps:
        result = run_admin(*step)
        assert result.returncode == 0, (step, result.stderr)

    listing = run_admin("access", "list", "contact@example.org", "--json")
    assert [(a["email"], a["role"]) for a in json.loads(listing.stdout)] == [
        ("ann@example.org", "admin"),
        ("bob@example.org", "editor"),
    ]

    # What the process committed is in the test database.
    assert User.objects.get(email="ann@example.org").check_password(password)
    assert User.objects.get(email="bob@example.org").check_password("bobs-long-secret")
    box = Mailbox.objects.get(local_part="contact", domain__name="example.org")
    assert MailboxAccess.objects.filter(mailbox=box).count() == 2

    # Everything came from the environment: no embedded server, no data folder.
    assert not (tmp_path / "var").exists()


def test_refusals_are_one_line_with_status_2(run_admin):
    run_admin("domain", "create", "example.org")

    duplicate = run_admin("domain", "create", "example.org")
    unknown = run_admin("mailbox", "create", "x@nowhere.test")
    bad_usage = run_admin("access", "grant", "only-one-argument")

    assert (duplicate.returncode, duplicate.stdout) == (2, "")
    assert duplicate.stderr == "facteur-admin: error: The domain example.org already exists.\n"
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("facteur-admin: error: No domain nowhere.test")
    assert unknown.stderr.count("\n") == 1
    assert bad_usage.returncode == 2
    assert "the following arguments are required" in bad_usage.stderr


def test_other_django_commands_pass_through(run_admin):
    result = run_admin("showmigrations", "domains")

    assert result.returncode == 0, result.stderr
    assert "[X] 0001_initial" in result.stdout
