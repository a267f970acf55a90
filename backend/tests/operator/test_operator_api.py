"""The internal API for the operator: idempotent upserts, deletion policies, its one door.

Scenarios: domain PUT creates a managed domain with its admins (users created when
missing), a second identical PUT changes nothing, a changed admin list is applied exactly,
a hand-made domain is adopted; DKIM key PUT stores the key encrypted and active, again is
a no-op, a new selector rotates, a clashing key on a selector is refused, garbage is
refused; mailbox PUT creates it with aliases and accesses, re-PUT is a no-op, updates
replace aliases/accesses exactly, an address taken elsewhere is refused; DELETE with
Retain keeps everything unmanaged and disabled (idempotent; still readable; shown in the
public API and to the MTA), a PUT of the resource coming back enables it again, with Delete
removes it (mail included), and is 204 when already gone; wrong/missing token 401 and
every persona's session 401.
"""

from __future__ import annotations

import base64

import pytest
from django.core.cache import cache
from django.test import Client

from facteur.domains import dkimkeys
from facteur.domains import services as domain_services
from facteur.domains.models import DkimKey, Mailbox, MailboxAccess, MailboxAlias, MailDomain
from facteur.mail.models import Message
from facteur.users.models import User
from tests import factories
from tests.api.test_authorization_matrix import PERSONAS
from tests.conftest import World

TOKEN = "operator-test-token-0123456789"
API = "/api/v1.0/operator"


@pytest.fixture(autouse=True)
def _token(settings) -> None:
    settings.FACTEUR_SERVICE_TOKEN = TOKEN


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.delete("throttle_operator_127.0.0.1")
    yield
    cache.delete("throttle_operator_127.0.0.1")


