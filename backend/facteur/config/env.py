"""Strict parsers for settings read from the environment.

Every value may also come from a file named by ``<NAME>_FILE`` (how Kubernetes
mounts Secrets); a bad value stops the process at start-up with the variable's
name rather than misbehaving later.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path


class ImproperlyConfiguredEnv(RuntimeError):
    pass


_MISSING = object()


def is_set(name: str) -> bool:
    """Whether ``name`` is given, directly or by a ``<NAME>_FILE``."""
    return bool(os.environ.get(name) or os.environ.get(f"{name}_FILE"))


def raw(name: str, default: object = _MISSING) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfiguredEnv(f"{name}_FILE={file_path}: {exc.strerror}") from exc
    value = os.environ.get(name)
    if value is None or value == "":
        if default is _MISSING:
            raise ImproperlyConfiguredEnv(f"{name} must be set")
        return default  # type: ignore[return-value]
    return value


def string(name: str, default: str | object | None = _MISSING) -> str:
    return raw(name, default)  # type: ignore[return-value]


def boolean(name: str, default: bool) -> bool:
    value = raw(name, None)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfiguredEnv(f"{name}={value!r} is not a boolean (true/false)")


def integer(name: str, default: int, *, minimum: int | None = None) -> int:
    value = raw(name, None)
    if value is None:
        return default
    try:
        parsed = int(value)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={value!r} is not an integer") from None
    if minimum is not None and parsed < minimum:
        raise ImproperlyConfiguredEnv(f"{name}={parsed} is below {minimum}")
    return parsed


def string_list(name: str, default: list[str]) -> list[str]:
    value = raw(name, None)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = string(name, default)
    if value not in choices:
        raise ImproperlyConfiguredEnv(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def socket_addresses(name: str, *, default_port: int) -> list[tuple[str, int]]:
    """Comma-separated IP addresses, each with an optional port: ``192.0.2.1``,
    ``192.0.2.1:5353``, ``2001:db8::1``, ``[2001:db8::1]:5353``. Empty: none."""
    parsed = []
    for item in string_list(name, []):
        host, port = item, default_port
        if item.startswith("["):  # [IPv6]:port
            host, _, rest = item[1:].partition("]")
            if rest:
                if not rest.startswith(":"):
                    raise ImproperlyConfiguredEnv(f"{name}: {item!r} is not ip or ip:port")
                port = _port(name, item, rest[1:])
        elif item.count(":") == 1:  # IPv4:port (a bare IPv6 address has several colons)
            host, port_text = item.split(":")
            port = _port(name, item, port_text)
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            raise ImproperlyConfiguredEnv(f"{name}: {item!r} is not an IP address") from None
        parsed.append((host, port))
    return parsed


def _port(name: str, item: str, text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ImproperlyConfiguredEnv(f"{name}: {item!r} has no valid port (1-65535)")
    return int(text)
