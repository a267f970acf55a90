"""``facteur-admin access``: grant, revoke, list."""

from __future__ import annotations

from facteur.domains import services as domain_services
from facteur.domains.models import MailboxAccess
from tests import factories


def test_grant_then_change_role(admin):
    box = factories.mailbox(factories.domain("example.org"), "contact", shared=True)
    user = factories.user("ann@example.org")

    data = admin.json("access", "grant", "contact@example.org", "ann@example.org", "viewer")
    assert (data["mailbox"], data["email"], data["role"]) == (
        "contact@example.org",
        "ann@example.org",
        "viewer",
    )
    output = admin("access", "grant", "contact@example.org", "ann@example.org", "SENDER")
    assert output.strip() == "ann@example.org is sender of contact@example.org."
    assert MailboxAccess.objects.get(mailbox=box, user=user).role == "sender"


def test_grant_refusals(admin):
    factories.mailbox(factories.domain("example.org"), "contact")
    factories.user("ann@example.org")

    assert admin.refused("access", "grant", "contact@example.org", "ann@example.org", "boss") == (
        "Unknown role 'boss'."
    )
    assert admin.refused("access", "grant", "nobox@example.org", "ann@example.org", "viewer") == (
        "No mailbox nobox@example.org."
    )
    assert "No user" in admin.refused(
        "access", "grant", "contact@example.org", "bob@example.org", "viewer"
    )
    assert not MailboxAccess.objects.exists()


def test_revoke(admin):
    box = factories.mailbox(factories.domain("example.org"), "contact", shared=True)
    ann, bob = factories.user("ann@example.org"), factories.user("bob@example.org")
    domain_services.access_grant(mailbox=box, user=ann, role="admin")
    domain_services.access_grant(mailbox=box, user=bob, role="editor")

    admin("access", "revoke", "contact@example.org", "bob@example.org")

    assert list(MailboxAccess.objects.values_list("user__email", flat=True)) == [ann.email]
    assert admin.refused("access", "revoke", "contact@example.org", "bob@example.org") == (
        "bob@example.org has no access to contact@example.org."
    )


def test_revoke_refuses_to_remove_the_last_admin(admin):
    box = factories.mailbox(factories.domain("example.org"), "contact", shared=True)
    domain_services.access_grant(mailbox=box, user=factories.user("ann@example.org"), role="admin")

    assert admin.refused("access", "revoke", "contact@example.org", "ann@example.org") == (
        "This is the mailbox's last admin and its domain has no admin."
    )
    assert MailboxAccess.objects.filter(mailbox=box).exists()


def test_list(admin):
    box = factories.mailbox(factories.domain("example.org"), "contact", shared=True)
    domain_services.access_grant(mailbox=box, user=factories.user("zed@example.org"), role="admin")
    domain_services.access_grant(mailbox=box, user=factories.user("amy@example.org"), role="viewer")

    data = admin.json("access", "list", "contact@example.org")
    table = admin("access", "list", "contact@example.org").splitlines()

    assert [(a["email"], a["role"]) for a in data] == [
        ("amy@example.org", "viewer"),
        ("zed@example.org", "admin"),
    ]
    assert table[0].split() == ["EMAIL", "NAME", "ROLE", "SINCE"]
    assert table[1].split()[:3] == ["amy@example.org", "-", "viewer"]
