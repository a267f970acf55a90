"""Where mail for a domain goes (RFC 5321 section 5.1), with dnspython.

MX records by preference, equal preferences in random order; no MX record:
the domain itself (its A/AAAA) is the implicit MX; a null MX (RFC 7505) means
the domain takes no mail. A lookup that cannot tell (SERVFAIL, timeout, no
nameserver) is temporary: ``RouteFailure`` carries a 4xx, the others a 5xx.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver
from django.conf import settings

from facteur.sending.smtp_transaction import Reply, ascii_domain

# Addresses tried per domain at most (Postfix's smtp_mx_address_limit): a domain
# whose first hosts are all down does not hold the send task for long.
MAX_ADDRESSES = 5


class RouteFailure(Exception):
    """No host to try for the domain; ``reply`` says why, for each of its recipients."""

    def __init__(self, reply: Reply):
        super().__init__(reply.line)
        self.reply = reply


@dataclass(frozen=True)
class Destination:
    host: str  # the MX host name (the domain itself for an implicit MX)
    address: str  # one of its IP addresses


@dataclass(frozen=True)
class Route:
    destinations: list[Destination]  # in the order to try them
    problems: list[str]  # MX hosts skipped, and why (their names did not resolve)


def make_resolver() -> dns.resolver.Resolver:
    """FACTEUR_DNS_RESOLVERS when set, else the system's; lookups bounded by FACTEUR_DNS_TIMEOUT."""
    if settings.FACTEUR_DNS_RESOLVERS:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(address, port)
            for address, port in settings.FACTEUR_DNS_RESOLVERS
        ]
    else:
        resolver = dns.resolver.Resolver()  # /etc/resolv.conf
    resolver.lifetime = float(settings.FACTEUR_DNS_TIMEOUT)
    resolver.timeout = min(resolver.timeout, resolver.lifetime)
    return resolver


def route(domain: str, *, resolver: dns.resolver.Resolver) -> Route:
    """The addresses to try for mail to ``domain``; raises RouteFailure when there are none."""
    try:
        name = ascii_domain(domain)
    except ValueError:
        raise RouteFailure(Reply(553, f"5.1.3 Malformed recipient domain {domain!r}")) from None
    exchanges = _mx_hosts(name, resolver)
    if exchanges is None:  # no MX record: the domain is its own (implicit) MX
        try:
            addresses = _addresses(name, resolver)
        except _LookupFailed as exc:
            raise _temporary(exc) from None
        if not addresses:
            raise RouteFailure(Reply(550, f"5.1.2 {name} has no MX and no address record"))
        return Route([Destination(name, a) for a in addresses[:MAX_ADDRESSES]], [])
    destinations: list[Destination] = []
    problems: list[str] = []
    seen: set[str] = set()
    for host in exchanges:
        try:
            addresses = _addresses(host, resolver)
        except _LookupFailed as exc:
            problems.append(str(exc))
            continue
        if not addresses:
            problems.append(f"{host} has no address record")
        for address in addresses:
            if address not in seen and len(destinations) < MAX_ADDRESSES:
                seen.add(address)
                destinations.append(Destination(host, address))
    if not destinations:
        raise RouteFailure(Reply(451, f"4.4.4 Not handed over: {'; '.join(problems)}"))
    return Route(destinations, problems)


class _LookupFailed(Exception):
    def __init__(self, name: str, rdtype: str, problem: str):
        super().__init__(f"DNS lookup of {name} {rdtype} failed ({problem})")
        self.nxdomain = problem == "NXDOMAIN"


def _temporary(exc: _LookupFailed) -> RouteFailure:
    return RouteFailure(Reply(451, f"4.4.3 Not handed over: {exc}"))


def _mx_hosts(name: str, resolver: dns.resolver.Resolver) -> list[str] | None:
    """MX host names in the order to try them; None when the domain has no MX record."""
    try:
        answer = _resolve(name, "MX", resolver)
    except _LookupFailed as exc:
        if exc.nxdomain:
            raise RouteFailure(Reply(550, f"5.1.2 Domain {name} does not exist")) from None
        raise _temporary(exc) from None
    records = list(answer.rrset) if answer.rrset is not None else []
    if not records:
        return None
    hosts = [r for r in records if r.exchange != dns.name.root]
    if not hosts:  # "0 ." alone (RFC 7505); a null MX next to real ones is ignored
        raise RouteFailure(Reply(556, f"5.1.10 {name} accepts no mail (null MX)"))
    by_preference: dict[int, list[str]] = {}
    for record in hosts:
        host = record.exchange.to_text(omit_final_dot=True)
        by_preference.setdefault(record.preference, []).append(host)
    ordered: list[str] = []
    for preference in sorted(by_preference):
        same = by_preference[preference]
        random.shuffle(same)  # spreads the load over equal hosts (RFC 5321 section 5.1)
        ordered.extend(h for h in same if h not in ordered)
    return ordered


def _addresses(host: str, resolver: dns.resolver.Resolver) -> list[str]:
    """IPv4 addresses first, then IPv6 (IPv4 reaches more of the Internet)."""
    addresses: list[str] = []
    for rdtype in ("A", "AAAA"):
        answer = _resolve(host, rdtype, resolver)
        if answer.rrset is not None:
            addresses.extend(r.address for r in answer.rrset)
    return addresses


def _resolve(name: str, rdtype: str, resolver: dns.resolver.Resolver) -> dns.resolver.Answer:
    try:
        return resolver.resolve(name, rdtype, search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        problem = "NXDOMAIN"
    except dns.resolver.LifetimeTimeout:
        problem = "timed out"
    except dns.resolver.NoNameservers:
        problem = "SERVFAIL or refused by every nameserver"
    except dns.resolver.NoResolverConfiguration:
        problem = "no nameserver configured"
    except dns.exception.DNSException as exc:
        problem = f"{type(exc).__name__}: {exc}"
    raise _LookupFailed(name, rdtype, problem)
