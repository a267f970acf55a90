"""Strict parsers for settings read from the environment.

Every value may also come from a file named by ``<NAME>_FILE`` (how Kubernetes
mounts Secrets); a bad value stops the process at start-up with the variable's
name rather than misbehaving later.
"""

from __future__ import annotations

import os
from pathlib import Path


class ImproperlyConfiguredEnv(RuntimeError):
    pass


_MISSING = object()


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
