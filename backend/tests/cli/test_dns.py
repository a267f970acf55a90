"""``facteur-admin dns DOMAIN``: the records to publish, in zone-file form and as JSON."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command

from facteur.domains import services as domain_services
from facteur.domains.dnsrecords import quote_txt
from facteur.domains.models import DkimKey
from tests import factories


def dns(*args: str) -> str:
    out = io.StringIO()
    call_command("facteur_dns", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def txt_strings(line: str) -> str:
    """The value of a zone-file TXT line: its quoted strings joined."""
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', line))


def test_zone_file_records(db):
    factories.domain("example.org")

    lines = dns("example.org").splitlines()
    key = domain_services.dkim_key_active(domain=DkimKey.objects.get().domain)

    assert lines[0] == "; DNS records for example.org"
    by_type = {(line.split("\t")[0], line.split("\t")[3]): line for line in lines[1:]}
    assert by_type["example.org.", "MX"] == "example.org.\t3600\tIN\tMX\t10 mx.example.org."
    assert by_type["example.org.", "TXT"].endswith('"v=spf1 mx -all"')
    dkim_line = by_type[f"{key.selector}._domainkey.example.org.", "TXT"]
    assert txt_strings(dkim_line) == domain_services.dkim_txt_value(key=key)
    assert txt_strings(dkim_line) == f"v=DKIM1; k=rsa; p={key.public_key}"
    assert all(len(s) <= 255 for s in re.findall(r'"([^"]*)"', dkim_line))
    assert dkim_line.count('"') == 4  # RSA 2048: two character-strings
    assert txt_strings(by_type["_dmarc.example.org.", "TXT"]) == (
        "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org"
    )
    # The key made on first use is kept: a second run prints the same record.
    assert dns("example.org").splitlines()[1:] == lines[1:]
    assert DkimKey.objects.count() == 1


def test_options_and_json(db):
    dom = factories.domain("example.org")
    key = domain_services.dkim_key_generate(domain=dom, selector="s1", bits=1024)

    data = json.loads(
        dns(
            "example.org",
            "--mx",
            "mail.provider.test",
            "--spf-include",
            "_spf.relay.test",
            "--spf-include",
            "spf.other.test",
            "--dmarc-policy",
            "reject",
            "--json",
        )
    )

    assert data["domain"] == "example.org"
    records = {(r["name"], r["type"]): r for r in data["records"]}
    assert records["example.org.", "MX"]["value"] == "mail.provider.test."
    assert records["example.org.", "MX"]["priority"] == 10
    assert records["example.org.", "TXT"]["value"] == (
        "v=spf1 mx include:_spf.relay.test include:spf.other.test -all"
    )
    assert records["s1._domainkey.example.org.", "TXT"]["value"] == (
        domain_services.dkim_txt_value(key=key)
    )
    assert records["_dmarc.example.org.", "TXT"]["value"].startswith("v=DMARC1; p=reject;")


def test_rotated_key_is_the_one_published(db):
    dom = factories.domain("example.org")
    domain_services.dkim_key_generate(domain=dom, selector="old", bits=1024)
    new = domain_services.dkim_key_generate(domain=dom, selector="new", bits=1024)

    out = dns("example.org")

    assert "new._domainkey.example.org." in out and "old._domainkey" not in out
    assert new.public_key[:200] in out.replace('" "', "")


def test_deactivated_keys_print_no_dkim_record(db):
    dom = factories.domain("example.org")
    domain_services.dkim_key_generate(domain=dom, bits=1024)
    DkimKey.objects.update(is_active=False)

    out = dns("example.org")

    assert "no active DKIM key" in out and "_domainkey" not in out
    assert DkimKey.objects.filter(is_active=True).count() == 0


def test_unknown_domain_is_refused(db):
    with pytest.raises(CommandError) as info:
        dns("nowhere.test")
    assert info.value.returncode == 2
    assert "No domain nowhere.test" in str(info.value)


def test_quote_txt():
    assert quote_txt("short") == '"short"'
    assert quote_txt('a"b') == '"a\\"b"'
    long = "x" * 300
    assert quote_txt(long) == f'( "{"x" * 255}" "{"x" * 45}" )'


def test_through_the_console_script(run_admin):
    assert run_admin("domain", "create", "example.org").returncode == 0

    result = run_admin("dns", "example.org", "--json")

    assert result.returncode == 0, result.stderr
    key = DkimKey.objects.get(domain__name="example.org", is_active=True)
    values = {r["name"]: r["value"] for r in json.loads(result.stdout)["records"]}
    assert values[f"{key.selector}._domainkey.example.org."] == (
        domain_services.dkim_txt_value(key=key)
    )
