"""The operator's reconcile logic as plain functions, without any server.

Scenarios: specs read with the CRD's defaults (and those defaults and patterns are the
CRD's own); invalid specs give InvalidSpec naming the field; DKIM keys of each algorithm
round-trip through a Secret's data and a tampered Secret is not trusted; DNS records for
a default spec, a full spec (several MX, includes, DMARC reports and pct, MTA-STS,
TLS-RPT), the operator's default MX and its absence; the DNSEndpoint groups targets by
name and type; conditions keep lastTransitionTime while their status holds; the same
facts give the same status, so the status patch is empty at steady state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dkim as dkimpy
import pytest

from facteur_operator import conditions, dkim, dns, reconcile, specs
from facteur_operator.conditions import FALSE, TRUE, Condition
from tests.operator import crds

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _schema_node(kind: str, path: str) -> dict:
    node = crds.schema(kind)["properties"]["spec"]
    for part in path.split("."):
        if part.endswith("[]"):
            node = node["properties"][part[:-2]]["items"]
        else:
            node = node["properties"][part]
    return node


@pytest.mark.parametrize("kind", ["MailDomain", "Mailbox"])
def test_the_operator_applies_the_crd_defaults(kind: str) -> None:
    found = {}

    def walk(node: dict, path: str) -> None:
        if "default" in node and path:
            found[path] = node["default"]
        for name, child in node.get("properties", {}).items():
            walk(child, f"{path}.{name}" if path else name)
        if "items" in node:
            walk(node["items"], f"{path}[]")

    walk(crds.schema(kind)["properties"]["spec"], "")
    assert found == specs.DEFAULTS[kind]


@pytest.mark.parametrize(
    ("kind", "path", "pattern"),
    [
        ("MailDomain", "domain", specs.HOSTNAME),
        ("MailDomain", "mx[].host", specs.HOSTNAME),
        ("MailDomain", "dkim.selectorPrefix", specs.SELECTOR_PREFIX),
        ("MailDomain", "dkim.rotationPeriod", specs.PERIOD),
        ("MailDomain", "spf.includes[]", specs.SPF_INCLUDE),
        ("MailDomain", "admins[]", specs.EMAIL),
        ("Mailbox", "localPart", specs.LOCAL_PART),
        ("Mailbox", "aliases[]", specs.LOCAL_PART),
        ("Mailbox", "access[].user", specs.EMAIL),
    ],
)
def test_the_operator_checks_the_crd_patterns(kind: str, path: str, pattern: str) -> None:
    node = _schema_node(kind, path)
    assert node["pattern"] == pattern


@pytest.mark.parametrize(
    ("kind", "path", "choices"),
    [
        ("MailDomain", "dkim.algorithm", specs.DKIM_ALGORITHMS),
        ("MailDomain", "spf.policy", specs.SPF_POLICIES),
        ("MailDomain", "dmarc.policy", specs.DMARC_POLICIES),
        ("MailDomain", "mtaSts.mode", specs.MTA_STS_MODES),
        ("MailDomain", "deletionPolicy", specs.DELETION_POLICIES),
        ("Mailbox", "type", specs.MAILBOX_TYPES),
        ("Mailbox", "access[].role", specs.ROLES),
        ("Mailbox", "deletionPolicy", specs.DELETION_POLICIES),
    ],
)
def test_the_operator_knows_the_crd_enums(kind: str, path: str, choices: tuple) -> None:
    assert tuple(_schema_node(kind, path)["enum"]) == choices


def test_domain_spec_defaults() -> None:
    spec = specs.domain_spec({"domain": "example.org"})
    assert spec.mx == () and spec.admins == () and spec.deletion_policy == "Retain"
    assert (spec.dkim_prefix, spec.dkim_algorithm) == ("facteur", "rsa-2048")
    assert spec.dkim_rotation == timedelta(days=180)
    assert (spec.spf_policy, spec.dmarc_policy, spec.dmarc_pct) == ("fail", "quarantine", 100)
    assert spec.mta_sts is None and spec.tls_rpt is None


def test_every_documented_example_reads() -> None:
    for _, doc in crds.examples():
        read = specs.domain_spec if doc["kind"] == "MailDomain" else specs.mailbox_spec
        read(doc["spec"])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "spec.domain must be a string"),
        ({"domain": "Example.org"}, "spec.domain: 'Example.org' is not valid"),
        (
            {"domain": "example.org", "mx": [{"host": "mx.example.org", "priority": -1}]},
            "spec.mx[0].priority",
        ),
        (
            {"domain": "example.org", "dkim": {"algorithm": "rsa-1024"}},
            "spec.dkim.algorithm must be one of",
        ),
        ({"domain": "example.org", "dmarc": {"pct": True}}, "spec.dmarc.pct"),
        ({"domain": "example.org", "dmarc": {"rua": ["a@b.c"]}}, "spec.dmarc.rua[0]"),
        ({"domain": "example.org", "tlsRpt": {"rua": []}}, "spec.tlsRpt.rua needs"),
        ({"domain": "example.org", "admins": "a@example.org"}, "spec.admins must be a list"),
        ({"domain": "example.org", "dkim": "rsa"}, "spec.dkim must be an object"),
    ],
)
def test_invalid_domain_specs(spec: dict, message: str) -> None:
    with pytest.raises(specs.InvalidSpec, match=message.replace("[", r"\[").replace("]", r"\]")):
        specs.domain_spec(spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"localPart": "a"}, "spec.domainRef.name"),
        ({"domainRef": {"name": "d"}, "localPart": "A"}, "spec.localPart"),
        ({"domainRef": {"name": "d"}, "localPart": "a", "aliases": ["a"]}, "own local part"),
        (
            {
                "domainRef": {"name": "d"},
                "localPart": "a",
                "access": [{"user": "x@y.org", "role": "owner"}],
            },
            "spec.access[0].role",
        ),
        ({"domainRef": {"name": "d"}, "localPart": "a", "type": "group"}, "spec.type"),
    ],
)
def test_invalid_mailbox_specs(spec: dict, message: str) -> None:
    with pytest.raises(specs.InvalidSpec, match=message.replace("[", r"\[").replace("]", r"\]")):
        specs.mailbox_spec(spec)


@pytest.mark.parametrize("algorithm", ["rsa-2048", "ed25519"])
def test_a_dkim_key_round_trips_through_its_secret_and_signs(algorithm: str) -> None:
    spec = specs.domain_spec({"domain": "example.org", "dkim": {"algorithm": algorithm}})
    key = dkim.new_key(spec, NOW)
    assert key.selector == "facteur-202611"
    body = dkim.secret_body(
        name="example-org-dkim", namespace="mail", domain="example.org", key=key
    )
    assert body["metadata"]["labels"]["mail.facteur.dev/domain"] == "example.org"
    assert dkim.key_from_secret(body) == key
    # The stored key signs, and the published TXT value verifies the signature.
    message = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello\r\n"
    signature = dkimpy.sign(
        message,
        key.selector.encode(),
        b"example.org",
        key.private,
        signature_algorithm=key.algorithm.encode(),
    )
    txt = key.txt.encode()
    assert dkimpy.verify(signature + message, dnsfunc=lambda name, timeout=5: txt)


def test_a_tampered_or_partial_secret_is_not_trusted() -> None:
    spec = specs.domain_spec({"domain": "example.org", "dkim": {"algorithm": "ed25519"}})
    body = dkim.secret_body(
        name="s", namespace="n", domain="example.org", key=dkim.new_key(spec, NOW)
    )
    other = dkim.secret_data(dkim.new_key(spec, NOW))
    tampered = {**body, "data": {**body["data"], "public": other["public"]}}
    assert dkim.key_from_secret(tampered) is None
    partial = {**body, "data": {k: v for k, v in body["data"].items() if k != "private.key"}}
    assert dkim.key_from_secret(partial) is None
    assert dkim.key_from_secret({"data": {**body["data"], "created": "%%%"}}) is None
    assert dkim.key_from_secret({}) is None


def _key(algorithm: str = "ed25519") -> dkim.DkimKey:
    return dkim.new_key(
        specs.domain_spec({"domain": "x.org", "dkim": {"algorithm": algorithm}}), NOW
    )


def test_records_of_a_default_domain() -> None:
    key = _key()
    found = dns.records(
        specs.domain_spec({"domain": "example.org"}), key, default_mx="mx.facteur.example", ttl=3600
    )
    assert [r.as_dict() for r in found] == [
        {"name": "example.org.", "type": "MX", "value": "10 mx.facteur.example.", "ttl": 3600},
        {"name": "example.org.", "type": "TXT", "value": "v=spf1 mx -all", "ttl": 3600},
        {
            "name": "facteur-202611._domainkey.example.org.",
            "type": "TXT",
            "value": f"v=DKIM1; k=ed25519; p={key.public}",
            "ttl": 3600,
        },
        {
            "name": "_dmarc.example.org.",
            "type": "TXT",
            "value": "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org",
            "ttl": 3600,
        },
    ]


def test_records_of_a_full_domain() -> None:
    spec = specs.domain_spec(
        {
            "domain": "example.org",
            "mx": [{"host": "mx1.example.org"}, {"host": "mx2.example.org", "priority": 20}],
            "spf": {"policy": "softfail", "includes": ["relay.example.net"]},
            "dmarc": {
                "policy": "reject",
                "pct": 50,
                "rua": ["mailto:r@example.org"],
                "ruf": ["mailto:f@example.org"],
            },
            "mtaSts": {"mode": "enforce"},
            "tlsRpt": {"rua": ["mailto:tls@example.org", "https://r.example.net/tls"]},
        }
    )
    found = {(r.name, r.type, r.value) for r in dns.records(spec, None, default_mx="", ttl=300)}
    policy = (
        "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.org\r\nmx: mx2.example.org\r\n"
        "max_age: 604800\r\n"
    )
    sts = dns.dnsrecords.mta_sts_record("example.org", policy=policy, ttl=300)
    assert found == {
        ("example.org.", "MX", "10 mx1.example.org."),
        ("example.org.", "MX", "20 mx2.example.org."),
        ("example.org.", "TXT", "v=spf1 mx include:relay.example.net ~all"),
        (
            "_dmarc.example.org.",
            "TXT",
            "v=DMARC1; p=reject; pct=50; rua=mailto:r@example.org; ruf=mailto:f@example.org",
        ),
        ("_mta-sts.example.org.", "TXT", sts.value),
        (
            "_smtp._tls.example.org.",
            "TXT",
            "v=TLSRPTv1; rua=mailto:tls@example.org,https://r.example.net/tls",
        ),
    }
    # The MTA-STS id follows the policy: another mode, another id.
    testing = dns.dnsrecords.mta_sts_record(
        "example.org", policy=policy.replace("enforce", "testing"), ttl=300
    )
    assert testing.value != sts.value and sts.value.startswith("v=STSv1; id=")


def test_no_mx_anywhere_is_an_error() -> None:
    with pytest.raises(dns.NoMxHost, match="FACTEUR_OPERATOR_MX_HOST"):
        dns.records(specs.domain_spec({"domain": "example.org"}), None, default_mx="", ttl=3600)


def test_dns_endpoint_groups_targets_by_name_and_type() -> None:
    spec = specs.domain_spec(
        {
            "domain": "example.org",
            "mx": [{"host": "a.example.org"}, {"host": "b.example.org", "priority": 20}],
        }
    )
    found = dns.records(spec, None, default_mx="", ttl=600)
    body = dns.dns_endpoint_body(
        name="example-org", namespace="mail", domain="example.org", found=found
    )
    assert body["apiVersion"] == "externaldns.k8s.io/v1alpha1" and body["kind"] == "DNSEndpoint"
    endpoints = {(e["dnsName"], e["recordType"]): e for e in body["spec"]["endpoints"]}
    assert endpoints["example.org", "MX"]["targets"] == ["10 a.example.org.", "20 b.example.org."]
    assert endpoints["example.org", "TXT"]["targets"] == ["v=spf1 mx -all"]
    assert endpoints["_dmarc.example.org", "TXT"]["recordTTL"] == 600


def test_conditions_keep_their_transition_time_while_the_status_holds() -> None:
    first = conditions.merge(None, [Condition("DNSReady", TRUE, "Computed")], generation=1, now=NOW)
    later = NOW + timedelta(hours=1)
    same = conditions.merge(
        first, [Condition("DNSReady", TRUE, "Computed")], generation=2, now=later
    )
    assert (
        same[0]["lastTransitionTime"] == "2026-11-24T12:00:00Z"
        and same[0]["observedGeneration"] == 2
    )
    flipped = conditions.merge(
        same, [Condition("DNSReady", FALSE, "NoMxHost", "m")], generation=2, now=later
    )
    assert flipped[0]["lastTransitionTime"] == "2026-11-24T13:00:00Z"
    # A condition this reconcile does not speak about is kept as it was.
    kept = conditions.merge(
        [{"type": "DNSVerified", "status": "False"}], [], generation=None, now=NOW
    )
    assert kept == [{"type": "DNSVerified", "status": "False"}]


def test_ready_names_the_first_part_that_is_not_true() -> None:
    parts = [
        Condition("DKIMReady", TRUE, "KeyReady"),
        Condition("BackendSynced", FALSE, "BackendUnavailable", "refused"),
    ]
    assert conditions.ready(parts, ready_message="x") == Condition(
        "Ready", FALSE, "BackendUnavailable", "BackendSynced: refused"
    )
    assert conditions.ready(parts[:1], ready_message="x").status == TRUE


def test_the_same_facts_give_the_same_status_so_nothing_to_write() -> None:
    spec = specs.domain_spec({"domain": "example.org"})
    key = _key("ed25519")
    found = dns.records(spec, key, default_mx="mx.example.net", ttl=3600)
    facts = {
        "spec": spec,
        "key": key,
        "secret_name": "example-org-dkim",
        "dkim": reconcile.ok("DKIMReady", "KeyReady"),
        "dns": reconcile.ok("DNSReady", "RecordsComputed"),
        "backend": reconcile.ok("BackendSynced", "Synced"),
        "found": found,
        "generation": 3,
    }
    first = reconcile.domain_status(**facts, current={}, now=NOW)
    assert {c["type"]: c["status"] for c in first["conditions"]} == {
        "Ready": "True",
        "DKIMReady": "True",
        "DNSReady": "True",
        "BackendSynced": "True",
        "MTAReady": "Unknown",
    }
    assert first["dkim"]["activeSelector"] == key.selector and first["observedGeneration"] == 3
    assert first["dkim"]["publicTxt"] == key.txt
    again = reconcile.domain_status(**facts, current=first, now=NOW + timedelta(hours=5))
    assert reconcile.status_patch(first, again) == {}
    down = reconcile.domain_status(
        **{
            **facts,
            "backend": Condition(
                "BackendSynced", FALSE, "BackendUnavailable", "connection refused"
            ),
        },
        current=first,
        now=NOW + timedelta(hours=6),
    )
    assert set(reconcile.status_patch(first, down)) == {"conditions"}


def test_mailbox_status() -> None:
    spec = specs.mailbox_spec({"domainRef": {"name": "example-org"}, "localPart": "contact"})
    status = reconcile.mailbox_status(
        spec=spec,
        domain="example.org",
        backend=reconcile.ok("BackendSynced", "Synced"),
        current={},
        generation=1,
        now=NOW,
    )
    assert status["address"] == "contact@example.org"
    assert [c["type"] for c in status["conditions"]] == ["Ready", "BackendSynced"]


def test_a_new_key_avoids_selectors_already_published() -> None:
    spec = specs.domain_spec({"domain": "example.org", "dkim": {"algorithm": "ed25519"}})
    taken = {"facteur-202611", "facteur-202611-2"}
    assert dkim.new_key(spec, NOW, taken=taken).selector == "facteur-202611-3"


def test_the_status_patch_nulls_what_is_no_longer_wanted_inside_a_field() -> None:
    current = {"dkim": {"activeSelector": "a", "nextSelector": "b"}, "dnsRecords": [1]}
    desired = {"dkim": {"activeSelector": "b"}}
    assert reconcile.status_patch(current, desired) == {
        "dkim": {"activeSelector": "b", "nextSelector": None}
    }
    assert reconcile.status_patch(current, {"dnsRecords": [1]}) == {}


def test_the_dns_records_event_names_what_changed() -> None:
    from facteur_operator.events import records_changed

    mx = {"name": "example.org.", "type": "MX", "value": "10 mx.example.org."}
    spf = {"name": "example.org.", "type": "TXT", "value": "v=spf1 mx -all"}
    dkim_new = {"name": "s2._domainkey.example.org.", "type": "TXT", "value": "v=DKIM1; p=B"}
    assert records_changed(None, [mx]) == "+ MX example.org."
    assert records_changed([mx, spf], [mx, spf]) == ""
    assert records_changed([mx, spf], [{**spf, "value": "v=spf1 mx ~all"}, dkim_new]) == (
        "- MX example.org.; ~ TXT example.org.; + TXT s2._domainkey.example.org."
    )
