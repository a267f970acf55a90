"""Render the Postfix configuration of MTA-in (mta/in/) or MTA-out (mta/out/).

``facteur-mta-config {in,out} --out DIR --set key=value ...``; a value not given with
``--set`` is read from ``FACTEUR_MTA_<KEY>`` (upper case) in the environment, then from the
role's defaults. A required value that is missing stops the rendering with exit status 2 that
names it, and nothing is written: a Postfix started on a half-filled configuration would
accept or lose mail silently.

Templates are ``string.Template`` files: ``${key}`` is a value, ``$$`` a literal ``$``
(Postfix's own ``$parameter`` references). Each role renders the files in its ``files``
list from ``<role>/<file>.tmpl``.

MTA-out also takes ``--sasl-password-file FILE`` (a mounted Secret): the password of the
backend's SASL login, written into the sasldb by ``saslpasswd2``; see ``sasldb.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template

from facteur_mta import sasldb

TEMPLATES = Path(__file__).resolve().parents[1]

# The instance's own directories and logs: the same for both roles.
_INSTANCE_DEFAULTS: dict[str, str] = {
    "inet_interfaces": "all",
    "inet_protocols": "all",
    "message_size_limit": "52428800",
    "tls_cert_file": "",
    "tls_key_file": "",
    "queue_directory": "/var/spool/postfix",
    "data_directory": "/var/lib/postfix",
    "mail_owner": "postfix",
    "setgid_group": "postdrop",
    "maillog_file": "/dev/stdout",
    "maillog_file_prefixes": "/var, /dev/stdout",
    "dns": "yes",
}

# --- MTA-in ---------------------------------------------------------------------------------
# Values without a default: a deployment must say them.
REQUIRED = ("myhostname", "domains", "lmtp_target", "policy_service")

DEFAULTS: dict[str, str] = {
    **_INSTANCE_DEFAULTS,
    # the public port: "smtp" is port 25 on every address of inet_interfaces
    "smtpd_listen": "smtp",
    "postscreen": "yes",
    "postscreen_dnsbl_sites": "",
    # yes: a load balancer in front speaks the PROXY protocol (v1 or v2) on the public port
    "proxy_protocol": "no",
    "mynetworks": "127.0.0.0/8 [::1]/128",
    "recipient_limit": "100",
    "policy_timeout": "10s",
    "milters": "",
    "milter_default_action": "tempfail",
}

KEYS = frozenset(REQUIRED) | frozenset(DEFAULTS)

# --- MTA-out --------------------------------------------------------------------------------
OUT_REQUIRED = ("myhostname", "domains", "lmtp_target")

OUT_DEFAULTS: dict[str, str] = {
    **_INSTANCE_DEFAULTS,
    # the backend's submission port: "submission" is 587 on every address of inet_interfaces
    "submission_listen": "submission",
    # one transaction carries every remote recipient of a message (FACTEUR_MAX_RECIPIENTS)
    "recipient_limit": "1000",
    # the backend lets attachments fill FACTEUR_MAX_MESSAGE_SIZE (50 MiB); base64 makes
    # them a third larger on the wire
    "message_size_limit": "73400320",
    "sasl_username": "facteur",
    "sasldb_path": "/etc/postfix/sasl/sasldb2",
    # empty: deliver to each domain's MX; else a smarthost, e.g. [smtp.example.net]:587
    "relayhost": "",
    # a Postfix texthash file (mounted Secret): "[smtp.example.net]:587 user:password"
    "relayhost_password_map": "",
    "smtp_tls_security_level": "may",
    "smtp_tls_ca_file": "",
    "maximal_queue_lifetime": "5d",
    "bounce_queue_lifetime": "5d",
    "queue_run_delay": "300s",
    "minimal_backoff_time": "300s",
    "maximal_backoff_time": "4000s",
}

OUT_KEYS = frozenset(OUT_REQUIRED) | frozenset(OUT_DEFAULTS)

_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")
_NUMBER = re.compile(r"^[0-9]+$")
_DURATION = re.compile(r"^[0-9]+[smhdw]?$")
_DOMAIN = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
# relayhost: host, [host], host:port or [host]:port (brackets: no MX lookup)
_RELAYHOST = re.compile(r"^(\[[A-Za-z0-9.:-]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$")
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_BOOLEAN = {"yes": True, "no": False, "true": True, "false": False, "1": True, "0": False}
_SMTP_TLS_LEVELS = ("none", "may", "encrypt", "verify", "secure")
_PATHS = (
    "tls_cert_file",
    "tls_key_file",
    "sasldb_path",
    "relayhost_password_map",
    "smtp_tls_ca_file",
)
_DURATIONS = (
    "maximal_queue_lifetime",
    "bounce_queue_lifetime",
    "queue_run_delay",
    "minimal_backoff_time",
    "maximal_backoff_time",
)


class ConfigError(ValueError):
    """A value is missing or wrong; the message names it."""


# --- validation shared by the roles -------------------------------------------------------
def _boolean(values: Mapping[str, str], key: str) -> bool:
    try:
        return _BOOLEAN[values[key].lower()]
    except KeyError:
        raise ConfigError(f"{key} must be yes or no, got {values[key]!r}") from None


def _listen(values: Mapping[str, str], key: str, service: str) -> None:
    pattern = rf"^({service}|[0-9]{{1,5}}|(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{{1,5}})$"
    if not re.match(pattern, values[key]):
        raise ConfigError(f"{key} must be {service}, PORT or HOST:PORT, got {values[key]!r}")


def _path(values: Mapping[str, str], key: str) -> None:
    """An absolute path without blanks (a main.cf value), or empty."""
    value = values[key]
    if value and (not value.startswith("/") or re.search(r"[\s,]", value)):
        raise ConfigError(f"{key} must be an absolute path without blanks, got {value!r}")


def _validate_common(values: Mapping[str, str], required: tuple[str, ...]) -> None:
    missing = [key for key in required if not values.get(key)]
    if missing:
        raise ConfigError(f"missing required value(s): {', '.join(missing)}")
    for key, value in values.items():
        # One value is one main.cf line: a newline would smuggle in other parameters.
        if "\n" in value or "\r" in value:
            raise ConfigError(f"{key} must be on one line")
    if not _HOST_PORT.match(values["lmtp_target"]):
        raise ConfigError(f"lmtp_target must be host:port, got {values['lmtp_target']!r}")
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
    _boolean(values, "dns")


def validate(values: Mapping[str, str]) -> None:
    """MTA-in's values."""
    _validate_common(values, REQUIRED)
    if not _HOST_PORT.match(values["policy_service"]):
        raise ConfigError(f"policy_service must be host:port, got {values['policy_service']!r}")
    _listen(values, "smtpd_listen", "smtp")
    _boolean(values, "postscreen")
    _boolean(values, "proxy_protocol")


