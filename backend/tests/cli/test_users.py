"""``facteur-admin user``: create, list, set-password, delete."""

from __future__ import annotations

import io
import re

from django.contrib.auth import authenticate

from facteur.domains import services as domain_services
from facteur.domains.models import MailboxAccess
from facteur.users.models import User
from tests import factories


def _password_in(output: str) -> str:
    match = re.search(r"^Password: (\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_create_with_a_random_password_that_logs_in(admin):
    output = admin(
        "user", "create", "Alice@Example.test", "--name", "Alice Martin", "--random-password"
    )

    password = _password_in(output)
    assert re.fullmatch(r"[A-Za-z0-9]{16}", password)
    user = User.objects.get(email="alice@example.test")
    assert user.full_name == "Alice Martin"
    assert not user.is_staff
    assert authenticate(email="alice@example.test", password=password) == user


def test_create_reads_the_password_from_standard_input(admin, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-passphrase-here\n"))

    admin("user", "create", "bob@example.test", "--password", "--staff")

    user = User.objects.get(email="bob@example.test")
    assert user.is_staff and user.is_superuser
    assert user.check_password("a-long-passphrase-here")


def test_create_without_password_gives_an_oidc_only_account(admin):
    data = admin.json("user", "create", "carol@example.test")

    assert data["email"] == "carol@example.test"
    assert data["has_password"] is False
    assert "password" not in data
    assert not User.objects.get(email="carol@example.test").has_usable_password()


def test_create_refuses_duplicates_bad_addresses_and_weak_passwords(admin, monkeypatch):
    factories.user("dave@example.test")

    assert "already exists" in admin.refused("user", "create", "DAVE@example.test")
    assert "valid email" in admin.refused("user", "create", "not-an-address").lower()
    monkeypatch.setattr("sys.stdin", io.StringIO("password\n"))
    assert "too common" in admin.refused("user", "create", "erin@example.test", "--password")
    assert not User.objects.filter(email="erin@example.test").exists()


def test_list_as_table_and_json(admin):
    factories.user("zoe@example.test")
    box = factories.mailbox(factories.domain("example.test"), "zoe")
    domain_services.access_grant(
        mailbox=box, user=User.objects.get(email="zoe@example.test"), role="admin"
    )
    User.objects.create_user("adam@example.test", None, full_name="Adam")

    table = admin("user", "list").splitlines()
    data = admin.json("user", "list")

    assert table[0].split() == ["EMAIL", "NAME", "STAFF", "PASSWORD", "LOGIN", "MAILBOXES"]
    assert [line.split()[0] for line in table[1:]] == ["adam@example.test", "zoe@example.test"]
    assert [(u["email"], u["has_password"], u["mailboxes"]) for u in data] == [
        ("adam@example.test", False, 0),
        ("zoe@example.test", True, 1),
    ]


def test_set_password(admin, monkeypatch):
    user = factories.user("frank@example.test")

    password = _password_in(
        admin("user", "set-password", "frank@example.test", "--random-password")
    )
    assert authenticate(email=user.email, password=password) == user

    monkeypatch.setattr("sys.stdin", io.StringIO("another-long-passphrase\n"))
    admin("user", "set-password", "FRANK@example.test")
    user.refresh_from_db()
    assert user.check_password("another-long-passphrase")


def test_unknown_user(admin):
    assert admin.refused("user", "set-password", "nobody@example.test", "--random-password") == (
        "No user with the e-mail nobody@example.test."
    )
    assert "No user" in admin.refused("user", "delete", "nobody@example.test")


def test_delete_removes_the_user_and_their_accesses(admin):
    user = factories.user("gina@example.test")
    box = factories.mailbox(factories.domain("example.test"), "gina")
    domain_services.access_grant(mailbox=box, user=user, role="admin")

    admin("user", "delete", "gina@example.test")

    assert not User.objects.filter(email="gina@example.test").exists()
    assert not MailboxAccess.objects.filter(mailbox=box).exists()


def test_delete_refuses_to_orphan_a_shared_mailbox(admin):
    user = factories.user("hugo@example.test")
    box = factories.mailbox(factories.domain("example.test"), "team", shared=True)
    domain_services.access_grant(mailbox=box, user=user, role="admin")

    assert "last admin" in admin.refused("user", "delete", "hugo@example.test")
    assert User.objects.filter(email="hugo@example.test").exists()
    assert MailboxAccess.objects.filter(mailbox=box, user=user).exists()
