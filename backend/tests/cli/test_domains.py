"""``facteur-admin domain``: create, list, admin add|remove, delete."""

from __future__ import annotations

from facteur.domains import services as domain_services
from facteur.domains.models import MailDomain, MailDomainAdmin
from tests import factories


def test_create_normalises_the_name(admin):
    assert admin("domain", "create", "Example.ORG.").strip() == "Created the domain example.org."
    assert MailDomain.objects.filter(name="example.org", managed=False).exists()


def test_create_refuses_bad_names_and_duplicates(admin):
    factories.domain("example.org")

    assert (
        admin.refused("domain", "create", "EXAMPLE.org") == "The domain example.org already exists."
    )
    assert "not a valid domain name" in admin.refused("domain", "create", "localhost")
    assert "not a valid domain name" in admin.refused("domain", "create", "bad_name.test")
    assert MailDomain.objects.count() == 1


def test_list(admin):
    dom = factories.domain("b.test")
    factories.mailbox(dom, "one")
    factories.mailbox(dom, "two")
    factories.domain("a.test")
    domain_services.domain_admin_add(domain=dom, user=factories.user("boss@b.test"))

    data = admin.json("domain", "list")
    table = admin("domain", "list").splitlines()

    assert [(d["name"], d["mailboxes"], d["admins"]) for d in data] == [
        ("a.test", 0, []),
        ("b.test", 2, ["boss@b.test"]),
    ]
    assert table[0].split() == ["DOMAIN", "MAILBOXES", "ADMINS", "MANAGED"]
    assert table[2].split() == ["b.test", "2", "boss@b.test", "no"]


def test_admin_add_and_remove(admin):
    dom = factories.domain("example.org")
    user = factories.user("ann@example.org")

    admin("domain", "admin", "add", "example.org", "ann@example.org")
    admin("domain", "admin", "add", "example.org", "ann@example.org")  # idempotent
    assert MailDomainAdmin.objects.filter(domain=dom, user=user).count() == 1

    data = admin.json("domain", "admin", "remove", "example.org", "ann@example.org")
    assert data["admins"] == []
    assert not MailDomainAdmin.objects.filter(domain=dom).exists()
    assert "is not an administrator" in admin.refused(
        "domain", "admin", "remove", "example.org", "ann@example.org"
    )


def test_admin_of_unknown_domain_or_user(admin):
    factories.domain("example.org")
    factories.user("ann@example.org")

    assert "No domain nowhere.test" in admin.refused(
        "domain", "admin", "add", "nowhere.test", "ann@example.org"
    )
    assert "No user with the e-mail bob@example.org" in admin.refused(
        "domain", "admin", "add", "example.org", "bob@example.org"
    )


def test_delete_refuses_while_mailboxes_or_aliases_remain(admin):
    dom = factories.domain("example.org")
    box = factories.mailbox(dom, "contact")
    other = factories.domain("example.net")
    domain_services.alias_create(mailbox=box, local_part="hello", domain=other)

    message = admin.refused("domain", "delete", "example.org")
    assert message.startswith("The domain example.org still has 1 mailbox: delete them first")
    assert "hello@example.net" in admin.refused("domain", "delete", "example.net")
    assert MailDomain.objects.count() == 2

    box.delete()
    admin("domain", "delete", "example.org")
    assert list(MailDomain.objects.values_list("name", flat=True)) == ["example.net"]


def test_delete_refuses_operator_managed_domains(admin):
    domain_services.domain_create(name="k8s.test", managed=True)

    assert "managed by the Kubernetes operator" in admin.refused("domain", "delete", "k8s.test")
    assert MailDomain.objects.filter(name="k8s.test").exists()