def validate_out(values: Mapping[str, str]) -> None:
    """MTA-out's values."""
    _validate_common(values, OUT_REQUIRED)
    _listen(values, "submission_listen", "submission")
    for key in _PATHS:
        _path(values, key)
    if not values["sasldb_path"]:
        raise ConfigError("missing required value(s): sasldb_path")
    if not _USERNAME.match(values["sasl_username"]):
        raise ConfigError(
            "sasl_username must be letters, digits, '.', '_' or '-', "
            f"got {values['sasl_username']!r}"
        )
    if values["relayhost"] and not _RELAYHOST.match(values["relayhost"]):
        raise ConfigError(
            f"relayhost must be HOST, [HOST], HOST:PORT or [HOST]:PORT, got {values['relayhost']!r}"
        )
    if values["relayhost_password_map"] and not values["relayhost"]:
        raise ConfigError("relayhost_password_map needs a relayhost")
    if values["smtp_tls_security_level"] not in _SMTP_TLS_LEVELS:
        raise ConfigError(
            f"smtp_tls_security_level must be one of {', '.join(_SMTP_TLS_LEVELS)}, "
            f"got {values['smtp_tls_security_level']!r}"
        )
    for key in _DURATIONS:
        if not _DURATION.match(values[key]):
            raise ConfigError(
                f"{key} must be a duration such as 300s, 4h or 5d, got {values[key]!r}"
            )


