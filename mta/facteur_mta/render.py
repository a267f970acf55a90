"""Render the Postfix configuration of MTA-in from mta/in/*.tmpl.

``facteur-mta-config in --out DIR --set key=value ...``; a value not given with ``--set``
is read from ``FACTEUR_MTA_<KEY>`` (upper case) in the environment, then from the defaults
below. A required value that is missing stops the rendering with a non-zero exit that names
it: a Postfix started on a half-filled configuration would accept or lose mail silently.

Templates are ``string.Template`` files: ``${key}`` is a value, ``$$`` a literal ``$``
(Postfix's own ``$parameter`` references).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).resolve().parents[1]

# Values without a default: a deployment must say them.
REQUIRED = ("myhostname", "domains", "lmtp_target", "policy_service")

DEFAULTS: dict[str, str] = {
    # the public port: "smtp" is port 25 on every address of inet_interfaces
    "smtpd_listen": "smtp",
    "postscreen": "yes",
    "postscreen_dnsbl_sites": "",
    "inet_interfaces": "all",
    "inet_protocols": "all",
    "mynetworks": "127.0.0.0/8 [::1]/128",
    "message_size_limit": "52428800",
    "recipient_limit": "100",
    "policy_timeout": "10s",
    "tls_cert_file": "",
    "tls_key_file": "",
    "milters": "",
    "milter_default_action": "tempfail",
    "queue_directory": "/var/spool/postfix",
    "data_directory": "/var/lib/postfix",
    "mail_owner": "postfix",
    "setgid_group": "postdrop",
    "maillog_file": "/dev/stdout",
    "maillog_file_prefixes": "/var, /dev/stdout",
    "dns": "yes",
}

KEYS = frozenset(REQUIRED) | frozenset(DEFAULTS)

_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")
_LISTEN = re.compile(r"^(smtp|[0-9]{1,5}|(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5})$")
_NUMBER = re.compile(r"^[0-9]+$")
_DOMAIN = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_BOOLEAN = {"yes": True, "no": False, "true": True, "false": False, "1": True, "0": False}


class ConfigError(ValueError):
    """A value is missing or wrong; the message names it."""


def collect(overrides: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """``--set`` values, then ``FACTEUR_MTA_<KEY>``, then the defaults."""
    unknown = sorted(set(overrides) - KEYS)
    if unknown:
        raise ConfigError(
            f"unknown value(s): {', '.join(unknown)} (known: {', '.join(sorted(KEYS))})"
        )
    values: dict[str, str] = {}
    for key in sorted(KEYS):
        if key in overrides:
            values[key] = overrides[key]
        elif f"FACTEUR_MTA_{key.upper()}" in environ:
            values[key] = environ[f"FACTEUR_MTA_{key.upper()}"]
        elif key in DEFAULTS:
            values[key] = DEFAULTS[key]
    return {key: value.strip() for key, value in values.items()}


def _boolean(values: Mapping[str, str], key: str) -> bool:
    try:
        return _BOOLEAN[values[key].lower()]
    except KeyError:
        raise ConfigError(f"{key} must be yes or no, got {values[key]!r}") from None


def validate(values: Mapping[str, str]) -> None:
    missing = [key for key in REQUIRED if not values.get(key)]
    if missing:
        raise ConfigError(f"missing required value(s): {', '.join(missing)}")
    for key, value in values.items():
        # One value is one main.cf line: a newline would smuggle in other parameters.
        if "\n" in value or "\r" in value:
            raise ConfigError(f"{key} must be on one line")
    for key in ("lmtp_target", "policy_service"):
        if not _HOST_PORT.match(values[key]):
            raise ConfigError(f"{key} must be host:port, got {values[key]!r}")
    if not _LISTEN.match(values["smtpd_listen"]):
        raise ConfigError(
            f"smtpd_listen must be smtp, PORT or HOST:PORT, got {values['smtpd_listen']!r}"
        )
    for key in ("message_size_limit", "recipient_limit"):
        if not _NUMBER.match(values[key]):
            raise ConfigError(f"{key} must be a whole number, got {values[key]!r}")
    domains = domain_list(values["domains"])
    if not domains:
        raise ConfigError("missing required value(s): domains")
    for domain in domains:
        if not _DOMAIN.match(domain):
            raise ConfigError(f"domains: {domain!r} is not a domain name")
    if bool(values["tls_cert_file"]) != bool(values["tls_key_file"]):
        raise ConfigError("tls_cert_file and tls_key_file go together: set both or neither")
    for key in ("postscreen", "dns"):
        _boolean(values, key)


def domain_list(raw: str) -> list[str]:
    return [d.lower().rstrip(".") for d in re.split(r"[\s,]+", raw) if d]


def tls_settings(values: Mapping[str, str]) -> str:
    if not values["tls_cert_file"]:
        return "smtpd_tls_security_level = none"
    # STARTTLS offered, never required (RFC 3207: public MX); TLS 1.2 and later only.
    return "\n".join(
        [
            f"smtpd_tls_cert_file = {values['tls_cert_file']}",
            f"smtpd_tls_key_file = {values['tls_key_file']}",
            "smtpd_tls_security_level = may",
            "smtpd_tls_protocols = >=TLSv1.2",
            "smtpd_tls_mandatory_protocols = >=TLSv1.2",
            "smtpd_tls_ciphers = medium",
            "smtpd_tls_mandatory_ciphers = high",
            "tls_preempt_cipherlist = no",
            "smtpd_tls_received_header = yes",
            "smtpd_tls_loglevel = 1",
            # Inserted as a value, not parsed again: Postfix expands $data_directory itself.
            "smtpd_tls_session_cache_database = btree:$data_directory/smtpd_scache",
        ]
    )


def smtpd_services(values: Mapping[str, str]) -> str:
    listen = values["smtpd_listen"]
    if not _boolean(values, "postscreen"):
        return f"{listen:<10} inet  n       -       n       -       -       smtpd"
    # postscreen owns the public port and hands clean clients to smtpd through "pass".
    return "\n".join(
        [
            f"{listen:<10} inet  n       -       n       -       1       postscreen",
            "smtpd      pass  -       -       n       -       -       smtpd",
            "dnsblog    unix  -       -       n       -       0       dnsblog",
            "tlsproxy   unix  -       -       n       -       0       tlsproxy",
        ]
    )


def render_in(values: Mapping[str, str], templates: Path = TEMPLATES / "in") -> dict[str, str]:
    """main.cf and master.cf of MTA-in, as text."""
    validate(values)
    dns = _boolean(values, "dns")
    context = {
        **values,
        "domains": ", ".join(domain_list(values["domains"])),
        "disable_dns_lookups": "no" if dns else "yes",
        "smtp_dns_support_level": "enabled" if dns else "disabled",
        "tls_settings": tls_settings(values),
        "smtpd_services": smtpd_services(values),
    }
    rendered = {}
    for name in ("main.cf", "master.cf"):
        template = Template((templates / f"{name}.tmpl").read_text())
        try:
            rendered[name] = template.substitute(context)
        except KeyError as exc:
            raise ConfigError(f"template {name} uses {exc.args[0]!r}, which has no value") from exc
    return rendered


def write(rendered: Mapping[str, str], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        (out / name).write_text(text)


def _parse_set(items: list[str]) -> dict[str, str]:
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set takes key=value, got {item!r}")
        overrides[key.strip()] = value
    return overrides


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="facteur-mta-config", description="Render Facteur's Postfix configuration."
    )
    parser.add_argument("role", choices=["in"], help="which MTA (mta-out has its own renderer)")
    parser.add_argument("--out", type=Path, required=True, help="directory for main.cf, master.cf")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--templates", type=Path, default=None, help="template directory")
    args = parser.parse_args(argv)
    try:
        values = collect(_parse_set(args.set), os.environ)
        rendered = render_in(values, args.templates or TEMPLATES / args.role)
    except ConfigError as exc:
        print(f"facteur-mta-config: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    write(rendered, args.out)


if __name__ == "__main__":
    main()
