"""OIDC end to end: a browser (requests) between Django's live server and a real provider.

The provider is npm ``oidc-provider`` on loopback (see conftest.py and
backend/tests/peers/oidc/server.mjs): authorization code flow with PKCE, its development
login and consent forms, RS256 ID tokens checked against its JWKS, userinfo, and
RP-initiated logout.
"""

from __future__ import annotations

import logging
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.test import Client

from facteur.users.models import User
from facteur.users.services import user_create
from tests.users.conftest import CLIENT_SECRET, OIDCProvider

API = "/api/v1.0"

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]


class _FormParser(HTMLParser):
    """The first form of a page: its action and its hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
        elif tag == "input" and values.get("type") == "hidden" and self.action and not self._done:
            self.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._done = True


def _form(html: str) -> _FormParser:
    parser = _FormParser()
    parser.feed(html)
    assert parser.action is not None, f"no form in the page:\n{html[:2000]}"
    return parser


class Browser:
    """One person's browser: cookies for both Django and the provider, forms filled in."""

    def __init__(self, rp_url: str) -> None:
        self.rp_url = rp_url
        self.http = requests.Session()
        self.prompts: list[str] = []

    def login(self, login: str, password: str = "any password") -> str:
        """Log in through the provider; return the path Django finally redirects to."""
        self.prompts = []
        response = self.http.get(f"{self.rp_url}/oidc/authenticate/", allow_redirects=False)
        for _ in range(20):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if location.startswith(self.rp_url) and not location.startswith(
                    f"{self.rp_url}/oidc/"
                ):
                    return urlsplit(location).path
                response = self.http.get(location, allow_redirects=False)
                continue
            assert response.status_code == 200, f"{response.url}: {response.text[:2000]}"
            form = _form(response.text)
            fields = dict(form.fields)
            self.prompts.append(fields.get("prompt", "?"))
            if fields.get("prompt") == "login":
                fields.update(login=login, password=password)
            response = self.http.post(
                urljoin(response.url, form.action), data=fields, allow_redirects=False
            )
        raise AssertionError(f"the login did not finish; prompts: {self.prompts}")

    def me(self) -> requests.Response:
        return self.http.get(f"{self.rp_url}{API}/users/me/")

    def logout(self) -> requests.Response:
        token = self.http.get(f"{self.rp_url}{API}/auth/csrf/").json()["csrf_token"]
        return self.http.post(f"{self.rp_url}{API}/auth/logout/", headers={"X-CSRFToken": token})

    def end_provider_session(self, logout_url: str) -> str:
        """Confirm the provider's logout page; return where it sends the browser back."""
        page = self.http.get(logout_url, allow_redirects=False)
        assert page.status_code == 200, page.text[:2000]
        form = _form(page.text)
        response = self.http.post(
            urljoin(page.url, form.action),
            data={**form.fields, "logout": "yes"},
            allow_redirects=False,
        )
        assert response.is_redirect, response.text[:2000]
        return urljoin(response.url, response.headers["Location"])


def test_first_login_creates_the_user_and_the_next_updates_it(
    oidc_settings: OIDCProvider, live_server, caplog
) -> None:
    caplog.set_level(logging.INFO)
    oidc_settings.set_claims("ada", name="Ada Lovelace", email="Ada.Lovelace@Example.TEST")
    browser = Browser(live_server.url)

    assert browser.login("ada") == "/after-login"
    assert browser.prompts == ["login", "consent"]
    response = browser.me()
    assert response.status_code == 200, response.text
    user = User.objects.get(sub="ada")
    assert response.json() == {
        "id": str(user.pk),
        "email": "ada.lovelace@example.test",
        "full_name": "Ada Lovelace",
        "language": "en",
        "is_staff": False,
        "auth": "oidc",
    }
    assert not user.has_usable_password()

    # Logging out of Facteur hands back the provider's logout URL for this session.
    response = browser.logout()
    assert response.status_code == 200, response.text
    redirect = response.json()["redirect"]
    assert redirect.startswith(oidc_settings.discovery["end_session_endpoint"] + "?")
    query = parse_qs(urlsplit(redirect).query)
    assert query["client_id"] == ["facteur"]
    assert query["post_logout_redirect_uri"] == [f"{live_server.url}/"]
    assert query["id_token_hint"][0].count(".") == 2  # the ID token (a JWT)
    assert browser.me().status_code == 401
    assert browser.end_provider_session(redirect) == f"{live_server.url}/"

    # The provider renamed the person: the next login finds the same user by `sub`.
    oidc_settings.set_claims("ada", name="Ada King", email="ada.king@example.test")
    assert browser.login("ada") == "/after-login"
    assert browser.prompts == ["login", "consent"]  # the provider's session was ended too
    body = browser.me().json()
    assert body["id"] == str(user.pk)
    assert (body["full_name"], body["email"]) == ("Ada King", "ada.king@example.test")
    assert User.objects.count() == 1

    # Nothing secret in the logs.
    assert CLIENT_SECRET not in caplog.text
    assert query["id_token_hint"][0] not in caplog.text