def call(method: str, path: str, body=None, token: str | None = TOKEN, client=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    client = client or Client()
    if body is None:
        return getattr(client, method)(f"{API}/{path}", **headers)
    return getattr(client, method)(
        f"{API}/{path}", data=body, content_type="application/json", **headers
    )


def admins_of(name: str) -> set[str]:
    return set(MailDomain.objects.get(name=name).admins.values_list("user__email", flat=True))


@pytest.mark.django_db
def test_domain_put_creates_a_managed_domain_with_its_admins() -> None:
    factories.user("alice@example.org")
    response = call("put", "domains/example.org/", {"admins": ["Alice@example.org", "bob@x.test"]})
    assert response.status_code == 200, response.content
    assert response.json()["changed"] is True and response.json()["domain"] == "example.org"
    domain = MailDomain.objects.get(name="example.org")
    assert domain.managed is True
    assert admins_of("example.org") == {"alice@example.org", "bob@x.test"}
    # bob did not exist: made without a password, to sign in through OIDC
    assert not User.objects.get(email="bob@x.test").has_usable_password()


@pytest.mark.django_db
def test_domain_put_again_changes_nothing_and_admins_follow_the_list() -> None:
    call("put", "domains/example.org/", {"admins": ["a@example.org", "b@example.org"]})
    again = call("put", "domains/example.org/", {"admins": ["b@example.org", "a@example.org"]})
    assert again.status_code == 200 and again.json()["changed"] is False
    changed = call("put", "domains/example.org/", {"admins": ["b@example.org"]})
    assert changed.json()["changed"] is True
    assert admins_of("example.org") == {"b@example.org"}


@pytest.mark.django_db
def test_a_hand_made_domain_is_adopted() -> None:
    domain = domain_services.domain_create(name="hand.example")
    response = call("put", "domains/hand.example/", {"admins": []})
    assert response.json() == {"domain": "hand.example", "id": str(domain.pk), "changed": True}
    assert MailDomain.objects.get(pk=domain.pk).managed is True


@pytest.mark.django_db
def test_domain_put_refuses_a_bad_name_or_admin() -> None:
    assert call("put", "domains/not_a_domain/", {"admins": []}).status_code == 400
    response = call("put", "domains/example.org/", {"admins": ["nobody"]})
    assert response.status_code == 400 and "admins" in response.json()["errors"]
    assert not MailDomain.objects.filter(name="example.org").exists()


def _key_body(selector: str, pair: dkimkeys.KeyPair) -> dict[str, str]:
    return {
        "selector": selector,
        "algorithm": pair.algorithm,
        "private_key": base64.b64encode(pair.private).decode(),
    }


@pytest.mark.django_db
def test_dkim_key_put_stores_the_key_encrypted_and_active() -> None:
    call("put", "domains/example.org/", {"admins": []})
    pair = dkimkeys.generate(dkimkeys.RSA_SHA256, 1024)
    response = call("put", "domains/example.org/dkim/", _key_body("facteur-202611", pair))
    assert response.status_code == 200, response.content
    assert response.json() == {"selector": "facteur-202611", "changed": True}
    key = DkimKey.objects.get(domain__name="example.org")
    assert key.is_active and key.public_key == pair.public
    assert pair.private not in key.private_key_encrypted.encode()
    assert domain_services.dkim_key_private(key=key) == pair.private
    again = call("put", "domains/example.org/dkim/", _key_body("facteur-202611", pair))
    assert again.json()["changed"] is False


@pytest.mark.django_db
def test_dkim_key_put_with_a_new_selector_rotates() -> None:
    call("put", "domains/example.org/", {"admins": []})
    old = dkimkeys.generate(dkimkeys.ED25519_SHA256)
    new = dkimkeys.generate(dkimkeys.ED25519_SHA256)
    call("put", "domains/example.org/dkim/", _key_body("s1", old))
    assert call("put", "domains/example.org/dkim/", _key_body("s2", new)).json()["changed"]
    active = {k.selector: k.is_active for k in DkimKey.objects.filter(domain__name="example.org")}
    assert active == {"s1": False, "s2": True}
    # Back to s1 (a rotation undone): the stored key becomes active again.
    assert call("put", "domains/example.org/dkim/", _key_body("s1", old)).json()["changed"]
    assert DkimKey.objects.get(domain__name="example.org", is_active=True).selector == "s1"


@pytest.mark.django_db
def test_dkim_key_put_refuses_clashes_and_garbage() -> None:
    call("put", "domains/example.org/", {"admins": []})
    call("put", "domains/example.org/dkim/", _key_body("s1", dkimkeys.generate(bits=1024)))
    clash = call("put", "domains/example.org/dkim/", _key_body("s1", dkimkeys.generate(bits=1024)))
    assert clash.status_code == 400 and "already has another key" in clash.content.decode()
    garbage = {"selector": "s2", "algorithm": "rsa-sha256", "private_key": "bm90IGEga2V5"}
    assert call("put", "domains/example.org/dkim/", garbage).status_code == 400
    assert (
        call("put", "domains/example.org/dkim/", {**garbage, "private_key": "%%"}).status_code
        == 400
    )
    bad_selector = _key_body("Bad_Selector", dkimkeys.generate(bits=1024))
    assert call("put", "domains/example.org/dkim/", bad_selector).status_code == 400
    unknown = call(
        "put", "domains/nowhere.example/dkim/", _key_body("s3", dkimkeys.generate(bits=1024))
    )
    assert unknown.status_code == 404
    assert DkimKey.objects.filter(domain__name="example.org").count() == 1


MAILBOX = {
    "type": "shared",
    "display_name": "Contact",
    "aliases": ["hello", "info"],
    "access": [
        {"user": "alice@example.org", "role": "admin"},
        {"user": "bob@example.org", "role": "editor"},
    ],
}


def _state(address: str) -> dict:
    local, domain = address.split("@")
    mailbox = Mailbox.objects.get(local_part=local, domain__name=domain)
    return {
        "kind": mailbox.kind,
        "display_name": mailbox.display_name,
        "managed": mailbox.managed,
        "aliases": sorted(mailbox.aliases.values_list("local_part", flat=True)),
        "access": dict(mailbox.accesses.values_list("user__email", "role")),
    }


@pytest.mark.django_db
def test_mailbox_put_creates_and_is_idempotent() -> None:
    call("put", "domains/example.org/", {"admins": []})
    response = call("put", "mailboxes/contact@example.org/", MAILBOX)
    assert response.status_code == 200, response.content
    assert response.json()["changed"] is True
    assert _state("contact@example.org") == {
        "kind": "shared",
        "display_name": "Contact",
        "managed": True,
        "aliases": ["hello", "info"],
        "access": {"alice@example.org": "admin", "bob@example.org": "editor"},
    }
    assert call("put", "mailboxes/contact@example.org/", MAILBOX).json()["changed"] is False


@pytest.mark.django_db
def test_mailbox_put_replaces_aliases_and_accesses_exactly() -> None:
    call("put", "domains/example.org/", {"admins": []})
    call("put", "mailboxes/contact@example.org/", MAILBOX)
    update = {
        "type": "personal",
        "display_name": "",
        "aliases": ["info", "support"],
        "access": [{"user": "bob@example.org", "role": "admin"}],
    }
    assert call("put", "mailboxes/contact@example.org/", update).json()["changed"] is True
    assert _state("contact@example.org") == {
        "kind": "personal",
        "display_name": "",
        "managed": True,
        "aliases": ["info", "support"],
        "access": {"bob@example.org": "admin"},
    }


@pytest.mark.django_db
def test_mailbox_put_refuses_taken_addresses_and_unknown_domains() -> None:
    call("put", "domains/example.org/", {"admins": []})
    call("put", "mailboxes/contact@example.org/", MAILBOX)
    taken = call("put", "mailboxes/other@example.org/", {"aliases": ["hello"]})
    assert taken.status_code == 400 and "taken" in taken.content.decode()
    assert not Mailbox.objects.filter(local_part="other").exists()
    alias_as_box = call("put", "mailboxes/hello@example.org/", {})
    assert alias_as_box.status_code == 400
    assert call("put", "mailboxes/x@nowhere.example/", {}).status_code == 404
    bad_role = call(
        "put", "mailboxes/contact@example.org/", {"access": [{"user": "a@b.test", "role": "owner"}]}
    )
    assert bad_role.status_code == 400
    assert _state("contact@example.org")["aliases"] == ["hello", "info"]


@pytest.mark.django_db
def test_delete_retain_keeps_everything_unmanaged() -> None:
    call("put", "domains/example.org/", {"admins": []})
    call("put", "mailboxes/contact@example.org/", MAILBOX)
    mailbox = Mailbox.objects.get(local_part="contact")
    factories.message_create(mailbox)
    assert call("delete", "mailboxes/contact@example.org/").status_code == 204
    assert call("delete", "domains/example.org/?deletionPolicy=Retain").status_code == 204
    mailbox.refresh_from_db()
    assert mailbox.managed is False and mailbox.aliases.count() == 2
    assert Message.objects.filter(mailbox=mailbox).count() == 1
    assert MailDomain.objects.get(name="example.org").managed is False


@pytest.mark.django_db
def test_retain_disables_idempotently_and_the_resource_coming_back_enables() -> None:
    call("put", "domains/example.org/", {"admins": []})
    call("put", "mailboxes/contact@example.org/", MAILBOX)
    for _ in range(2):  # a retried deletion: the same state, still 204
        assert call("delete", "mailboxes/contact@example.org/").status_code == 204
        mailbox = Mailbox.objects.get(local_part="contact")
        assert (mailbox.is_disabled, mailbox.managed, mailbox.accepts_mail) == (True, False, False)
    for _ in range(2):
        assert call("delete", "domains/example.org/?deletionPolicy=Retain").status_code == 204
        assert MailDomain.objects.get(name="example.org").is_disabled is True
    # The MailDomain and the Mailbox declared again: enabled and managed, a change.
    assert call("put", "domains/example.org/", {"admins": []}).json()["changed"] is True
    domain = MailDomain.objects.get(name="example.org")
    assert (domain.is_disabled, domain.managed) == (False, True)
    assert call("put", "mailboxes/contact@example.org/", MAILBOX).json()["changed"] is True
    mailbox.refresh_from_db()
    assert (mailbox.is_disabled, mailbox.managed, mailbox.accepts_mail) == (False, True, True)
    assert call("put", "mailboxes/contact@example.org/", MAILBOX).json()["changed"] is False


@pytest.mark.django_db
def test_a_disabled_mailbox_stays_readable_and_says_so() -> None:
    call("put", "domains/example.org/", {"admins": []})
    call("put", "mailboxes/contact@example.org/", MAILBOX)
    mailbox = Mailbox.objects.get(local_part="contact")
    message = factories.message_create(mailbox)
    call("delete", "mailboxes/contact@example.org/")
    client = Client()
    client.force_login(User.objects.get(email="bob@example.org"))  # editor
    listed = client.get("/api/v1.0/mailboxes/").json()
    (entry,) = [m for m in listed if m["address"] == "contact@example.org"]
    assert entry["is_disabled"] is True
    read = client.get(f"/api/v1.0/messages/{message.pk}/")
    assert read.status_code == 200, read.content
    # The internal recipient check tells the MTA it is there, but disabled.
    answer = (
        Client()
        .get("/api/v1.0/mta/recipients/hello@example.org/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        .json()
    )
    assert (answer["exists"], answer["disabled"]) == (True, True)
    # A domain disabled disables its mailboxes too.
    call("put", "mailboxes/contact@example.org/", MAILBOX)
    MailDomain.objects.filter(name="example.org").update(is_disabled=True)
    listed = client.get("/api/v1.0/mailboxes/").json()
    assert [m["is_disabled"] for m in listed if m["address"] == "contact@example.org"] == [True]


@pytest.mark.django_db
def test_delete_with_delete_policy_removes_mailbox_then_domain() -> None:
    call("put", "domains/example.org/", {"admins": ["alice@example.org"]})
    call("put", "mailboxes/contact@example.org/", MAILBOX)
    # The domain still has its mailbox: refused, nothing lost.
    refused = call("delete", "domains/example.org/?deletionPolicy=Delete")
    assert refused.status_code == 400 and "delete them first" in refused.content.decode()
    gone = call("delete", "mailboxes/contact@example.org/?deletionPolicy=Delete")
    assert gone.status_code == 204
    assert not Mailbox.objects.filter(local_part="contact").exists()
    assert not MailboxAlias.objects.exists()
    assert call("delete", "domains/example.org/?deletionPolicy=Delete").status_code == 204
    assert not MailDomain.objects.filter(name="example.org").exists()
    # Retried deletions succeed: nothing left to do.
    assert call("delete", "mailboxes/contact@example.org/?deletionPolicy=Delete").status_code == 204
    assert call("delete", "domains/example.org/?deletionPolicy=Delete").status_code == 204
    assert call("delete", "domains/example.org/?deletionPolicy=Sometimes").status_code == 400


@pytest.mark.django_db
def test_delete_policy_delete_removes_the_mail_too() -> None:
    call("put", "domains/example.org/", {"admins": []})
    call("put", "mailboxes/contact@example.org/", MAILBOX)
    mailbox = Mailbox.objects.get(local_part="contact")
    factories.message_create(mailbox)
    call("delete", "mailboxes/contact@example.org/?deletionPolicy=Delete")
    assert not Message.objects.filter(mailbox_id=mailbox.pk).exists()


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
@pytest.mark.django_db
def test_without_the_token_nothing_happens(token) -> None:
    response = call("put", "domains/example.org/", {"admins": []}, token=token)
    assert response.status_code == 401
    assert not MailDomain.objects.filter(name="example.org").exists()


@pytest.mark.parametrize("persona", PERSONAS[1:])
def test_a_user_session_counts_for_nothing(world: World, persona: str) -> None:
    response = call(
        "put", "domains/example.org/", {"admins": []}, token=None, client=world.client(persona)
    )
    assert response.status_code == 401
    deleted = call(
        "delete",
        f"mailboxes/{world.mailbox.address}/?deletionPolicy=Delete",
        token=None,
        client=world.client(persona),
    )
    assert deleted.status_code == 401
    assert Mailbox.objects.filter(pk=world.mailbox.pk).exists()


@pytest.mark.django_db
def test_disabled_without_a_configured_token(settings) -> None:
    settings.FACTEUR_SERVICE_TOKEN = ""
    assert call("put", "domains/example.org/", {"admins": []}).status_code == 404


@pytest.mark.django_db
def test_dkim_key_put_refuses_an_rsa_key_that_does_not_verify_its_own_signatures() -> None:
    # Whole and parseable, but its private exponents are not the public one's inverse: a
    # key that would sign every message with a signature no receiver can verify.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    good = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_numbers()
    broken = rsa.RSAPrivateNumbers(
        p=good.p,
        q=good.q,
        d=good.d + 2,
        dmp1=good.dmp1 + 2,
        dmq1=good.dmq1,
        iqmp=good.iqmp,
        public_numbers=good.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)
    pem = broken.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    call("put", "domains/example.org/", {"admins": []})
    body = {
        "selector": "s1",
        "algorithm": "rsa-sha256",
        "private_key": base64.b64encode(pem).decode(),
    }
    refused = call("put", "domains/example.org/dkim/", body)
    assert refused.status_code == 400 and "does not verify" in refused.content.decode()
    assert not DkimKey.objects.filter(domain__name="example.org").exists()


# --- many mailboxes in one call (what the operator sends in a burst) ------------------------


@pytest.mark.django_db
def test_mailbox_batch_upserts_each_item_as_its_put_would() -> None:
    call("put", "domains/example.org/", {"admins": []})
    call("put", "domains/example.net/", {"admins": []})
    items = [
        {"address": "contact@example.org", **MAILBOX},
        {"address": "sales@example.net", "display_name": "Sales"},
    ]
    response = call("post", "mailboxes/", {"mailboxes": items})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["address"], r["changed"]) for r in results] == [
        ("contact@example.org", True),
        ("sales@example.net", True),
    ]
    assert results[0]["id"] == str(Mailbox.objects.get(local_part="contact").pk)
    assert _state("contact@example.org")["aliases"] == ["hello", "info"]
    assert _state("sales@example.net")["display_name"] == "Sales"
    # Again: nothing to do; and the same state as one PUT per mailbox gives.
    again = call("post", "mailboxes/", {"mailboxes": items}).json()["results"]
    assert [r["changed"] for r in again] == [False, False]
    assert call("put", "mailboxes/contact@example.org/", MAILBOX).json()["changed"] is False


