"""``facteur-mta-config in``: every value where it belongs, loud failure on missing or bad
values, and the result accepted by a real ``postfix check``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from facteur_mta import render
from tests.mta import postfix_instance, tls_ca

REQUIRED = {
    "myhostname": "mx.tenant.test",
    "domains": "tenant.test, Other.test.",
    "lmtp_target": "127.0.0.1:2424",
    "policy_service": "127.0.0.1:10040",
}


POSTCONF = shutil.which("postconf", path="/usr/sbin:/usr/bin") or "postconf"


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


def test_proxy_protocol_is_read_by_whoever_owns_the_public_port() -> None:
    assert "upstream_proxy_protocol" not in rendered()["main.cf"]
    main = cf(rendered(proxy_protocol="yes")["main.cf"])
    assert main["postscreen_upstream_proxy_protocol"] == "haproxy"
    # smtpd behind postscreen's "pass" has the client's address from postscreen already.
    assert "smtpd_upstream_proxy_protocol" not in main
    main = cf(rendered(proxy_protocol="yes", postscreen="no")["main.cf"])
    assert main["smtpd_upstream_proxy_protocol"] == "haproxy"
    assert "postscreen_upstream_proxy_protocol" not in main


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
        ({"proxy_protocol": "haproxy"}, "proxy_protocol"),
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
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"postscreen": "no"},
        {"proxy_protocol": "yes"},
        {"proxy_protocol": "yes", "postscreen": "no"},
    ],
)
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
        # postconf knows every parameter set (an unknown one: "unused parameter" warning).
        effective = subprocess.run(
            [POSTCONF, "-c", str(root / "etc"), "-n"], capture_output=True, text=True, check=True
        )
        assert "warning" not in effective.stderr, effective.stderr
        if extra.get("proxy_protocol") == "yes":
            owner = "smtpd" if extra.get("postscreen") == "no" else "postscreen"
            assert f"{owner}_upstream_proxy_protocol = haproxy" in effective.stdout.splitlines()
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- MTA-out ----------------------------------------------------------------------------------
OUT_REQUIRED = {
    "myhostname": "mta-out.tenant.test",
    "domains": "tenant.test, Other.test.",
    "lmtp_target": "127.0.0.1:2424",
}
SASLPASSWD2 = shutil.which("saslpasswd2") or shutil.which("saslpasswd2", path="/usr/sbin")
POSTMAP = shutil.which("postmap", path="/usr/sbin:/usr/bin") or "postmap"
SASLDBLISTUSERS2 = shutil.which("sasldblistusers2", path="/usr/sbin:/usr/bin")


def rendered_out(**values: str) -> dict[str, str]:
    return render.render_out(render.collect({**OUT_REQUIRED, **values}, environ={}, role="out"))


def out_args(out: Path, **values: str) -> list[str]:
    pairs = {**OUT_REQUIRED, **values}
    return ["out", "--out", str(out), *[x for k, v in pairs.items() for x in ("--set", f"{k}={v}")]]


def test_out_accepts_authenticated_submissions_only() -> None:
    files = rendered_out()
    assert set(files) == {"main.cf", "master.cf", "sasl/smtpd.conf", "smtp_header_checks"}
    main = cf(files["main.cf"])
    assert main["smtpd_sasl_auth_enable"] == "yes" and main["smtpd_sasl_type"] == "cyrus"
    assert main["cyrus_sasl_config_path"] == "$config_directory/sasl"
    assert main["smtpd_relay_restrictions"] == (
        "permit_sasl_authenticated, reject_unauth_destination"
    )
    assert main["smtpd_recipient_restrictions"] == "permit_sasl_authenticated, reject"
    assert "mynetworks" not in main["smtpd_relay_restrictions"]
    assert main["mydestination"] == "" and main["relay_domains"] == ""
    # Our domains (bounces to our senders) go to the delivery service; the rest out by MX.
    assert main["transport_maps"] == (
        "inline:{ tenant.test=lmtp:inet:127.0.0.1:2424, other.test=lmtp:inet:127.0.0.1:2424 }"
    )
    assert main["default_transport"] == "smtp" and main["relayhost"] == ""
    assert main["smtp_tls_security_level"] == "may"
    assert main["smtp_header_checks"] == "regexp:$config_directory/smtp_header_checks"
    assert main["local_header_rewrite_clients"] == ""
    assert main["disable_mime_output_conversion"] == "yes"
    assert main["myorigin"] == "tenant.test"
    assert main["message_size_limit"] == "73400320"  # 70 MiB: 50 MiB of attachments in base64
    assert main["smtpd_recipient_limit"] == "1000"
    assert (main["maximal_queue_lifetime"], main["bounce_queue_lifetime"]) == ("5d", "5d")
    assert main["minimal_backoff_time"] == "300s" and main["maximal_backoff_time"] == "4000s"
    assert main["smtpd_tls_security_level"] == "none"
    assert "smtp_sasl_auth_enable" not in main
    sasl = files["sasl/smtpd.conf"]
    assert "pwcheck_method: auxprop\nauxprop_plugin: sasldb\n" in sasl
    assert "sasldb_path: /etc/postfix/sasl/sasldb2\n" in sasl and "mech_list: PLAIN LOGIN" in sasl
    # Only the submission port listens; nothing runs chrooted.
    master = files["master.cf"]
    assert "submission inet" in master and "postscreen" not in master
    assert "  -o syslog_name=postfix/submission" in master
    for line in master.splitlines():
        if line and not line.startswith(("#", " ")):
            assert line.split()[4] == "n", line


def test_out_tls_relayhost_and_queue_values() -> None:
    main = cf(
        rendered_out(
            tls_cert_file="/tls/tls.crt",
            tls_key_file="/tls/tls.key",
            relayhost="[smtp.example.net]:587",
            relayhost_password_map="/secrets/relay/passwd",
            smtp_tls_security_level="encrypt",
            queue_run_delay="1s",
            minimal_backoff_time="1s",
            maximal_backoff_time="2s",
            submission_listen="127.0.0.1:2587",
        )["main.cf"]
    )
    assert main["smtpd_tls_security_level"] == "may"
    assert main["smtpd_tls_auth_only"] == "yes"
    assert main["smtpd_tls_cert_file"] == "/tls/tls.crt"
    assert main["relayhost"] == "[smtp.example.net]:587"
    assert main["smtp_sasl_auth_enable"] == "yes"
    assert main["smtp_sasl_password_maps"] == "texthash:/secrets/relay/passwd"
    assert main["smtp_sasl_security_options"] == "noanonymous, noplaintext"
    assert main["smtp_tls_security_level"] == "encrypt"
    assert (main["queue_run_delay"], main["minimal_backoff_time"]) == ("1s", "1s")
    assert main["maximal_backoff_time"] == "2s"


@pytest.mark.skipif(
    not postfix_instance.postfix_available(), reason="needs Postfix (scripts/peers)"
)
def test_out_header_check_strips_only_the_submission_trace(tmp_path: Path) -> None:
    render.write(rendered_out(), tmp_path)
    table = f"regexp:{tmp_path / 'smtp_header_checks'}"

    def action(header: str) -> str:
        # Postfix's own lookup of one (unfolded, newline-joined) header, as smtp(8) does it.
        result = subprocess.run([POSTMAP, "-c", str(tmp_path), "-q", header, table],
                                capture_output=True, text=True, timeout=30)  # fmt: skip
        return result.stdout.strip()

    submission = (
        "Received: from [127.0.0.1] (localhost [127.0.0.1])\n\tby mta-out.test (Postfix) "
        "with ESMTPSA id 4F1B;\n\tTue, 24 Nov 2026 13:00:00 +0000 (UTC)"
    )
    assert action(submission) == "IGNORE"
    assert action(submission.replace("ESMTPSA", "ESMTPA")) == "IGNORE"
    assert action(submission.replace("ESMTPSA", "UTF8SMTPSA")) == "IGNORE"
    assert action(submission.replace("ESMTPSA", "ESMTPS")) == ""  # not authenticated
    assert action("Subject: sent with ESMTPSA today") == ""


@pytest.mark.parametrize("key", sorted(OUT_REQUIRED))
def test_out_missing_required_value_is_named(key: str) -> None:
    values = {k: v for k, v in OUT_REQUIRED.items() if k != key}
    with pytest.raises(render.ConfigError, match=key):
        render.render_out(render.collect(values, environ={}, role="out"))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"lmtp_target": "backend"}, "lmtp_target"),
        ({"domains": "not a domain!"}, "domains"),
        ({"submission_listen": "smtp"}, "submission_listen"),
        ({"relayhost": "smtp.example.net:port"}, "relayhost"),
        ({"relayhost_password_map": "/secrets/passwd"}, "relayhost"),
        ({"smtp_tls_security_level": "dane-only"}, "smtp_tls_security_level"),
        ({"maximal_queue_lifetime": "five days"}, "maximal_queue_lifetime"),
        ({"minimal_backoff_time": "-1s"}, "minimal_backoff_time"),
        ({"sasldb_path": "sasldb2"}, "sasldb_path"),
        ({"sasldb_path": ""}, "sasldb_path"),
        ({"sasl_username": "user name"}, "sasl_username"),
        ({"tls_key_file": "/tls/tls.key"}, "tls_cert_file"),
        ({"tls_cert_file": "/tls/my cert.pem", "tls_key_file": "/k"}, "tls_cert_file"),
        ({"relayhost": "[a]:1\nsmtpd_relay_restrictions = permit"}, "one line"),
    ],
)
def test_out_bad_values_are_refused(values: dict[str, str], message: str) -> None:
    with pytest.raises(render.ConfigError, match=message):
        rendered_out(**values)


def test_out_keys_are_its_own() -> None:
    with pytest.raises(render.ConfigError, match="policy_service"):
        render.collect({**OUT_REQUIRED, "policy_service": "127.0.0.1:1"}, environ={}, role="out")
    environ = {"FACTEUR_MTA_RELAYHOST": "[smtp.example.net]:587"}
    assert render.collect(OUT_REQUIRED, environ=environ, role="out")["relayhost"] == (
        "[smtp.example.net]:587"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"queue_run_delay": "soon"}, "queue_run_delay"),
        ({"myhostname": ""}, "myhostname"),
    ],
)
def test_out_cli_exits_2_naming_the_value_and_writes_nothing(
    tmp_path: Path, extra: dict[str, str], message: str
) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    sasldb = tmp_path / "sasl" / "sasldb2"
    args = out_args(tmp_path / "out", sasldb_path=str(sasldb), **extra)
    result = subprocess.run(
        [sys.executable, "-m", "facteur_mta.render", *args, "--sasl-password-file", str(secret)],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin:/usr/sbin"},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "sasl").exists()


@pytest.mark.skipif(not SASLPASSWD2, reason="needs saslpasswd2 (scripts/peers: sasl2-bin)")
def test_out_cli_makes_the_sasldb_from_the_password_file(tmp_path: Path) -> None:
    password = "correct horse; battery staple"
    secret = tmp_path / "password"
    secret.write_text(f"  {password}\n")  # blanks around it are dropped, as the backend does
    sasldb = tmp_path / "sasl" / "sasldb2"
    out = tmp_path / "out"
    render.main([*out_args(out, sasldb_path=str(sasldb)), "--sasl-password-file", str(secret)])

    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == [
        "main.cf", "master.cf", "smtp_header_checks", "smtpd.conf",
    ]  # fmt: skip
    assert [p.name for p in sasldb.parent.iterdir()] == ["sasldb2"]  # no staged leftovers
    assert oct(sasldb.stat().st_mode & 0o777) == "0o640"
    users = subprocess.run([SASLDBLISTUSERS2, "-f", str(sasldb)], capture_output=True,
                           text=True, check=True).stdout  # fmt: skip
    assert users.split() == ["facteur@mta-out.tenant.test:", "userPassword"]
    for path in out.rglob("*"):
        if path.is_file():
            assert password not in path.read_text()
    # Rendering again with another password replaces the database (still one user).
    secret.write_text("another one")
    render.main([*out_args(out, sasldb_path=str(sasldb), sasl_username="backend"),
                 "--sasl-password-file", str(secret)])  # fmt: skip
    users = subprocess.run([SASLDBLISTUSERS2, "-f", str(sasldb)], capture_output=True,
                           text=True, check=True).stdout  # fmt: skip
    assert users.split() == ["backend@mta-out.tenant.test:", "userPassword"]


@pytest.mark.skipif(not SASLPASSWD2, reason="needs saslpasswd2 (scripts/peers: sasl2-bin)")
def test_the_sasldb_alone_for_a_configmap_pod(tmp_path: Path) -> None:
    """``python3 -m facteur_mta.sasldb``: what the operator's MTA-out pod runs at start."""
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    sasldb = tmp_path / "sasl" / "sasldb2"
    command = [
        *(sys.executable, "-m", "facteur_mta.sasldb", "--password-file", str(secret)),
        *("--path", str(sasldb), "--username", "facteur", "--realm", "out.tenant.test"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    users = subprocess.run([SASLDBLISTUSERS2, "-f", str(sasldb)], capture_output=True,
                           text=True, check=True).stdout  # fmt: skip
    assert users.split() == ["facteur@out.tenant.test:", "userPassword"]
    secret.write_text("")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "is empty" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b" \n", "is empty"),
        (b"two\nlines\n", "one line"),
        (b"\xff\xfe", "not UTF-8"),
        (None, "cannot"),
    ],
)
def test_out_bad_password_file_exits_2_and_writes_nothing(
    tmp_path: Path, capsys, content: bytes | None, message: str
) -> None:
    secret = tmp_path / "password"
    if content is not None:
        secret.write_bytes(content)
    sasldb = tmp_path / "sasl" / "sasldb2"
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        render.main([*out_args(out, sasldb_path=str(sasldb)), "--sasl-password-file", str(secret)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "lines" not in err.replace("one line", "")
    assert not out.exists() and not sasldb.exists()


def test_sasl_password_file_is_for_out_only(tmp_path: Path) -> None:
    args = [x for k, v in REQUIRED.items() for x in ("--set", f"{k}={v}")]
    with pytest.raises(SystemExit) as exit_:
        render.main(["in", "--out", str(tmp_path / "out"), *args,
                     "--sasl-password-file", str(tmp_path / "x")])  # fmt: skip
    assert exit_.value.code == 2 and not (tmp_path / "out").exists()


@pytest.mark.skipif(
    not postfix_instance.postfix_available(), reason="needs Postfix (scripts/peers)"
)
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {
            "tls": "yes",
            "relayhost": "[127.0.0.1]:2526",
            "relayhost_password_map": "/dev/null",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
        },
    ],
)
def test_postfix_accepts_the_rendered_out_config(extra: dict[str, str]) -> None:
    root = postfix_instance.make_root()
    try:
        extra = dict(extra)
        if extra.pop("tls", None):
            certificates = tls_ca.issue(root / "tls", "mta-out.tenant.test")
            extra = {**extra, "tls_cert_file": str(certificates.cert_file),
                     "tls_key_file": str(certificates.key_file)}  # fmt: skip
        values = postfix_instance.private_values(
            root, submission_listen="127.0.0.1:2587", sasldb_path=str(root / "sasldb2"), **extra
        )
        render.write(render.render_out(render.collect({**OUT_REQUIRED, **values}, environ={},
                                                      role="out")), root / "etc")  # fmt: skip
        result = postfix_instance.check(root / "etc")
        log = (root / "maillog").read_text() if (root / "maillog").exists() else ""
        assert result.returncode == 0, result.stdout + result.stderr + log
        assert "warning" not in result.stdout + result.stderr + log
    finally:
        shutil.rmtree(root, ignore_errors=True)
