"""``facteur-admin mailbox``: create, list, alias add|remove, delete."""

from __future__ import annotations

from facteur.domains import services as domain_services
from facteur.domains.models import Mailbox, MailboxAccess, MailboxAlias
from facteur.mail.models import Message, Thread
from tests import factories


def test_create_shared_mailbox_with_an_owner(admin):
    factories.domain("example.org")
    owner = factories.user("ann@example.org")

    data = admin.json(
        "mailbox", "create", "Contact@Example.org", "--shared", "--name", "Contact", "--owner",
        "ann@example.org",
    )  # fmt: skip

    box = Mailbox.objects.get(local_part="contact", domain__name="example.org")
    assert (box.kind, box.display_name) == ("shared", "Contact")
    assert MailboxAccess.objects.get(mailbox=box).user == owner
    assert data["address"] == "contact@example.org"
    assert data["accesses"] == [{"email": "ann@example.org", "role": "admin"}]


def test_create_personal_mailbox_says_nobody_can_read_it_yet(admin):
    factories.domain("example.org")

    output = admin("mailbox", "create", "bob@example.org")

    assert "Created the personal mailbox bob@example.org." in output
    assert "facteur-admin access grant bob@example.org EMAIL admin" in output


def test_create_refusals(admin):
    dom = factories.domain("example.org")
    box = factories.mailbox(dom, "contact")
    domain_services.alias_create(mailbox=box, local_part="hello")

    assert "No domain example.net" in admin.refused("mailbox", "create", "x@example.net")
    assert admin.refused("mailbox", "create", "contact@example.org") == (
        "The address contact@example.org is taken."
    )
    assert "is taken" in admin.refused("mailbox", "create", "hello@example.org")
    assert "not a valid local part" in admin.refused("mailbox", "create", "a..b@example.org")
    assert "not an e-mail address" in admin.refused("mailbox", "create", "example.org")
    assert "No user" in admin.refused(
        "mailbox", "create", "new@example.org", "--owner", "ghost@example.org"
    )
    assert Mailbox.objects.count() == 1


def test_list_all_or_one_domain(admin):
    one = factories.domain("one.test")
    two = factories.domain("two.test")
    box = factories.mailbox(one, "contact", shared=True)
    factories.mailbox(two, "info")
    domain_services.alias_create(mailbox=box, local_part="hello")
    domain_services.access_grant(mailbox=box, user=factories.user("ann@one.test"), role="editor")
    factories.message_create(box)

    everything = admin.json("mailbox", "list")
    only_one = admin.json("mailbox", "list", "--domain", "one.test")
    table = admin("mailbox", "list").splitlines()

    assert [m["address"] for m in everything] == ["contact@one.test", "info@two.test"]
    assert only_one == everything[:1]
    assert only_one[0]["aliases"] == ["hello@one.test"]
    assert only_one[0]["accesses"] == [{"email": "ann@one.test", "role": "editor"}]
    assert only_one[0]["messages"] == 1
    assert table[0].split() == ["ADDRESS", "KIND", "NAME", "ALIASES", "ACCESSES", "MESSAGES"]
    assert "ann@one.test (editor)" in table[1]
    assert "No domain three.test" in admin.refused("mailbox", "list", "--domain", "three.test")


def test_alias_add_and_remove(admin):
    dom = factories.domain("example.org")
    factories.domain("example.net")
    box = factories.mailbox(dom, "contact")

    admin("mailbox", "alias", "add", "contact@example.org", "hello")
    data = admin.json("mailbox", "alias", "add", "contact@example.org", "info@example.net")
    assert data["aliases"] == ["hello@example.org", "info@example.net"]

    assert "is taken" in admin.refused("mailbox", "alias", "add", "contact@example.org", "hello")
    assert "No domain example.com" in admin.refused(
        "mailbox", "alias", "add", "contact@example.org", "x@example.com"
    )

    admin("mailbox", "alias", "remove", "contact@example.org", "hello@example.org")
    assert [a.address for a in MailboxAlias.objects.filter(mailbox=box)] == ["info@example.net"]
    assert admin.refused("mailbox", "alias", "remove", "contact@example.org", "hello") == (
        "hello@example.org is not an alias of contact@example.org."
    )


def test_an_alias_does_not_name_its_mailbox(admin):
    box = factories.mailbox(factories.domain("example.org"), "contact")
    domain_services.alias_create(mailbox=box, local_part="hello")

    assert admin.refused("mailbox", "delete", "hello@example.org") == (
        "hello@example.org is an alias of the mailbox contact@example.org: name the mailbox itself."
    )


def test_delete_refuses_while_it_holds_mail(admin):
    box = factories.mailbox(factories.domain("example.org"), "contact")
    factories.message_create(box)
    factories.message_create(box, attachment=b"%PDF-1.4 demo")

    assert admin.refused("mailbox", "delete", "contact@example.org") == (
        "The mailbox contact@example.org holds 2 messages; deleting it would delete them. Add "
        "--delete-mail to do so."
    )
    assert Message.objects.filter(mailbox=box).count() == 2

    admin("mailbox", "delete", "contact@example.org", "--delete-mail")
    assert not Mailbox.objects.filter(pk=box.pk).exists()
    assert not Thread.objects.filter(mailbox_id=box.pk).exists()


def test_delete_an_empty_mailbox(admin):
    box = factories.mailbox(factories.domain("example.org"), "old")

    assert admin("mailbox", "delete", "old@example.org").strip() == (
        "Deleted the mailbox old@example.org."
    )
    assert not Mailbox.objects.filter(pk=box.pk).exists()
    assert admin.refused("mailbox", "delete", "old@example.org") == "No mailbox old@example.org."


def test_operator_managed_mailboxes_are_read_only(admin):
    dom = factories.domain("example.org")
    domain_services.mailbox_create(domain=dom, local_part="k8s", managed=True)
    factories.user("ann@example.org")

    for args in (
        ("delete", "k8s@example.org"),
        ("alias", "add", "k8s@example.org", "other"),
    ):
        assert "managed by the Kubernetes operator" in admin.refused("mailbox", *args)
    assert "managed by the Kubernetes operator" in admin.refused(
        "access", "grant", "k8s@example.org", "ann@example.org", "viewer"
    )
