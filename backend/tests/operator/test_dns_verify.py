"""Live DNS verification against the loopback DNS server of the sending tests (real
dnspython queries over UDP, and TCP for the long DKIM records).

Scenarios: a zone that publishes exactly our records matches (other TXT records of a name
are ignored, a DKIM value over 255 characters split in strings is joined); each kind of
difference is named (a missing name, a missing type, another SPF, an MX host missing and
one unexpected); a resolver that does not answer gives Unknown, not False; the settings'
resolvers and their refusals; the verifier checks again with backoff until the zone
matches, then at the interval, and writes only changes.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from facteur_operator import dns_verify
from facteur_operator.conditions import FALSE, TRUE, UNKNOWN, Condition
from facteur_operator.mta_settings import SettingError
from tests.sending.dns_server import DnsServer, Zone

DKIM = "v=DKIM1; k=rsa; p=" + "A" * 392  # an rsa-2048 record's length: several strings
RECORDS = [
    {"name": "example.org.", "type": "MX", "value": "10 mx.facteur.example.", "ttl": 3600},
    {"name": "example.org.", "type": "MX", "value": "20 mx2.facteur.example.", "ttl": 3600},
    {"name": "example.org.", "type": "TXT", "value": "v=spf1 mx -all", "ttl": 3600},
    {"name": "s1._domainkey.example.org.", "type": "TXT", "value": DKIM, "ttl": 3600},
    {
        "name": "_dmarc.example.org.",
        "type": "TXT",
        "value": "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org",
        "ttl": 3600,
    },
]


def txt(value: str) -> str:
    """Zone-file text: character-strings of at most 255 characters."""
    return " ".join('"' + value[i : i + 255] + '"' for i in range(0, len(value), 255))


def publish(zone: Zone, records: list[dict]) -> None:
    for r in records:
        zone.add(r["name"], r["type"], txt(r["value"]) if r["type"] == "TXT" else r["value"])


def settings(port: int, **env: str) -> dns_verify.VerifySettings:
    return dns_verify.VerifySettings.from_env(
        {
            "FACTEUR_OPERATOR_DNS_VERIFY": "true",
            "FACTEUR_OPERATOR_DNS_RESOLVERS": f"127.0.0.1:{port}",
            "FACTEUR_OPERATOR_DNS_VERIFY_TIMEOUT": "1",
            **env,
        }
    )


def check(zone: Zone, records: list[dict] = RECORDS) -> Condition:
    async def run() -> Condition:
        with DnsServer(zone) as server:
            return await dns_verify.check(dns_verify.make_resolver(settings(server.port)), records)

    return asyncio.run(run())


def test_a_zone_with_our_records_matches() -> None:
    zone = Zone()
    publish(zone, RECORDS)
    zone.add("example.org.", "TXT", '"google-site-verification=abc"')  # not ours: ignored
    cond = check(zone)
    assert (cond.status, cond.reason, cond.message) == (
        TRUE,
        "RecordsMatch",
        "5 records published",
    )
    assert zone.queried("s1._domainkey.example.org.", "TXT")


def test_each_difference_is_named() -> None:
    zone = Zone()
    zone.add("example.org.", "MX", "10 mx.facteur.example.", "30 old-mx.example.net.")
    zone.add("example.org.", "TXT", txt("v=spf1 ~all"))
    zone.add("s1._domainkey.example.org.", "TXT", txt("v=DKIM1; k=rsa; p=OLD"))
    cond = check(zone)
    assert (cond.status, cond.reason) == (FALSE, "RecordsDiffer")
    assert cond.message == "; ".join(
        [
            "MX example.org.: missing 20 mx2.facteur.example.",
            "unexpected 30 old-mx.example.net.",
            'TXT example.org.: found "v=spf1 ~all", expected "v=spf1 mx -all"',
            f'TXT s1._domainkey.example.org.: found "v=DKIM1; k=rsa; p=OLD", expected "{DKIM}"',
            "TXT _dmarc.example.org.: missing",
        ]
    )


def test_differences_pure() -> None:
    found = {
        ("example.org.", "MX"): [],
        ("example.org.", "TXT"): ["v=spf1 mx -all", "other"],
        ("s1._domainkey.example.org.", "TXT"): ["v=DKIM1; k=rsa; p=OLD"],
        ("_dmarc.example.org.", "TXT"): [],
    }
    assert dns_verify.differences(RECORDS, found) == [
        "MX example.org.: missing",
        f'TXT s1._domainkey.example.org.: found "v=DKIM1; k=rsa; p=OLD", expected "{DKIM}"',
        "TXT _dmarc.example.org.: missing",
    ]


def test_a_resolver_that_does_not_answer_says_nothing_about_the_zone() -> None:
    zone = Zone()
    publish(zone, RECORDS)
    zone.silent.add("_dmarc.example.org")
    cond = check(zone)
    assert (cond.status, cond.reason) == (UNKNOWN, "ResolverUnavailable")
    assert "_dmarc.example.org." in cond.message


def test_resolver_settings() -> None:
    parsed = dns_verify.VerifySettings.from_env(
        {"FACTEUR_OPERATOR_DNS_RESOLVERS": "1.1.1.1, 10.0.0.2:5353,[2606:4700::1111]:53"}
    )
    assert parsed.enabled is False  # off by default
    assert parsed.resolvers == (("1.1.1.1", 53), ("10.0.0.2", 5353), ("2606:4700::1111", 53))
    with pytest.raises(SettingError, match="FACTEUR_OPERATOR_DNS_RESOLVERS"):
        dns_verify.VerifySettings.from_env({"FACTEUR_OPERATOR_DNS_RESOLVERS": "1.1.1.1:dns"})
    with pytest.raises(SettingError, match="FACTEUR_OPERATOR_DNS_VERIFY"):
        dns_verify.VerifySettings.from_env({"FACTEUR_OPERATOR_DNS_VERIFY": "maybe"})


def test_the_verifier_retries_with_backoff_until_the_zone_matches() -> None:
    zone = Zone()
    written: list[Condition] = []

    async def write(key: tuple[str, str], cond: Condition) -> None:
        written.append(cond)

    async def run() -> None:
        with DnsServer(zone) as server:
            config = settings(
                server.port,
                FACTEUR_OPERATOR_DNS_VERIFY_RETRY_SECONDS="0.2",
                FACTEUR_OPERATOR_DNS_VERIFY_SECONDS="30",
            )
            verifier = dns_verify.Verifier(config, write=write)
            verifier.start()
            verifier.want(("mail", "example-org"), RECORDS)
            verifier.want(("mail", "example-org"), RECORDS)  # the same records: one check
            for _ in range(100):
                if written:
                    break
                await asyncio.sleep(0.05)
            assert written[0].status == FALSE
            target = verifier.targets[("mail", "example-org")]
            assert target.backoff == pytest.approx(0.2)
            await asyncio.sleep(0.5)  # two retries: the backoff doubles
            assert target.backoff >= 0.4
            publish(zone, RECORDS)
            for _ in range(100):
                if written[-1].status == TRUE:
                    break
                await asyncio.sleep(0.05)
            assert written[-1].status == TRUE
            assert target.backoff == 0.0 and target.due > time.monotonic() + 20
            await verifier.stop()

    asyncio.run(run())
