"""Local accounts: CSRF cookie, login, logout, the current user, throttling of failures."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client

from facteur.users.models import User
from facteur.users.services import user_create

API = "/api/v1.0"
PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)

pytestmark = pytest.mark.django_db


@pytest.fixture
def user() -> User:
    # A new address per test: failed-login counters live in Redis for the whole run.
    return user_create(
        email=f"Local.Person{next(_seq)}@Example.TEST", password=PASSWORD, full_name="Local Person"
    )


def csrf_client() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    response = client.get(f"{API}/auth/csrf/")
    assert response.status_code == 200
    token = response.json()["csrf_token"]
    assert response.cookies["csrftoken"].value
    return client, token


def login(client: Client, email: str, password: str, token: str | None = None, **extra: str):
    headers = {"X-CSRFToken": token} if token else {}
    return client.post(
        f"{API}/auth/login/",
        {"email": email, "password": password},
        content_type="application/json",
        headers=headers,
        **extra,
    )


def test_csrf_endpoint_sets_the_cookie_and_returns_the_token() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.get(f"{API}/auth/csrf/")
    assert response.status_code == 200
    assert set(response.json()) == {"csrf_token"}
    cookie = response.cookies["csrftoken"]
    assert cookie.value
    assert not cookie["httponly"]  # the SPA reads it


def test_login_then_me_then_logout(user: User) -> None:
    client, token = csrf_client()
    response = login(client, user.email.upper(), PASSWORD, token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body == {
        "id": str(user.pk),
        "email": user.email,
        "full_name": "Local Person",
        "language": "en",
        "is_staff": False,
        "auth": "local",
    }
    assert response.cookies["sessionid"].value
    # Logging in rotates the CSRF token; the new one comes back as the cookie.
    new_token = response.cookies["csrftoken"].value
    assert new_token

    me = client.get(f"{API}/users/me/")
    assert me.status_code == 200
    assert me.json() == body

    # Unsafe requests of a logged-in session need the (new) token.
    assert client.post(f"{API}/auth/logout/").status_code == 403
    response = client.post(f"{API}/auth/logout/", headers={"X-CSRFToken": new_token})
    assert response.status_code == 204
    assert client.get(f"{API}/users/me/").status_code == 401


def test_login_without_csrf_token_is_refused(user: User) -> None:
    client, _ = csrf_client()
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    response = login(client, user.email, PASSWORD, token="x" * 32)
    assert response.status_code == 403
    assert client.get(f"{API}/users/me/").status_code == 401


def test_bad_credentials_give_the_same_answer(user: User) -> None:
    client, token = csrf_client()
    wrong_password = login(client, user.email, "not-the-password", token)
    unknown_user = login(client, f"nobody{next(_seq)}@example.test", PASSWORD, token)
    user.is_active = False
    user.save()
    inactive = login(client, user.email, PASSWORD, token)
    for response in (wrong_password, unknown_user, inactive):
        assert response.status_code == 400
        assert response.json() == {"detail": "Unknown e-mail address or wrong password."}
    assert client.get(f"{API}/users/me/").status_code == 401


def test_login_validates_its_input() -> None:
    client = Client()
    response = client.post(f"{API}/auth/login/", {"email": "x"}, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email", "password"}


def test_anonymous_gets_401_with_a_challenge() -> None:
    client = Client()
    for method in ("get", "patch"):
        response = getattr(client, method)(f"{API}/users/me/", content_type="application/json")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Session"
        assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_logout_when_anonymous_is_a_no_op() -> None:
    assert Client(enforce_csrf_checks=True).post(f"{API}/auth/logout/").status_code == 204


def test_failed_logins_are_throttled_per_email_and_address(user: User) -> None:
    client, token = csrf_client()
    for _ in range(10):
        assert login(client, user.email, "wrong-password", token).status_code == 400
    # Locked out for this address from this client, even with the right password.
    response = login(client, user.email, PASSWORD, token)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert "Too many failed logins" in response.json()["detail"]
    # Another client address, or another account, is not affected.
    assert login(client, user.email, PASSWORD, token, REMOTE_ADDR="192.0.2.7").status_code == 200
    other = user_create(email=f"other{next(_seq)}@example.test", password=PASSWORD)
    assert login(Client(), other.email, PASSWORD).status_code == 200


def test_successful_login_resets_the_failure_count(user: User) -> None:
    client = Client()
    for _ in range(9):
        assert login(client, user.email, "wrong-password").status_code == 400
    assert login(client, user.email, PASSWORD).status_code == 200
    for _ in range(9):
        assert login(client, user.email, "wrong-password").status_code == 400
    assert login(client, user.email, PASSWORD).status_code == 200


def test_throttling_window_is_configurable(user: User, settings) -> None:
    settings.FACTEUR_LOGIN_MAX_FAILURES = 2
    client = Client()
    assert login(client, user.email, "wrong-password").status_code == 400
    assert login(client, user.email, "wrong-password").status_code == 400
    assert login(client, user.email, PASSWORD).status_code == 429


def test_local_accounts_disabled_answers_404(user: User, settings) -> None:
    settings.FACTEUR_LOCAL_ACCOUNTS = False
    client, token = csrf_client()
    assert login(client, user.email, PASSWORD, token).status_code == 404
    # Even without a CSRF token: the endpoint does not exist.
    assert login(client, user.email, PASSWORD).status_code == 404
    config = client.get(f"{API}/auth/config/").json()
    assert config["local_accounts"] is False


def test_auth_config_tells_the_login_methods(settings) -> None:
    settings.OIDC_ENABLED = False
    assert Client().get(f"{API}/auth/config/").json() == {
        "local_accounts": True,
        "oidc": False,
        "oidc_login_url": None,
    }
    settings.OIDC_ENABLED = True
    assert Client().get(f"{API}/auth/config/").json()["oidc_login_url"] == "/oidc/authenticate/"


def test_patch_me_changes_name_and_language(user: User) -> None:
    client = Client()
    client.force_login(user)
    response = client.patch(
        f"{API}/users/me/",
        {"full_name": "  Renamed Person ", "language": "fr", "email": "hijack@example.test"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["full_name"] == "Renamed Person"
    assert response.json()["language"] == "fr"
    user.refresh_from_db()
    assert (user.full_name, user.language) == ("Renamed Person", "fr")
    assert user.email.startswith("local.person")  # read-only fields are ignored

    response = client.patch(f"{API}/users/me/", {"language": "de"}, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"language"}
    response = client.patch(
        f"{API}/users/me/", {"full_name": "x" * 201}, content_type="application/json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"full_name"}


def test_patch_me_needs_the_csrf_token(user: User) -> None:
    client, token = csrf_client()
    new_token = login(client, user.email, PASSWORD, token).cookies["csrftoken"].value
    url = f"{API}/users/me/"
    body = {"language": "fr"}
    assert client.patch(url, body, content_type="application/json").status_code == 403
    response = client.patch(
        url, body, content_type="application/json", headers={"X-CSRFToken": new_token}
    )
    assert response.status_code == 200