@pytest.mark.django_db
def test_a_refused_item_has_its_own_answer_and_holds_back_no_other() -> None:
    call("put", "domains/example.org/", {"admins": []})
    call("put", "mailboxes/contact@example.org/", MAILBOX)  # holds the alias hello
    items = [
        {"address": "first@example.org"},
        {"address": "taker@example.org", "aliases": ["hello"]},  # taken: 400
        {"address": "x@nowhere.example"},  # no such domain: 404
        {"address": "no-at-sign"},  # 400
        {"address": "y@not a domain"},  # 400
        {"address": "last@example.org", "access": [{"user": "carol@x.test", "role": "viewer"}]},
    ]
    response = call("post", "mailboxes/", {"mailboxes": items})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r.get("status") for r in results] == [None, 400, 404, 400, 400, None]
    assert "hello@example.org is taken" in results[1]["detail"]
    assert results[2]["detail"] == "no domain nowhere.example"
    # The refused item left nothing behind; the ones around it are whole.
    assert not Mailbox.objects.filter(local_part="taker").exists()
    assert _state("first@example.org")["managed"] is True
    assert _state("last@example.org")["access"] == {"carol@x.test": "viewer"}


@pytest.mark.django_db
def test_a_batch_of_new_mailboxes_is_made_in_a_few_queries_as_puts_would_make_them() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call("put", "domains/example.org/", {"admins": []})
    call("put", "domains/example.net/", {"admins": []})
    items = [
        {
            "address": f"u{n}@example.{'org' if n % 2 else 'net'}",
            "type": "shared",
            "display_name": f"User {n}",
            "aliases": [f"u{n}-a", f"U{n}-B"],
            "access": [
                {"user": "alice@example.org", "role": "admin"},
                {"user": f"new{n}@example.org", "role": "viewer"},
            ],
        }
        for n in range(100)
    ]
    with CaptureQueriesContext(connection) as queries:
        response = call("post", "mailboxes/", {"mailboxes": items})
    assert response.status_code == 200, response.content
    assert [r["changed"] for r in response.json()["results"]] == [True] * 100
    # One per item would be 700 and more; the users made (one each) are most of these.
    assert len(queries.captured_queries) < 100 + 20, len(queries.captured_queries)
    assert _state("u7@example.org") == {
        "kind": "shared",
        "display_name": "User 7",
        "managed": True,
        "aliases": ["u7-a", "u7-b"],
        "access": {"alice@example.org": "admin", "new7@example.org": "viewer"},
    }
    # The same as PUTs make: a PUT of each item again changes nothing.
    for item in (items[0], items[7]):
        again = call("put", f"mailboxes/{item['address']}/", item)
        assert again.json()["changed"] is False, item
    assert call("post", "mailboxes/", {"mailboxes": items}).json()["results"][3]["changed"] is False


