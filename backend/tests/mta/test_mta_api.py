"""The internal recipient API (``mta-recipient``), through its only door: the service token.

Scenarios: known mailbox, alias, unknown address -> 200 with ``exists``; valid token 200;
wrong, malformed or missing token 401; a logged-in user of every persona 401; empty
FACTEUR_SERVICE_TOKEN -> 404 (API disabled); over the rate -> 429.
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client

from facteur.domains import services as domain_services
from facteur.domains.models import Mailbox, MailDomain
from tests.api.test_authorization_matrix import PERSONAS
from tests.conftest import World

TOKEN = "mta-test-token-0123456789"
URL = "/api/v1.0/mta/recipients/{}/"


@pytest.fixture(autouse=True)
def _token(settings) -> None:
    settings.FACTEUR_SERVICE_TOKEN = TOKEN


@pytest.fixture(autouse=True)
def _fresh_throttle():
    # The throttle counts in the shared cache; start and leave each test with none.
    key = "throttle_mta_127.0.0.1"
    cache.delete(key)
    yield
    cache.delete(key)


def ask(address: str, token: str | None = TOKEN, client: Client | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return (client or Client()).get(URL.format(address), **headers)


def test_known_mailbox(world: World) -> None:
    response = ask(world.mailbox.address)
    assert response.status_code == 200
    assert response.json() == {
        "address": world.mailbox.address,
        "exists": True,
        "mailbox": str(world.mailbox.pk),
        "disabled": False,
    }


def test_disabled_mailbox_exists_but_is_disabled(world: World) -> None:
    Mailbox.objects.filter(pk=world.mailbox.pk).update(is_disabled=True)
    assert ask(world.mailbox.address).json()["disabled"] is True
    Mailbox.objects.filter(pk=world.mailbox.pk).update(is_disabled=False)
    MailDomain.objects.filter(pk=world.domain.pk).update(is_disabled=True)
    answer = ask(world.mailbox.address).json()
    assert (answer["exists"], answer["disabled"]) == (True, True)


def test_address_is_case_insensitive(world: World) -> None:
    response = ask(world.mailbox.address.upper())
    assert response.status_code == 200 and response.json()["exists"] is True


def test_alias_resolves_to_its_mailbox(world: World) -> None:
    domain_services.alias_create(mailbox=world.mailbox, local_part="hello-alias")
    response = ask(f"hello-alias@{world.domain.name}")
    assert response.status_code == 200
    assert response.json()["mailbox"] == str(world.mailbox.pk)


@pytest.mark.parametrize("address", ["nobody@tenant.test", "contact@elsewhere.test", "no-at-sign"])
def test_unknown_address(world: World, address: str) -> None:
    response = ask(address)
    assert response.status_code == 200
    assert response.json() == {
        "address": address,
        "exists": False,
        "mailbox": None,
        "disabled": False,
    }


@pytest.mark.parametrize("token", ["wrong", TOKEN + "x", ""])
def test_bad_token_is_401(world: World, token: str) -> None:
    response = ask(world.mailbox.address, token=token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_missing_token_is_401(world: World) -> None:
    response = ask(world.mailbox.address, token=None)
    assert response.status_code == 401


@pytest.mark.parametrize("persona", PERSONAS)
def test_sessions_count_for_nothing(world: World, persona: str) -> None:
    response = ask(world.mailbox.address, token=None, client=world.client(persona))
    assert response.status_code == 401


def test_disabled_without_token_setting(world: World, settings) -> None:
    settings.FACTEUR_SERVICE_TOKEN = ""
    assert ask(world.mailbox.address).status_code == 404
    assert ask(world.mailbox.address, token="").status_code == 404


def test_throttled(world: World, settings) -> None:
    settings.FACTEUR_MTA_API_RATE = "3/min"
    assert [ask(world.mailbox.address).status_code for _ in range(3)] == [200, 200, 200]
    assert ask(world.mailbox.address).status_code == 429
    # Failed token attempts are counted as well: guessing is throttled too.
    assert ask(world.mailbox.address, token="guess").status_code == 429


def test_throttled_clients_get_through_again_at_the_steady_rate(world: World, settings) -> None:
    settings.FACTEUR_MTA_API_RATE = "2/s"  # a burst of 2, then one every 0.5 s
    assert [ask(world.mailbox.address).status_code for _ in range(3)] == [200, 200, 429]
    refused = ask(world.mailbox.address)
    assert refused.status_code == 429 and 0 < float(refused.headers["Retry-After"]) <= 1
    time.sleep(0.6)
    assert [ask(world.mailbox.address).status_code for _ in range(2)] == [200, 429]


def test_forwarded_for_does_not_reset_the_count(world: World, settings) -> None:
    settings.FACTEUR_MTA_API_RATE = "2/min"
    client = Client()
    statuses = [
        client.get(URL.format(world.mailbox.address), HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
                   HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code
        for i in range(3)
    ]  # fmt: skip
    assert statuses == [200, 200, 429]
