"""A real OpenID Connect provider on loopback (backend/tests/peers/oidc, npm oidc-provider)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.net import free_port

PEER_DIR = Path(__file__).resolve().parent.parent / "peers" / "oidc"
# Fixed in server.mjs.
CLIENT_ID = "facteur"
CLIENT_SECRET = "facteur-test-secret"


@dataclass
class OIDCProvider:
    issuer: str
    discovery: dict[str, Any]

    def set_claims(self, login: str, **claims: Any) -> None:
        """Change what the provider says about ``login`` (a claim set to None is left out)."""
        response = requests.put(f"{self.issuer}/_test/accounts/{login}", json=claims, timeout=5)
        response.raise_for_status()


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory) -> Iterator[OIDCProvider]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the OIDC tests need Node.js 20+ (see scripts/peers)")
    if not (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(f"{PEER_DIR}/node_modules is missing: run scripts/peers")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("oidc") / "provider.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [node, "server.mjs", str(port), live_server.url],
            cwd=PEER_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        discovery = _wait_for_discovery(issuer, process, log_path)
        yield OIDCProvider(issuer=issuer, discovery=discovery)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_for_discovery(issuer: str, process: subprocess.Popen, log_path: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the OIDC provider exited ({process.returncode}):\n{log_path.read_text()}")
        try:
            response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
            if response.status_code == 200:
                return response.json()
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the OIDC provider did not start within 30 s:\n{log_path.read_text()}")


@pytest.fixture
def oidc_settings(settings, oidc_provider: OIDCProvider) -> OIDCProvider:
    """Django configured for the provider the way an operator would: from its discovery."""
    discovery = oidc_provider.discovery
    settings.OIDC_ENABLED = True
    settings.AUTHENTICATION_BACKENDS = [
        "facteur.users.oidc.FacteurOIDCBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_RP_SCOPES = "openid email profile"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = discovery["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = discovery["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = discovery["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = discovery["jwks_uri"]
    settings.OIDC_OP_LOGOUT_ENDPOINT = discovery["end_session_endpoint"]
    settings.OIDC_USE_PKCE = True
    settings.LOGIN_REDIRECT_URL = "/after-login"
    settings.LOGIN_REDIRECT_URL_FAILURE = "/login-failed"
    settings.LOGOUT_REDIRECT_URL = "/"
    return oidc_provider