def test_name_from_given_and_family_names(oidc_settings: OIDCProvider, live_server) -> None:
    oidc_settings.set_claims("mhamilton", name=None, given_name="Margaret", family_name="Hamilton")
    browser = Browser(live_server.url)
    assert browser.login("mhamilton") == "/after-login"
    assert browser.me().json()["full_name"] == "Margaret Hamilton"


def test_links_an_existing_account_by_verified_email(
    oidc_settings: OIDCProvider, live_server
) -> None:
    local = user_create(email="grace@example.test", password="correct-horse-battery")
    oidc_settings.set_claims("grace", name="Grace Hopper", email_verified=True)
    browser = Browser(live_server.url)
    assert browser.login("grace") == "/after-login"
    assert browser.me().json()["id"] == str(local.pk)
    local.refresh_from_db()
    assert (local.sub, local.full_name) == ("grace", "Grace Hopper")
    assert User.objects.count() == 1


def test_an_unverified_email_never_links(oidc_settings: OIDCProvider, live_server, caplog) -> None:
    local = user_create(email="alan@example.test", password="correct-horse-battery")
    oidc_settings.set_claims("alan", email_verified=False)
    browser = Browser(live_server.url)
    assert browser.login("alan") == "/login-failed"
    assert browser.me().status_code == 401
    local.refresh_from_db()
    assert local.sub is None
    assert User.objects.count() == 1
    assert "OIDC login refused for sub=alan" in caplog.text
    assert "belongs to another account" in caplog.text


def test_an_account_linked_to_another_subject_is_never_taken_over(
    oidc_settings: OIDCProvider, live_server, caplog
) -> None:
    owner = user_create(email="linus@example.test")
    User.objects.filter(pk=owner.pk).update(sub="the-real-linus")
    browser = Browser(live_server.url)
    assert browser.login("linus") == "/login-failed"  # verified linus@example.test, sub=linus
    assert User.objects.get(pk=owner.pk).sub == "the-real-linus"
    assert User.objects.count() == 1
    assert "belongs to another account" in caplog.text


def test_a_login_without_email_is_refused(oidc_settings: OIDCProvider, live_server, caplog) -> None:
    oidc_settings.set_claims("noemail", email=None, email_verified=None)
    browser = Browser(live_server.url)
    assert browser.login("noemail") == "/login-failed"
    assert not User.objects.exists()
    assert "OIDC login refused for sub=noemail: no 'email' claim" in caplog.text


def test_an_email_taken_by_another_account_is_not_moved(
    oidc_settings: OIDCProvider, live_server, caplog
) -> None:
    other = user_create(email="taken@example.test")
    browser = Browser(live_server.url)
    assert browser.login("barbara") == "/after-login"
    oidc_settings.set_claims("barbara", email="taken@example.test", name="Barbara Liskov")
    browser = Browser(live_server.url)
    assert browser.login("barbara") == "/after-login"  # the login is valid: same subject
    body = browser.me().json()
    assert (body["email"], body["full_name"]) == ("barbara@example.test", "Barbara Liskov")
    assert User.objects.get(pk=other.pk).email == "taken@example.test"
    assert "keeping e-mail barbara@example.test" in caplog.text


def test_no_new_users_when_creation_is_off(
    oidc_settings: OIDCProvider, live_server, settings
) -> None:
    settings.OIDC_CREATE_USER = False
    browser = Browser(live_server.url)
    assert browser.login("stranger") == "/login-failed"
    assert not User.objects.exists()


def test_a_deactivated_user_cannot_log_in(oidc_settings: OIDCProvider, live_server) -> None:
    browser = Browser(live_server.url)
    assert browser.login("edsger") == "/after-login"
    User.objects.filter(sub="edsger").update(is_active=False)
    assert browser.me().status_code == 401
    assert Browser(live_server.url).login("edsger") == "/login-failed"


def test_oidc_endpoints_are_404_when_oidc_is_disabled(settings) -> None:
    settings.OIDC_ENABLED = False
    client = Client()
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


def test_logout_of_a_local_session_has_no_provider_redirect(settings) -> None:
    settings.OIDC_ENABLED = True
    settings.OIDC_OP_LOGOUT_ENDPOINT = "https://sso.example.test/logout"
    user = user_create(email="local@example.test", password="correct-horse-battery")
    client = Client()
    client.post(
        f"{API}/auth/login/",
        {"email": user.email, "password": "correct-horse-battery"},
        content_type="application/json",
    )
    assert client.get(f"{API}/users/me/").json()["auth"] == "local"
    assert client.post(f"{API}/auth/logout/").status_code == 204