@pytest.mark.django_db
def test_in_a_batch_an_address_wanted_twice_goes_to_the_first_and_updates_are_applied() -> None:
    call("put", "domains/example.org/", {"admins": []})
    call("put", "mailboxes/contact@example.org/", MAILBOX)  # holds hello and info
    items = [
        {"address": "contact@example.org", **MAILBOX, "aliases": ["hello"]},  # an update
        {"address": "one@example.org", "aliases": ["both"]},
        {"address": "two@example.org", "aliases": ["both"]},  # wanted by one: taken
        {"address": "info@example.org"},  # free again once contact dropped it
        {"address": "self@example.org", "aliases": ["self"]},  # its own address
        {"address": "a..b@example.org"},  # not a local part
        {"address": "both@example.org"},  # an alias of one's, above
    ]
    results = call("post", "mailboxes/", {"mailboxes": items}).json()["results"]
    assert [r.get("status") for r in results] == [None, None, 400, None, 400, 400, 400]
    assert "both@example.org is taken" in results[2]["detail"]
    assert "not an alias" in results[4]["detail"]
    assert "not a valid local part" in results[5]["detail"]
    assert results[0]["changed"] is True
    assert _state("contact@example.org")["aliases"] == ["hello"]
    assert _state("one@example.org")["aliases"] == ["both"]
    assert _state("info@example.org")["aliases"] == []
    assert not Mailbox.objects.filter(local_part__in=["two", "self", "both"]).exists()


