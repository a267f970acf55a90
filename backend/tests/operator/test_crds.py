"""The CRDs: structural schemas, sane defaults, and sample resources valid or refused.

Scenarios: each CRD is apiextensions.k8s.io/v1 with the group, names, short names,
category, status subresource and printer columns the issue asks for; every schema node
has a type (structural) and every default is valid against its own schema; every sample
in docs/examples/ is valid; invalid specs (bad domain, unknown algorithm, pct 101, bad
role, uppercase local part, missing domainRef...) are refused with the field named.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema
import pytest

from tests.operator import crds

MAILDOMAIN = {
    "apiVersion": "mail.facteur.dev/v1alpha1",
    "kind": "MailDomain",
    "metadata": {"name": "example-org"},
    "spec": {"domain": "example.org"},
}
MAILBOX = {
    "apiVersion": "mail.facteur.dev/v1alpha1",
    "kind": "Mailbox",
    "metadata": {"name": "alice"},
    "spec": {"domainRef": {"name": "example-org"}, "localPart": "alice"},
}


def with_spec(base: dict[str, Any], **spec: Any) -> dict[str, Any]:
    resource = copy.deepcopy(base)
    resource["spec"].update(spec)
    return resource


@pytest.mark.parametrize(
    ("kind", "plural", "short"),
    [("MailDomain", "maildomains", "md"), ("Mailbox", "mailboxes", "mbx")],
)
def test_crd_names_and_subresources(kind: str, plural: str, short: str) -> None:
    crd = crds.crds()[kind]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{plural}.mail.facteur.dev"
    spec = crd["spec"]
    assert spec["group"] == "mail.facteur.dev" and spec["scope"] == "Namespaced"
    assert spec["names"]["plural"] == plural and spec["names"]["shortNames"] == [short]
    assert spec["names"]["categories"] == ["facteur"]
    version = crds.version_of(crd)
    assert version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Ready"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["Age"] == ".metadata.creationTimestamp"


def test_printer_columns_show_domain_selector_and_address() -> None:
    def columns(kind: str) -> dict[str, str]:
        version = crds.version_of(crds.crds()[kind])
        return {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}

    assert columns("MailDomain")["Domain"] == ".spec.domain"
    assert columns("MailDomain")["DKIM"] == ".status.dkim.activeSelector"
    assert columns("Mailbox")["Address"] == ".status.address"


def _nodes(node: dict[str, Any], path: str = ""):
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from _nodes(child, f"{path}.{name}")
    if "items" in node:
        yield from _nodes(node["items"], f"{path}[]")


@pytest.mark.parametrize("kind", ["MailDomain", "Mailbox"])
def test_schema_is_structural(kind: str) -> None:
    # The apiserver refuses a v1 CRD whose schema nodes lack a type, and prunes unknown
    # fields: every object must declare its properties (metadata excepted).
    for path, node in _nodes(crds.schema(kind)):
        assert "type" in node, f"{kind}{path} has no type"
        if node["type"] == "object" and path != ".metadata":
            assert "properties" in node, f"{kind}{path} declares no properties"
        for keyword in ("$ref", "allOf", "oneOf", "anyOf", "additionalProperties"):
            assert keyword not in node, f"{kind}{path} uses {keyword}"


@pytest.mark.parametrize("kind", ["MailDomain", "Mailbox"])
def test_defaults_are_valid_against_their_schema(kind: str) -> None:
    seen = 0
    for _path, node in _nodes(crds.schema(kind)):
        if "default" in node:
            seen += 1
            jsonschema.validate(node["default"], {k: v for k, v in node.items() if k != "default"})
    assert seen >= 2


@pytest.mark.parametrize("kind", ["MailDomain", "Mailbox"])
def test_patterns_use_no_lookaround(kind: str) -> None:
    # The apiserver compiles patterns as RE2 (Go): no look-ahead or look-behind.
    for path, node in _nodes(crds.schema(kind)):
        if "pattern" in node:
            assert not re.search(r"\(\?[=!<]", node["pattern"]), f"{kind}{path}"


def test_every_documented_example_is_valid() -> None:
    found = crds.examples()
    assert {doc["kind"] for _, doc in found} == {"MailDomain", "Mailbox"}
    for name, doc in found:
        assert crds.errors(doc) == [], f"{name}: {doc['metadata']['name']}"


@pytest.mark.parametrize(
    "resource",
    [
        MAILDOMAIN,
        with_spec(MAILDOMAIN, domain="mail.xn--bcher-kva.example"),
        with_spec(MAILDOMAIN, mx=[{"host": "mx.example.net"}]),
        with_spec(MAILDOMAIN, dkim={"algorithm": "ed25519", "rotationPeriod": "12w"}),
        with_spec(MAILDOMAIN, spf={"policy": "softfail", "includes": ["_spf.relay.example"]}),
        with_spec(
            MAILDOMAIN, dmarc={"policy": "reject", "pct": 0, "ruf": ["mailto:f@example.org"]}
        ),
        with_spec(MAILDOMAIN, tlsRpt={"rua": ["https://reports.example.net/tls"]}),
        with_spec(MAILDOMAIN, admins=["O'Brien+admin@example.org"], deletionPolicy="Delete"),
        MAILBOX,
        with_spec(MAILBOX, type="shared", aliases=["hello", "first.last"], displayName="Équipe"),
        with_spec(MAILBOX, access=[{"user": "bob@example.org", "role": "sender"}]),
    ],
    ids=lambda r: f"{r['kind']}:{sorted(r['spec'])}",
)
def test_valid_resources(resource: dict[str, Any]) -> None:
    assert crds.errors(resource) == []


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        (with_spec(MAILDOMAIN, domain="Example.org"), "spec.domain"),
        (with_spec(MAILDOMAIN, domain="localhost"), "spec.domain"),
        (with_spec(MAILDOMAIN, domain="example.org."), "spec.domain"),
        (with_spec(MAILDOMAIN, domain="-bad.example.org"), "spec.domain"),
        (with_spec(MAILDOMAIN, domain="a" * 64 + ".org"), "spec.domain"),
        (with_spec(MAILDOMAIN, mx=[{"priority": 10}]), "spec.mx.0"),
        (
            with_spec(MAILDOMAIN, mx=[{"host": "mx.example.org", "priority": 70000}]),
            "spec.mx.0.priority",
        ),
        (with_spec(MAILDOMAIN, dkim={"algorithm": "rsa-1024"}), "spec.dkim.algorithm"),
        (with_spec(MAILDOMAIN, dkim={"rotationPeriod": "6 months"}), "spec.dkim.rotationPeriod"),
        (with_spec(MAILDOMAIN, dkim={"selectorPrefix": "Bad_Prefix"}), "spec.dkim.selectorPrefix"),
        (with_spec(MAILDOMAIN, spf={"policy": "-all"}), "spec.spf.policy"),
        (with_spec(MAILDOMAIN, dmarc={"pct": 101}), "spec.dmarc.pct"),
        (with_spec(MAILDOMAIN, dmarc={"policy": "block"}), "spec.dmarc.policy"),
        (with_spec(MAILDOMAIN, dmarc={"rua": ["dmarc@example.org"]}), "spec.dmarc.rua.0"),
        (with_spec(MAILDOMAIN, mtaSts={"mode": "strict"}), "spec.mtaSts.mode"),
        (with_spec(MAILDOMAIN, tlsRpt={}), "spec.tlsRpt"),
        (with_spec(MAILDOMAIN, admins=["not-an-address"]), "spec.admins.0"),
        (with_spec(MAILDOMAIN, deletionPolicy="Orphan"), "spec.deletionPolicy"),
        ({**MAILDOMAIN, "spec": {}}, "spec"),
        (with_spec(MAILBOX, localPart="Alice"), "spec.localPart"),
        (with_spec(MAILBOX, localPart="alice..smith"), "spec.localPart"),
        (with_spec(MAILBOX, localPart="alice@example.org"), "spec.localPart"),
        (with_spec(MAILBOX, type="group"), "spec.type"),
        (with_spec(MAILBOX, aliases=["Hello"]), "spec.aliases.0"),
        (
            with_spec(MAILBOX, access=[{"user": "bob@example.org", "role": "owner"}]),
            "spec.access.0.role",
        ),
        (with_spec(MAILBOX, access=[{"role": "viewer"}]), "spec.access.0"),
        (with_spec(MAILBOX, domainRef={}), "spec.domainRef"),
        (with_spec(MAILBOX, deletionPolicy="delete"), "spec.deletionPolicy"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_invalid_resources_are_refused(resource: dict[str, Any], field: str) -> None:
    problems = crds.errors(resource)
    assert problems, "accepted"
    assert any(p.split(":")[0] == field for p in problems), problems


def test_missing_spec_fields_are_refused() -> None:
    mailbox = copy.deepcopy(MAILBOX)
    del mailbox["spec"]["domainRef"]
    assert any("'domainRef' is a required property" in p for p in crds.errors(mailbox))


def test_wrong_api_version_is_refused() -> None:
    assert crds.errors({**MAILDOMAIN, "apiVersion": "mail.facteur.dev/v1"})
