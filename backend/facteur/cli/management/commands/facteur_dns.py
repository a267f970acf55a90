"""``facteur-admin dns DOMAIN``: the DNS records to publish for a mail domain.

Printed in zone-file form (or as JSON with ``--json``): MX, SPF, DKIM and DMARC.
The DKIM record is the domain's active key, generated here on first use.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from facteur.cli.base import AdminCommand, Output
from facteur.cli.lookups import get_domain
from facteur.domains.services import dkim_key_ensure, dkim_txt_value

DMARC_POLICIES = ("none", "quarantine", "reject")


def quote_txt(value: str) -> str:
    """A TXT value as zone-file character-strings of at most 255 characters each."""
    chunks = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
    quoted = ['"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks]
    return quoted[0] if len(quoted) == 1 else "( " + " ".join(quoted) + " )"


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else f"{name}."


def dns_records(
    *,
    domain_name: str,
    mx: str,
    spf_includes: list[str],
    dkim: tuple[str, str] | None,
    dmarc_policy: str,
    ttl: int,
) -> list[dict[str, object]]:
    origin = _fqdn(domain_name)
    spf = " ".join(["v=spf1", "mx", *(f"include:{i}" for i in spf_includes), "-all"])
    records: list[dict[str, object]] = [
        {"name": origin, "ttl": ttl, "type": "MX", "priority": 10, "value": _fqdn(mx)},
        {"name": origin, "ttl": ttl, "type": "TXT", "value": spf},
    ]
    if dkim is not None:
        selector, value = dkim
        name = f"{selector}._domainkey.{origin}"
        records.append({"name": name, "ttl": ttl, "type": "TXT", "value": value})
    dmarc = f"v=DMARC1; p={dmarc_policy}; rua=mailto:postmaster@{domain_name}"
    records.append({"name": f"_dmarc.{origin}", "ttl": ttl, "type": "TXT", "value": dmarc})
    return records


def zone_line(record: dict[str, object]) -> str:
    head = f"{record['name']}\t{record['ttl']}\tIN\t{record['type']}\t"
    if record["type"] == "MX":
        return f"{head}{record['priority']} {record['value']}"
    return head + quote_txt(str(record["value"]))


class Command(AdminCommand):
    help = "Print the DNS records (MX, SPF, DKIM, DMARC) to publish for a mail domain."

    def add_arguments(self, parser: CommandParser) -> None:
        # One action only: `facteur-admin dns DOMAIN`, no sub-command.
        parser.add_argument("domain")
        parser.add_argument(
            "--mx",
            metavar="HOST",
            help="host that receives the domain's mail (default: mx.DOMAIN)",
        )
        parser.add_argument(
            "--spf-include",
            metavar="DOMAIN",
            action="append",
            default=[],
            help="add include:DOMAIN to the SPF record (repeatable), e.g. a relay's SPF",
        )
        parser.add_argument(
            "--dmarc-policy",
            choices=DMARC_POLICIES,
            default="quarantine",
            help="DMARC p= (default: quarantine)",
        )
        parser.add_argument("--ttl", type=int, default=3600, help="record TTL (default: 3600)")
        parser.add_argument("--json", action="store_true", help="print JSON for programs")
        parser.set_defaults(handler=self.records)

    def records(self, options: dict[str, Any]) -> Output:
        domain = get_domain(options["domain"])
        key = dkim_key_ensure(domain=domain)
        records = dns_records(
            domain_name=domain.name,
            mx=options["mx"] or f"mx.{domain.name}",
            spf_includes=options["spf_include"],
            dkim=(key.selector, dkim_txt_value(key=key)) if key else None,
            dmarc_policy=options["dmarc_policy"],
            ttl=options["ttl"],
        )
        lines = [f"; DNS records for {domain.name}"]
        if key is None:
            lines.append("; no active DKIM key: outgoing mail is not signed")
        lines += [zone_line(record) for record in records]
        return Output({"domain": domain.name, "records": records}, text="\n".join(lines))
