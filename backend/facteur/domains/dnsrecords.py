"""The DNS records a mail domain publishes (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT).

Pure functions, no Django: ``facteur-admin dns`` and the Kubernetes operator (status and
DNSEndpoint of a MailDomain) compute the same records here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

SPF_ALL = {"fail": "-all", "softfail": "~all", "neutral": "?all"}
DMARC_POLICIES = ("none", "quarantine", "reject")


@dataclass(frozen=True)
class Record:
    name: str  # fully qualified, with the trailing dot
    type: str
    value: str  # the record data as published: MX "10 host.", TXT unquoted
    ttl: int

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "type": self.type, "value": self.value, "ttl": self.ttl}


def fqdn(name: str) -> str:
    return name if name.endswith(".") else f"{name}."


def mx_records(domain: str, hosts: list[tuple[str, int]], ttl: int) -> list[Record]:
    return [Record(fqdn(domain), "MX", f"{prio} {fqdn(host)}", ttl) for host, prio in hosts]


def spf_record(domain: str, *, includes: list[str], policy: str, ttl: int) -> Record:
    if policy not in SPF_ALL:
        raise ValueError(f"Unknown SPF policy {policy!r}.")
    value = " ".join(["v=spf1", "mx", *(f"include:{i}" for i in includes), SPF_ALL[policy]])
    return Record(fqdn(domain), "TXT", value, ttl)


def dkim_record(domain: str, *, selector: str, txt: str, ttl: int) -> Record:
    return Record(f"{selector}._domainkey.{fqdn(domain)}", "TXT", txt, ttl)


def dmarc_record(
    domain: str,
    *,
    policy: str,
    ttl: int,
    rua: list[str] | None = None,
    ruf: list[str] | None = None,
    pct: int = 100,
) -> Record:
    if policy not in DMARC_POLICIES:
        raise ValueError(f"Unknown DMARC policy {policy!r}.")
    tags = [f"v=DMARC1; p={policy}"]
    # pct=100 is the default (RFC 7489 6.3): leaving it out keeps the common record short.
    if pct != 100:
        tags.append(f"pct={pct}")
    tags.append("rua=" + ",".join(rua or [f"mailto:postmaster@{domain}"]))
    if ruf:
        tags.append("ruf=" + ",".join(ruf))
    return Record(f"_dmarc.{fqdn(domain)}", "TXT", "; ".join(tags), ttl)


def mta_sts_policy(*, mode: str, mx_hosts: list[str], max_age: int) -> str:
    """The policy file served at https://mta-sts.DOMAIN/.well-known/mta-sts.txt (RFC 8461)."""
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {h.rstrip('.')}" for h in mx_hosts)]
    return "\r\n".join([*lines, f"max_age: {max_age}"]) + "\r\n"


def mta_sts_record(domain: str, *, policy: str, ttl: int) -> Record:
    # The id changes whenever the policy does, which is what tells senders to refetch it.
    policy_id = hashlib.sha256(policy.encode()).hexdigest()[:20]
    return Record(f"_mta-sts.{fqdn(domain)}", "TXT", f"v=STSv1; id={policy_id}", ttl)


def tls_rpt_record(domain: str, *, rua: list[str], ttl: int) -> Record:
    return Record(f"_smtp._tls.{fqdn(domain)}", "TXT", "v=TLSRPTv1; rua=" + ",".join(rua), ttl)


def quote_txt(value: str) -> str:
    """A TXT value as zone-file character-strings of at most 255 characters each."""
    chunks = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
    quoted = ['"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks]
    return quoted[0] if len(quoted) == 1 else "( " + " ".join(quoted) + " )"


def zone_line(record: Record) -> str:
    head = f"{record.name}\t{record.ttl}\tIN\t{record.type}\t"
    return head + (record.value if record.type != "TXT" else quote_txt(record.value))
