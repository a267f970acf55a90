"""``facteur-mta-config in``: every value where it belongs, loud failure on missing or bad
values, and the result accepted by a real ``postfix check``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from facteur_mta import render
from tests.mta import postfix_instance

REQUIRED = {
    "myhostname": "mx.tenant.test",
    "domains": "tenant.test, Other.test.",
    "lmtp_target": "127.0.0.1:2424",
    "policy_service": "127.0.0.1:10040",
}


def rendered(**values: str) -> dict[str, str]:
    return render.render_in(render.collect({**REQUIRED, **values}, environ={}))


def cf(text: str) -> dict[str, str]:
    """main.cf as parameter -> value (continuation lines joined)."""
    params: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line[0].isspace() and last:
            params[last] = (params[last] + " " + line.strip()).strip()
            continue
        name, _, value = line.partition("=")
        last = name.strip()
        params[last] = value.strip()
    return params


def test_main_cf_values() -> None:
    main = cf(rendered()["main.cf"])
    assert main["myhostname"] == "mx.tenant.test"
    assert main["relay_domains"] == "tenant.test, other.test"
    assert main["relay_transport"] == "lmtp:inet:127.0.0.1:2424"
    assert main["mydestination"] == "" and main["relay_recipient_maps"] == ""
    assert main["disable_vrfy_command"] == "yes"
    assert main["smtpd_recipient_limit"] == "100"
    assert main["message_size_limit"] == "52428800"
    assert main["smtpd_relay_restrictions"] == "reject_unauth_destination"
    assert main["smtpd_recipient_restrictions"] == (
        "reject_non_fqdn_recipient, reject_unauth_destination, "
        "check_policy_service inet:127.0.0.1:10040, permit"
    )
    assert "permit_mynetworks" not in main["smtpd_recipient_restrictions"]
    assert main["smtpd_milters"] == ""
    assert main["smtpd_tls_security_level"] == "none"


def test_tls_and_milter_when_set() -> None:
    main = cf(
        rendered(
            tls_cert_file="/tls/tls.crt", tls_key_file="/tls/tls.key", milters="inet:rspamd:11332"
        )["main.cf"]
    )
    assert main["smtpd_tls_cert_file"] == "/tls/tls.crt"
    assert main["smtpd_tls_key_file"] == "/tls/tls.key"
    assert main["smtpd_tls_security_level"] == "may"
    assert main["smtpd_tls_protocols"] == ">=TLSv1.2"
    assert main["smtpd_milters"] == "inet:rspamd:11332"


def test_postscreen_on_the_public_port_by_default() -> None:
    master = rendered(smtpd_listen="127.0.0.1:2525")["master.cf"]
    assert "127.0.0.1:2525 inet  n       -       n       -       1       postscreen" in master
    assert "smtpd      pass" in master
    without = rendered(smtpd_listen="2525", postscreen="no")["master.cf"]
    assert "postscreen" not in without and "2525       inet" in without
    # No service runs chrooted (column 5 is "n" on every service line).
    for line in master.splitlines():
        if line and not line.startswith("#"):
            assert line.split()[4] == "n", line


def test_values_from_environment() -> None:
    environ = {f"FACTEUR_MTA_{k.upper()}": v for k, v in REQUIRED.items()}
    environ["FACTEUR_MTA_RECIPIENT_LIMIT"] = "25"
    values = render.collect({"recipient_limit": "30"}, environ=environ)
    assert values["myhostname"] == "mx.tenant.test"
    assert values["recipient_limit"] == "30"  # --set wins over the environment


@pytest.mark.parametrize("key", sorted(REQUIRED))
def test_missing_required_value_is_named(key: str) -> None:
    values = {k: v for k, v in REQUIRED.items() if k != key}
    with pytest.raises(render.ConfigError, match=key):
        render.render_in(render.collect(values, environ={}))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"lmtp_target": "127.0.0.1"}, "lmtp_target"),
        ({"policy_service": "x:y"}, "policy_service"),
        ({"domains": "not a domain!"}, "domains"),
        ({"recipient_limit": "ten"}, "recipient_limit"),
        ({"myhostname": "mx\nrelayhost = evil"}, "one line"),
        ({"tls_cert_file": "/tls/tls.crt"}, "tls_key_file"),
        ({"postscreen": "maybe"}, "postscreen"),
    ],
)
def test_bad_values_are_refused(values: dict[str, str], message: str) -> None:
    with pytest.raises(render.ConfigError, match=message):
        rendered(**values)


def test_unknown_key_is_refused() -> None:
    with pytest.raises(render.ConfigError, match="relayhost"):
        render.collect({**REQUIRED, "relayhost": "x"}, environ={})


def test_cli_fails_loudly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "facteur_mta.render", "in", "--out", str(tmp_path / "out"),
         "--set", "myhostname=mx.tenant.test"],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode != 0
    assert "domains" in result.stderr and "lmtp_target" in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_writes_both_files(tmp_path: Path) -> None:
    args = [f"{k}={v}" for k, v in REQUIRED.items()]
    render.main(["in", "--out", str(tmp_path), *[x for a in args for x in ("--set", a)]])
    assert (tmp_path / "main.cf").read_text() == rendered()["main.cf"]
    assert (tmp_path / "master.cf").exists()


@pytest.mark.skipif(
    not postfix_instance.postfix_available(), reason="needs Postfix (scripts/peers)"
)
@pytest.mark.parametrize("extra", [{}, {"postscreen": "no"}])
def test_postfix_accepts_the_rendered_config(extra: dict[str, str]) -> None:
    root = postfix_instance.make_root()
    try:
        values = postfix_instance.private_values(root, smtpd_listen="127.0.0.1:2525", **extra)
        render.write(render.render_in(render.collect({**REQUIRED, **values}, environ={})),
                     root / "etc")  # fmt: skip
        result = postfix_instance.check(root / "etc")
        log = (root / "maillog").read_text() if (root / "maillog").exists() else ""
        assert result.returncode == 0, result.stdout + result.stderr + log
        assert "warning" not in result.stdout + result.stderr
    finally:
        shutil.rmtree(root, ignore_errors=True)
