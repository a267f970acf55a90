"""Live DNS verification (``FACTEUR_OPERATOR_DNS_VERIFY``, off by default): each record of a
MailDomain's ``status.dnsRecords`` asked of the configured resolvers, and the
``DNSVerified`` condition saying exactly what differs.

A task of its own does the lookups (dnspython's asynchronous resolver, a few at a time):
reconciles never wait for DNS. A domain is checked when its records change, then again
after ``FACTEUR_OPERATOR_DNS_VERIFY_RETRY_SECONDS`` while something differs (doubling up to
the interval: a zone being published settles within minutes, a forgotten one need not be
asked every minute), and every ``FACTEUR_OPERATOR_DNS_VERIFY_SECONDS`` once it matches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from facteur_operator.conditions import FALSE, TRUE, UNKNOWN, Condition
from facteur_operator.mta_settings import SettingError, seconds

log = logging.getLogger(__name__)
CONCURRENCY = 8


@dataclass(frozen=True)
class VerifySettings:
    enabled: bool
    resolvers: tuple[tuple[str, int], ...]  # empty: the system's (/etc/resolv.conf)
    interval: float
    retry: float
    timeout: float

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> VerifySettings:
        env = os.environ if env is None else env
        raw = env.get("FACTEUR_OPERATOR_DNS_VERIFY", "").strip().lower()
        if raw not in ("", "true", "false", "1", "0", "yes", "no", "on", "off"):
            raise SettingError(f"FACTEUR_OPERATOR_DNS_VERIFY must be true or false, got {raw!r}")
        resolvers = []
        for item in env.get("FACTEUR_OPERATOR_DNS_RESOLVERS", "").split(","):
            if item.strip():
                resolvers.append(_resolver(item.strip()))
        return cls(
            enabled=raw in ("true", "1", "yes", "on"),
            resolvers=tuple(resolvers),
            interval=seconds(env, "FACTEUR_OPERATOR_DNS_VERIFY_SECONDS", 3600),
            retry=seconds(env, "FACTEUR_OPERATOR_DNS_VERIFY_RETRY_SECONDS", 60),
            timeout=seconds(env, "FACTEUR_OPERATOR_DNS_VERIFY_TIMEOUT", 5),
        )


def _resolver(item: str) -> tuple[str, int]:
    """``1.1.1.1``, ``1.1.1.1:5353``, ``[2606:4700::1111]:53`` or a bare IPv6 address."""
    host, port = item, 53
    if item.startswith("["):
        host, _, rest = item[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else 53
    elif item.count(":") == 1:
        host, port_text = item.split(":")
        if not port_text.isdigit():
            raise SettingError(f"FACTEUR_OPERATOR_DNS_RESOLVERS: bad port in {item!r}")
        port = int(port_text)
    return host, port


class ResolverUnavailable(Exception):
    """No answer could be had (timeout, SERVFAIL): nothing can be said about the zone."""


def make_resolver(settings: VerifySettings) -> dns.asyncresolver.Resolver:
    if not settings.resolvers:
        resolver = dns.asyncresolver.Resolver()
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(host, port) for host, port in settings.resolvers
        ]
    resolver.lifetime = settings.timeout
    resolver.cache = None  # every check asks again: the point is to see changes
    return resolver


async def lookup(resolver: dns.asyncresolver.Resolver, name: str, rdtype: str) -> list[str]:
    """The values at ``name``/``rdtype`` as status.dnsRecords writes them; [] when none."""
    try:
        answer = await resolver.resolve(name, rdtype, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise ResolverUnavailable(f"{rdtype} {name}: {exc}") from None
    if answer.rrset is None:
        return []
    if rdtype == "MX":
        return [f"{r.preference} {r.exchange.to_text().lower()}" for r in answer.rrset]
    return [b"".join(r.strings).decode("utf-8", "replace") for r in answer.rrset]


def _tag(value: str) -> str:
    """``v=spf1``, ``v=DKIM1``... : which TXT record of a name a value is about."""
    first = value.split(";", 1)[0].split(" ", 1)[0]
    return first.lower() if first.lower().startswith("v=") else ""


def differences(expected: list[dict], found: dict[tuple[str, str], list[str]]) -> list[str]:
    """What the zone says differently, one item per record, in the order of ``expected``.
    MX: the set of hosts must be exactly ours. TXT: our value must be there; other TXT
    records of the name (site verifications) are none of our business, but one of the same
    kind (another ``v=spf1``) is a difference."""
    out: list[str] = []
    wanted: dict[tuple[str, str], list[str]] = {}
    for record in expected:
        wanted.setdefault((record["name"], record["type"]), []).append(record["value"])
    for (name, rdtype), values in wanted.items():
        there = found.get((name, rdtype), [])
        if rdtype == "MX":
            expected_set = {v.lower() for v in values}
            missing, extra = sorted(expected_set - set(there)), sorted(set(there) - expected_set)
            if not there:
                out.append(f"MX {name}: missing")
            elif missing or extra:
                parts = [f"missing {', '.join(missing)}"] if missing else []
                parts += [f"unexpected {', '.join(extra)}"] if extra else []
                out.append(f"MX {name}: {'; '.join(parts)}")
            continue
        for value in values:
            if value in there:
                continue
            same_kind = [t for t in there if _tag(t) and _tag(t) == _tag(value)]
            if same_kind:
                shown = " | ".join(f'"{t}"' for t in same_kind)
                out.append(f'{rdtype} {name}: found {shown}, expected "{value}"')
            else:
                out.append(f"{rdtype} {name}: missing")
    return out


async def check(resolver: dns.asyncresolver.Resolver, expected: list[dict]) -> Condition:
    keys = sorted({(r["name"], r["type"]) for r in expected})
    try:
        answers = await asyncio.gather(*(lookup(resolver, n, t) for n, t in keys))
    except ResolverUnavailable as exc:
        return Condition("DNSVerified", UNKNOWN, "ResolverUnavailable", str(exc))
    diffs = differences(expected, dict(zip(keys, answers, strict=True)))
    if diffs:
        return Condition("DNSVerified", FALSE, "RecordsDiffer", "; ".join(diffs))
    return Condition("DNSVerified", TRUE, "RecordsMatch", f"{len(expected)} records published")


@dataclass
class _Target:
    records: list[dict]
    due: float
    backoff: float = 0.0
    last: Condition | None = None


@dataclass
class Verifier:
    """Keeps each MailDomain's records and checks them when due; ``write`` is given the
    domain's key and its new condition whenever the condition changes."""

    settings: VerifySettings
    write: Callable[[tuple[str, str], Condition], Awaitable[None]]
    targets: dict[tuple[str, str], _Target] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task | None = None

    def want(self, key: tuple[str, str], records: list[dict]) -> None:
        target = self.targets.get(key)
        if target is None or target.records != records:
            self.targets[key] = _Target(records=records, due=time.monotonic())
            self._wake.set()

    def forget(self, key: tuple[str, str]) -> None:
        self.targets.pop(key, None)

    def start(self) -> None:
        if self.settings.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name="facteur-dns-verify")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        resolver = make_resolver(self.settings)
        limit = asyncio.Semaphore(CONCURRENCY)
        while True:
            now = time.monotonic()
            due = [k for k, t in self.targets.items() if t.due <= now]
            if due:
                await asyncio.gather(*(self._check(resolver, limit, k) for k in due))
                continue
            upcoming = min((t.due for t in self.targets.values()), default=now + 60)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.05, upcoming - now))

    async def _check(
        self, resolver: dns.asyncresolver.Resolver, limit: asyncio.Semaphore, key: tuple
    ) -> None:
        target = self.targets.get(key)
        if target is None:
            return
        async with limit:
            cond = await check(resolver, target.records)
        if self.targets.get(key) is not target:
            return  # its records changed meanwhile: checked again with the new ones
        if cond.status == TRUE:
            target.backoff = 0.0
            wait = self.settings.interval
        else:
            target.backoff = min(
                self.settings.interval, (target.backoff * 2) or self.settings.retry
            )
            wait = target.backoff
        # Jitter: domains added together are not all asked again in the same second.
        target.due = time.monotonic() + wait * random.uniform(0.9, 1.0)  # noqa: S311
        try:
            await self.write(key, cond)
            target.last = cond
        except Exception as exc:  # the status is written again at the next check
            log.warning("DNSVerified of %s/%s not written: %s", *key, exc)
