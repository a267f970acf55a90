"""Django serves the webmail: index.html for its pages, its assets as static files."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client

INDEX = (
    b'<!doctype html><html><head><script type="module" '
    b'src="/static/webmail/assets/index.0123456789ab.js"></script></head>'
    b'<body><div id="root"></div></body></html>'
)


@pytest.fixture
def built(tmp_path: Path, settings) -> Path:
    """A built webmail in a scratch directory, as `vite build` lays it out."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_bytes(INDEX)
    script = b"console.log('facteur');" * 50
    (dist / "assets" / "index.0123456789ab.js").write_bytes(script)
    (dist / "assets" / "index.0123456789ab.js.gz").write_bytes(gzip.compress(script))
    settings.FACTEUR_WEBMAIL_DIR = str(dist)
    return dist


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/mailboxes/8e0b5a5e-6c35-4a55-9b8e-1f0f5d3b2a10/inbox",
        "/mailboxes/8e0b5a5e-6c35-4a55-9b8e-1f0f5d3b2a10/labels/5f1c/threads/9a7d",
        "/login?next=%2Fmailboxes%2Fx%2Fsent",
        "/apiary",  # only the exact prefixes are reserved
    ],
)
def test_every_page_of_the_app_answers_its_index(built: Path, path: str):
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response.content == INDEX
    assert response["Cache-Control"] == "no-cache"


def test_the_page_carries_a_strict_content_security_policy(built: Path):
    policy = Client().get("/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert Client().get("/").headers["X-Frame-Options"] == "DENY"


def test_only_reads_are_answered(built: Path):
    assert Client().post("/mailboxes/x/inbox").status_code == 405
    assert Client().head("/").status_code == 200


def test_an_unbuilt_webmail_says_how_to_build_it(tmp_path: Path, settings):
    settings.FACTEUR_WEBMAIL_DIR = str(tmp_path / "nothing-here")
    response = Client().get("/mailboxes/x/inbox")
    assert response.status_code == 503
    assert b"scripts/run" in response.content


@pytest.mark.django_db
def test_the_app_does_not_shadow_the_backend(built: Path):
    client = Client()
    unknown_api = client.get("/api/v1.0/no-such-endpoint/")
    assert unknown_api.status_code == 404 and unknown_api.content != INDEX
    anonymous = client.get("/api/v1.0/mailboxes/")
    assert anonymous.status_code == 401
    assert anonymous.json()["detail"]
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/metrics").content.startswith(b"#")
    assert client.get("/admin/").status_code == 302  # to the admin's login
    assert client.get("/admin").status_code == 301  # APPEND_SLASH still works
    assert client.get("/oidc/authenticate/").content != INDEX
    assert client.get("/static/webmail/assets/missing.0123456789ab.js").status_code == 404


def test_assets_are_served_compressed_and_cached_for_good(built: Path, tmp_path: Path, settings):
    settings.STATIC_ROOT = str(tmp_path / "static")
    settings.STATICFILES_DIRS = [("webmail/assets", str(built / "assets"))]
    call_command("collectstatic", interactive=False, verbosity=0)
    response = Client().get(
        "/static/webmail/assets/index.0123456789ab.js", HTTP_ACCEPT_ENCODING="gzip"
    )
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert gzip.decompress(body).startswith(b"console.log")


def test_the_built_app_names_only_assets_that_exist():
    """After `scripts/frontend build` (scripts/test runs it first): the real index."""
    dist = Path(django_settings.FACTEUR_WEBMAIL_DIR)
    if not (dist / "index.html").is_file():
        pytest.skip("the webmail is not built (scripts/frontend build)")
    index = (dist / "index.html").read_text()
    urls = re.findall(r'(?:src|href)="(/static/webmail/assets/[^"]+)"', index)
    assert any(url.endswith(".js") for url in urls)
    for url in urls:
        assert (dist / "assets" / url.removeprefix("/static/webmail/assets/")).is_file(), url
    assert "<script>" not in index  # the policy allows no inline script
