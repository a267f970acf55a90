"""The DNS records of a MailDomain: for status.dnsRecords and an external-dns DNSEndpoint.

The records themselves come from ``facteur.domains.dnsrecords``, which ``facteur-admin
dns`` uses too: one definition of what a Facteur domain publishes.
"""

from __future__ import annotations

from facteur.domains import dnsrecords
from facteur.domains.dnsrecords import Record
from facteur_operator.dkim import DkimKey
from facteur_operator.specs import DomainSpec


class NoMxHost(ValueError):
    """Neither the MailDomain nor the operator's settings name an MX host."""


def mx_hosts(spec: DomainSpec, default_host: str) -> list[tuple[str, int]]:
    if spec.mx:
        return list(spec.mx)
    if not default_host:
        raise NoMxHost(
            "spec.mx is empty and the operator has no default MX host (FACTEUR_OPERATOR_MX_HOST)."
        )
    return [(default_host, 10)]


def records(
    spec: DomainSpec,
    key: DkimKey | None,
    *,
    default_mx: str,
    ttl: int,
    published: list[DkimKey] | None = None,
) -> list[Record]:
    """Everything to publish in the domain's zone, in a stable order. ``published``: every
    key whose record must be out (during a rotation: previous, active, next), else ``key``."""
    domain = spec.domain
    hosts = mx_hosts(spec, default_mx)
    found = [
        *dnsrecords.mx_records(domain, hosts, ttl),
        dnsrecords.spf_record(
            domain, includes=list(spec.spf_includes), policy=spec.spf_policy, ttl=ttl
        ),
    ]
    for each in published if published is not None else [key] if key is not None else []:
        found.append(dnsrecords.dkim_record(domain, selector=each.selector, txt=each.txt, ttl=ttl))
    found.append(
        dnsrecords.dmarc_record(
            domain,
            policy=spec.dmarc_policy,
            rua=list(spec.dmarc_rua),
            ruf=list(spec.dmarc_ruf),
            pct=spec.dmarc_pct,
            ttl=ttl,
        )
    )
    if spec.mta_sts is not None:
        mode, max_age = spec.mta_sts
        policy = dnsrecords.mta_sts_policy(
            mode=mode, mx_hosts=[h for h, _ in hosts], max_age=max_age
        )
        found.append(dnsrecords.mta_sts_record(domain, policy=policy, ttl=ttl))
    if spec.tls_rpt is not None:
        found.append(dnsrecords.tls_rpt_record(domain, rua=list(spec.tls_rpt), ttl=ttl))
    return found


def dns_endpoint_body(*, name: str, namespace: str, domain: str, found: list[Record]) -> dict:
    """A DNSEndpoint (externaldns.k8s.io/v1alpha1): one endpoint per name and type."""
    endpoints: dict[tuple[str, str], dict] = {}
    for record in found:
        endpoint = endpoints.setdefault(
            (record.name, record.type),
            {
                "dnsName": record.name.rstrip("."),
                "recordType": record.type,
                "recordTTL": record.ttl,
                "targets": [],
            },
        )
        endpoint["targets"].append(record.value)
    return {
        "apiVersion": "externaldns.k8s.io/v1alpha1",
        "kind": "DNSEndpoint",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "facteur-operator",
                "mail.facteur.dev/domain": domain,
            },
        },
        "spec": {"endpoints": list(endpoints.values())},
    }
