"""``facteur-admin dns DOMAIN``: the DNS records to publish for a mail domain.

Printed in zone-file form (or as JSON with ``--json``): MX, SPF, DKIM and DMARC.
The DKIM record is the domain's active key, generated here on first use.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from facteur.cli.base import AdminCommand, Output
from facteur.cli.lookups import get_domain
from facteur.domains import dnsrecords
from facteur.domains.dnsrecords import DMARC_POLICIES, zone_line
from facteur.domains.services import dkim_key_ensure, dkim_txt_value


def dns_records(
    *,
    domain_name: str,
    mx: str,
    spf_includes: list[str],
    dkim: tuple[str, str] | None,
    dmarc_policy: str,
    ttl: int,
) -> list[dnsrecords.Record]:
    records = [
        *dnsrecords.mx_records(domain_name, [(mx, 10)], ttl),
        dnsrecords.spf_record(domain_name, includes=spf_includes, policy="fail", ttl=ttl),
    ]
    if dkim is not None:
        selector, value = dkim
        records.append(dnsrecords.dkim_record(domain_name, selector=selector, txt=value, ttl=ttl))
    records.append(dnsrecords.dmarc_record(domain_name, policy=dmarc_policy, ttl=ttl))
    return records


def as_json(record: dnsrecords.Record) -> dict[str, object]:
    """The JSON form ``--json`` has always printed: MX priority apart from the host."""
    if record.type == "MX":
        priority, host = record.value.split(" ", 1)
        return {
            "name": record.name,
            "ttl": record.ttl,
            "type": "MX",
            "priority": int(priority),
            "value": host,
        }
    return {"name": record.name, "ttl": record.ttl, "type": record.type, "value": record.value}


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
        return Output(
            {"domain": domain.name, "records": [as_json(r) for r in records]},
            text="\n".join(lines),
        )
