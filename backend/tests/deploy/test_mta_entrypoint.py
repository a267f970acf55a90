"""images/mta/start-postfix, the MTA images' command, run here as the images run it: the
renderer from mta/ on PYTHONPATH, values from FACTEUR_MTA_* only, a real Postfix in the
foreground. MTA-out builds its sasldb from the mounted password file; a missing value
stops the container before Postfix starts."""

from __future__ import annotations

import os
import shutil
import smtplib
import subprocess
from pathlib import Path

import pytest

from tests.deploy.paths import IMAGES, ROOT
from tests.mta import postfix_instance
from tests.net import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not postfix_instance.postfix_available(), reason="needs Postfix as root (scripts/peers)"
    ),
]
START = IMAGES / "mta" / "start-postfix"


def image_environment(root: Path, values: dict[str, str], **extra: str) -> dict[str, str]:
    values = postfix_instance.private_values(root, **values)
    return {
        "PATH": f"/usr/sbin:/usr/bin:/bin:{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT / "mta"),
        "FACTEUR_MTA_CONFIG_DIR": str(root / "etc"),
        **{f"FACTEUR_MTA_{key.upper()}": value for key, value in values.items()},
        **extra,
    }


# Outside a container the launcher is not PID 1, so Postfix runs "master -s" under it and
# "postfix stop" ends the whole process group, the launcher included (SIGTERM, 143). In the
# image it is PID 1 and execs "master -i", which exits on the kubelet's SIGTERM.
STOPPED = {0, 128 + 15}


def run_until_listening(role: str, env: dict[str, str], port: int) -> int:
    process = subprocess.Popen(["sh", str(START), role], env=env)
    try:
        postfix_instance.wait_for_port(port, timeout=20)
    finally:
        subprocess.run(
            [postfix_instance.POSTFIX, "-c", env["FACTEUR_MTA_CONFIG_DIR"], "stop"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        code = process.wait(timeout=30)
    return code


def test_mta_out_starts_with_its_sasl_login() -> None:
    root = postfix_instance.make_root()
    try:
        port = free_port()
        password = root / "relay-password"
        password.write_text("s3cret-relay\n")
        env = image_environment(
            root,
            {
                "myhostname": "mta-out.example.org",
                "domains": "example.org",
                "lmtp_target": "127.0.0.1:1",
                "submission_listen": f"127.0.0.1:{port}",
                "sasldb_path": str(root / "etc" / "sasl" / "sasldb2"),
            },
            FACTEUR_MTA_SASL_PASSWORD_FILE=str(password),
        )
        process = subprocess.Popen(["sh", str(START), "out"], env=env)
        try:
            postfix_instance.wait_for_port(port, timeout=20)
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                assert client.ehlo("backend.test")[0] == 250
            # The login itself needs TLS (tests/mta covers it); here: the sasldb holds it.
            users = subprocess.run(
                ["sasldblistusers2", "-f", str(root / "etc" / "sasl" / "sasldb2")],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout
            assert users.split(":")[0] == "facteur@mta-out.example.org"
        finally:
            subprocess.run([postfix_instance.POSTFIX, "-c", str(root / "etc"), "stop"],
                           capture_output=True, timeout=30, check=False)  # fmt: skip
            assert process.wait(timeout=30) in STOPPED
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_mta_in_starts_from_the_environment() -> None:
    root = postfix_instance.make_root()
    try:
        port = free_port()
        env = image_environment(
            root,
            {
                "myhostname": "mx.example.org",
                "domains": "example.org",
                "lmtp_target": "127.0.0.1:1",
                "policy_service": "127.0.0.1:1",
                "smtpd_listen": f"127.0.0.1:{port}",
                "postscreen": "no",
            },
        )
        assert run_until_listening("in", env, port) in STOPPED
        assert (root / "etc" / "main.cf").exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_missing_value_stops_before_postfix(tmp_path: Path) -> None:
    env = image_environment(tmp_path, {"domains": "example.org"})
    result = subprocess.run(
        ["sh", str(START), "in"], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert "myhostname" in result.stderr
    assert not (tmp_path / "etc" / "main.cf").exists()