@pytest.mark.django_db
def test_a_batch_racing_another_call_falls_back_to_one_by_one(monkeypatch) -> None:
    """Another worker makes one of the batch's addresses between its check and its bulk
    creation: the bulk is undone whole and each item is upserted alone, saying why."""
    from facteur.domains import managed

    call("put", "domains/example.org/", {"admins": []})
    checked = managed.addresses_taken

    def taken_then_raced(addresses):
        found = checked(addresses)
        domain = MailDomain.objects.get(name="example.org")
        Mailbox.objects.create(domain=domain, local_part="raced", managed=True)
        return found

    monkeypatch.setattr(managed, "addresses_taken", taken_then_raced)
    items = [
        {"address": "first@example.org"},
        {"address": "raced@example.org", "display_name": "Mine"},
        {"address": "other@example.org", "aliases": ["raced"]},
    ]
    results = call("post", "mailboxes/", {"mailboxes": items}).json()["results"]
    assert [r.get("status") for r in results] == [None, None, 400]
    assert [r.get("changed") for r in results[:2]] == [True, True]  # raced: updated
    assert _state("raced@example.org")["display_name"] == "Mine"
    assert "raced@example.org is taken" in results[2]["detail"]
    assert _state("first@example.org")["managed"] is True


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"mailboxes": []},
        {"mailboxes": "contact@example.org"},
        {"mailboxes": [{"display_name": "no address"}]},
        {"mailboxes": [{"address": f"u{i}@example.org"} for i in range(101)]},
        {"mailboxes": [{"address": "a@example.org", "type": "team"}]},
    ],
    ids=["no-list", "empty", "not-a-list", "no-address", "101-items", "bad-type"],
)
@pytest.mark.django_db
def test_a_malformed_batch_is_a_400_and_changes_nothing(body) -> None:
    call("put", "domains/example.org/", {"admins": []})
    response = call("post", "mailboxes/", body)
    assert response.status_code == 400, response.content
    assert response.json()["detail"] == "Invalid input."
    assert not Mailbox.objects.filter(domain__name="example.org").exists()


