"""A MailDomain's or Mailbox's spec, read with the CRD's defaults applied.

The apiserver applies the CRD's defaults and validation; they are applied and checked again
here because an operator must not trust what it reads (an older CRD, an emulator that
validates nothing): an invalid spec is an ``InvalidSpec`` with a clear message, never a
crash. The patterns are the CRD's (a test keeps them equal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

HOSTNAME = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
LOCAL_PART = r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$"
EMAIL = (
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
)
SPF_INCLUDE = r"^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
SELECTOR_PREFIX = r"^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$"
PERIOD = r"^[1-9][0-9]{0,4}[hdw]$"

DKIM_ALGORITHMS = ("rsa-2048", "rsa-4096", "ed25519")
SPF_POLICIES = ("fail", "softfail", "neutral")
DMARC_POLICIES = ("none", "quarantine", "reject")
MTA_STS_MODES = ("enforce", "testing", "none")
DELETION_POLICIES = ("Retain", "Delete")
MAILBOX_TYPES = ("personal", "shared")
ROLES = ("viewer", "editor", "sender", "admin")

# The CRD's defaults (crds/*.yaml), field path -> value.
DEFAULTS = {
    "MailDomain": {
        "mx[].priority": 10,
        "dkim": {},
        "dkim.selectorPrefix": "facteur",
        "dkim.algorithm": "rsa-2048",
        "dkim.rotationPeriod": "180d",
        "spf": {},
        "spf.policy": "fail",
        "dmarc": {},
        "dmarc.policy": "quarantine",
        "dmarc.pct": 100,
        "mtaSts.mode": "testing",
        "mtaSts.maxAge": 604800,
        "deletionPolicy": "Retain",
    },
    "Mailbox": {"type": "personal", "deletionPolicy": "Retain"},
}


class InvalidSpec(ValueError):
    """The resource cannot be reconciled as written; the message says which field and why."""


@dataclass(frozen=True)
class DomainSpec:
    domain: str
    mx: tuple[tuple[str, int], ...]  # empty: the operator's default MX host
    dkim_prefix: str
    dkim_algorithm: str
    dkim_rotation: timedelta
    spf_policy: str
    spf_includes: tuple[str, ...]
    dmarc_policy: str
    dmarc_rua: tuple[str, ...]
    dmarc_ruf: tuple[str, ...]
    dmarc_pct: int
    mta_sts: tuple[str, int] | None  # (mode, max age)
    tls_rpt: tuple[str, ...] | None
    admins: tuple[str, ...]
    deletion_policy: str


@dataclass(frozen=True)
class MailboxSpec:
    domain_ref: str
    local_part: str
    display_name: str
    type: str
    aliases: tuple[str, ...]
    access: tuple[tuple[str, str], ...]  # (user e-mail, role)
    deletion_policy: str


def _obj(spec: dict[str, Any], field: str) -> dict[str, Any]:
    value = spec.get(field) or {}
    if not isinstance(value, dict):
        raise InvalidSpec(f"spec.{field} must be an object.")
    return value


def _str(value: Any, field: str, pattern: str | None = None, choices=None, max_len=253) -> str:
    if not isinstance(value, str):
        raise InvalidSpec(f"spec.{field} must be a string.")
    if choices is not None and value not in choices:
        raise InvalidSpec(f"spec.{field} must be one of {', '.join(choices)} (not {value!r}).")
    if pattern is not None and (len(value) > max_len or not re.match(pattern, value)):
        raise InvalidSpec(f"spec.{field}: {value!r} is not valid.")
    return value


def _int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidSpec(f"spec.{field} must be a whole number from {low} to {high}.")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidSpec(f"spec.{field} must be a list.")
    return value


def _period(value: str) -> timedelta:
    unit = {"h": "hours", "d": "days", "w": "weeks"}[value[-1]]
    return timedelta(**{unit: int(value[:-1])})


def _reports(values: list[Any], field: str, https: bool = False) -> tuple[str, ...]:
    out = []
    for i, v in enumerate(values):
        ok = isinstance(v, str) and (
            re.match(r"^mailto:[^@,;\s]+@[^@,;\s]+$", v)
            or (https and re.match(r"^https://[^,;\s]+$", v))
        )
        if not ok:
            raise InvalidSpec(f"spec.{field}[{i}]: {v!r} is not a mailto: URI.")
        out.append(v)
    return tuple(out)


def domain_spec(spec: dict[str, Any]) -> DomainSpec:
    if not isinstance(spec, dict):
        raise InvalidSpec("spec must be an object.")
    domain = _str(spec.get("domain"), "domain", HOSTNAME)
    mx = []
    for i, item in enumerate(_list(spec.get("mx"), "mx")):
        if not isinstance(item, dict):
            raise InvalidSpec(f"spec.mx[{i}] must be an object.")
        host = _str(item.get("host"), f"mx[{i}].host", HOSTNAME)
        mx.append((host, _int(item.get("priority", 10), f"mx[{i}].priority", 0, 65535)))
    dkim, spf, dmarc = _obj(spec, "dkim"), _obj(spec, "spf"), _obj(spec, "dmarc")
    rotation = _str(dkim.get("rotationPeriod", "180d"), "dkim.rotationPeriod", PERIOD)
    mta_sts = None
    if spec.get("mtaSts") is not None:
        sts = _obj(spec, "mtaSts")
        mta_sts = (
            _str(sts.get("mode", "testing"), "mtaSts.mode", choices=MTA_STS_MODES),
            _int(sts.get("maxAge", 604800), "mtaSts.maxAge", 86400, 31557600),
        )
    tls_rpt = None
    if spec.get("tlsRpt") is not None:
        rua = _list(_obj(spec, "tlsRpt").get("rua"), "tlsRpt.rua")
        if not rua:
            raise InvalidSpec("spec.tlsRpt.rua needs at least one address.")
        tls_rpt = _reports(rua, "tlsRpt.rua", https=True)
    return DomainSpec(
        domain=domain,
        mx=tuple(mx),
        dkim_prefix=_str(
            dkim.get("selectorPrefix", "facteur"), "dkim.selectorPrefix", SELECTOR_PREFIX
        ),
        dkim_algorithm=_str(
            dkim.get("algorithm", "rsa-2048"), "dkim.algorithm", choices=DKIM_ALGORITHMS
        ),
        dkim_rotation=_period(rotation),
        spf_policy=_str(spf.get("policy", "fail"), "spf.policy", choices=SPF_POLICIES),
        spf_includes=tuple(
            _str(v, f"spf.includes[{i}]", SPF_INCLUDE)
            for i, v in enumerate(_list(spf.get("includes"), "spf.includes"))
        ),
        dmarc_policy=_str(
            dmarc.get("policy", "quarantine"), "dmarc.policy", choices=DMARC_POLICIES
        ),
        dmarc_rua=_reports(_list(dmarc.get("rua"), "dmarc.rua"), "dmarc.rua"),
        dmarc_ruf=_reports(_list(dmarc.get("ruf"), "dmarc.ruf"), "dmarc.ruf"),
        dmarc_pct=_int(dmarc.get("pct", 100), "dmarc.pct", 0, 100),
        mta_sts=mta_sts,
        tls_rpt=tls_rpt,
        admins=tuple(
            _str(v, f"admins[{i}]", EMAIL).lower()
            for i, v in enumerate(_list(spec.get("admins"), "admins"))
        ),
        deletion_policy=_str(
            spec.get("deletionPolicy", "Retain"), "deletionPolicy", choices=DELETION_POLICIES
        ),
    )


def mailbox_spec(spec: dict[str, Any]) -> MailboxSpec:
    if not isinstance(spec, dict):
        raise InvalidSpec("spec must be an object.")
    ref = _obj(spec, "domainRef")
    if not ref.get("name"):
        raise InvalidSpec("spec.domainRef.name names the MailDomain; it is missing.")
    access = []
    for i, grant in enumerate(_list(spec.get("access"), "access")):
        if not isinstance(grant, dict):
            raise InvalidSpec(f"spec.access[{i}] must be an object.")
        access.append(
            (
                _str(grant.get("user"), f"access[{i}].user", EMAIL).lower(),
                _str(grant.get("role"), f"access[{i}].role", choices=ROLES),
            )
        )
    local = _str(spec.get("localPart"), "localPart", LOCAL_PART, max_len=64)
    aliases = tuple(
        _str(v, f"aliases[{i}]", LOCAL_PART, max_len=64)
        for i, v in enumerate(_list(spec.get("aliases"), "aliases"))
    )
    if local in aliases:
        raise InvalidSpec(f"spec.aliases: {local!r} is the mailbox's own local part.")
    display = spec.get("displayName", "")
    return MailboxSpec(
        domain_ref=_str(ref["name"], "domainRef.name"),
        local_part=local,
        display_name=_str(display, "displayName", max_len=200),
        type=_str(spec.get("type", "personal"), "type", choices=MAILBOX_TYPES),
        aliases=aliases,
        access=tuple(access),
        deletion_policy=_str(
            spec.get("deletionPolicy", "Retain"), "deletionPolicy", choices=DELETION_POLICIES
        ),
    )