def domain_list(raw: str) -> list[str]:
    return [d.lower().rstrip(".") for d in re.split(r"[\s,]+", raw) if d]


def _dns_context(values: Mapping[str, str]) -> dict[str, str]:
    dns = _boolean(values, "dns")
    return {
        "disable_dns_lookups": "no" if dns else "yes",
        "smtp_dns_support_level": "enabled" if dns else "disabled",
    }


# --- MTA-in's generated parts ---------------------------------------------------------------
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


def proxy_settings(values: Mapping[str, str]) -> str:
    """The PROXY protocol on the public port, read by whoever owns it: postscreen, or smtpd
    when postscreen is off. smtpd behind postscreen's "pass" gets the client's address from
    postscreen and must not expect the header again."""
    if not _boolean(values, "proxy_protocol"):
        return "# none: clients connect directly (their address is the connection's)"
    owner = "postscreen" if _boolean(values, "postscreen") else "smtpd"
    # "haproxy" reads version 1 and 2 headers; a connection without one is refused.
    return f"{owner}_upstream_proxy_protocol = haproxy"


def _in_context(values: Mapping[str, str]) -> dict[str, str]:
    return {
        "domains": ", ".join(domain_list(values["domains"])),
        **_dns_context(values),
        "tls_settings": tls_settings(values),
        "smtpd_services": smtpd_services(values),
        "proxy_settings": proxy_settings(values),
    }


# --- MTA-out's generated parts --------------------------------------------------------------
def out_tls_settings(values: Mapping[str, str]) -> str:
    if not values["tls_cert_file"]:
        # Without a certificate AUTH goes over plain text: only on a private network.
        return "smtpd_tls_security_level = none"
    return "\n".join(
        [
            f"smtpd_tls_cert_file = {values['tls_cert_file']}",
            f"smtpd_tls_key_file = {values['tls_key_file']}",
            "smtpd_tls_security_level = may",
            # The password never crosses the wire in clear: AUTH is offered after STARTTLS only.
            "smtpd_tls_auth_only = yes",
            "smtpd_tls_protocols = >=TLSv1.2",
            "smtpd_tls_mandatory_protocols = >=TLSv1.2",
            "smtpd_tls_loglevel = 1",
            "smtpd_tls_session_cache_database = btree:$data_directory/smtpd_scache",
        ]
    )


def smtp_client_settings(values: Mapping[str, str]) -> str:
    lines = [
        f"relayhost = {values['relayhost']}",
        f"smtp_tls_security_level = {values['smtp_tls_security_level']}",
        "smtp_tls_loglevel = 1",
        "smtp_tls_session_cache_database = btree:$data_directory/smtp_scache",
    ]
    if values["smtp_tls_ca_file"]:
        lines.append(f"smtp_tls_CAfile = {values['smtp_tls_ca_file']}")
    if values["relayhost_password_map"]:
        lines += [
            "smtp_sasl_auth_enable = yes",
            # Read by Postfix as is (no postmap): the password stays in the mounted Secret.
            f"smtp_sasl_password_maps = texthash:{values['relayhost_password_map']}",
            # PLAIN and LOGIN (what smarthosts offer) only inside TLS.
            "smtp_sasl_security_options = noanonymous, noplaintext",
            "smtp_sasl_tls_security_options = noanonymous",
        ]
    return "\n".join(lines)


def _out_context(values: Mapping[str, str]) -> dict[str, str]:
    domains = domain_list(values["domains"])
    # Our domains go to the delivery service: Postfix's bounces (DSNs) reach the sender's
    # mailbox. inline: tables need no file; values hold no comma or blank.
    transport = ", ".join(f"{d}=lmtp:inet:{values['lmtp_target']}" for d in domains)
    return {
        "first_domain": domains[0],
        "transport_maps": f"inline:{{ {transport} }}",
        **_dns_context(values),
        "tls_settings": out_tls_settings(values),
        "smtp_client_settings": smtp_client_settings(values),
    }