@pytest.mark.django_db
def test_a_batch_without_the_token_does_nothing() -> None:
    call("put", "domains/example.org/", {"admins": []})
    response = call("post", "mailboxes/", {"mailboxes": [{"address": "a@example.org"}]}, token="x")
    assert response.status_code == 401
    assert not Mailbox.objects.filter(domain__name="example.org").exists()


@pytest.mark.django_db
def test_a_new_mailbox_reads_no_aliases_or_accesses_it_cannot_have_yet() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call("put", "domains/example.org/", {"admins": []})
    with CaptureQueriesContext(connection) as new:
        assert call("put", "mailboxes/contact@example.org/", MAILBOX).status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert call("put", "mailboxes/contact@example.org/", MAILBOX).status_code == 200

    def reads(queries, table: str) -> int:
        return sum(q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"] for q in queries)

    for table in (MailboxAlias._meta.db_table, MailboxAccess._meta.db_table):
        assert reads(new.captured_queries, table) == 0, table
        assert reads(again.captured_queries, table) >= 1, table  # an update reads them
    # Each address is checked once, mailboxes and aliases in one query.
    taken = [q for q in new.captured_queries if "UNION ALL" in q["sql"]]
    assert len(taken) == 1 + len(MAILBOX["aliases"])
    assert _state("contact@example.org")["aliases"] == ["hello", "info"]