# --- the roles ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Role:
    name: str
    required: tuple[str, ...]
    defaults: Mapping[str, str]
    validate: Callable[[Mapping[str, str]], None]
    context: Callable[[Mapping[str, str]], dict[str, str]]
    files: tuple[str, ...]  # rendered from <templates>/<file>.tmpl

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self.required) | frozenset(self.defaults)


ROLES = {
    "in": Role("in", REQUIRED, DEFAULTS, validate, _in_context, ("main.cf", "master.cf")),
    "out": Role(
        "out",
        OUT_REQUIRED,
        OUT_DEFAULTS,
        validate_out,
        _out_context,
        ("main.cf", "master.cf", "sasl/smtpd.conf", "smtp_header_checks"),
    ),
}


def collect(
    overrides: Mapping[str, str], environ: Mapping[str, str], role: str = "in"
) -> dict[str, str]:
    """``--set`` values, then ``FACTEUR_MTA_<KEY>``, then the role's defaults."""
    spec = ROLES[role]
    unknown = sorted(set(overrides) - spec.keys)
    if unknown:
        raise ConfigError(
            f"unknown value(s): {', '.join(unknown)} (known: {', '.join(sorted(spec.keys))})"
        )
    values: dict[str, str] = {}
    for key in sorted(spec.keys):
        if key in overrides:
            values[key] = overrides[key]
        elif f"FACTEUR_MTA_{key.upper()}" in environ:
            values[key] = environ[f"FACTEUR_MTA_{key.upper()}"]
        elif key in spec.defaults:
            values[key] = spec.defaults[key]
    return {key: value.strip() for key, value in values.items()}


def render(role: str, values: Mapping[str, str], templates: Path | None = None) -> dict[str, str]:
    """The role's files (relative path -> text); ConfigError naming the first bad value."""
    spec = ROLES[role]
    spec.validate(values)
    context = {**values, **spec.context(values)}
    folder = templates or TEMPLATES / role
    rendered = {}
    for name in spec.files:
        template = Template((folder / f"{name}.tmpl").read_text())
        try:
            rendered[name] = template.substitute(context)
        except KeyError as exc:
            raise ConfigError(f"template {name} uses {exc.args[0]!r}, which has no value") from exc
    return rendered


def render_in(values: Mapping[str, str], templates: Path = TEMPLATES / "in") -> dict[str, str]:
    """main.cf and master.cf of MTA-in, as text."""
    return render("in", values, templates)


def render_out(values: Mapping[str, str], templates: Path = TEMPLATES / "out") -> dict[str, str]:
    """main.cf, master.cf, sasl/smtpd.conf and smtp_header_checks of MTA-out, as text."""
    return render("out", values, templates)


def write(rendered: Mapping[str, str], out: Path) -> None:
    for name, text in rendered.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


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
    parser.add_argument("role", choices=sorted(ROLES), help="in: MTA-in; out: MTA-out")
    parser.add_argument("--out", type=Path, required=True, help="directory for the files")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--templates", type=Path, default=None, help="template directory")
    parser.add_argument(
        "--sasl-password-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="out only: (re)create the sasldb at sasldb_path with sasl_username and the "
        "password in FILE (e.g. a mounted Secret)",
    )
    args = parser.parse_args(argv)
    try:
        if args.sasl_password_file and args.role != "out":
            raise ConfigError("--sasl-password-file is for the out role")
        values = collect(_parse_set(args.set), os.environ, args.role)
        rendered = render(args.role, values, args.templates)
        staged = None
        if args.sasl_password_file:
            # Built aside first: a bad password file or a failing saslpasswd2 writes nothing.
            staged = sasldb.stage(
                password_file=args.sasl_password_file,
                path=Path(values["sasldb_path"]),
                username=values["sasl_username"],
                realm=values["myhostname"],
                owner=values["mail_owner"],
            )
    except (ConfigError, sasldb.SasldbError) as exc:
        print(f"facteur-mta-config: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    try:
        write(rendered, args.out)
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    if staged is not None:
        sasldb.install(staged, Path(values["sasldb_path"]))


if __name__ == "__main__":
    main()
