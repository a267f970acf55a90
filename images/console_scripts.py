"""Write the project's console scripts ([project.scripts] in pyproject.toml) into a bin/.

The images put the sources on PYTHONPATH instead of building a wheel (which would need
setuptools outside the lock); this gives them facteur-admin, facteur-policy, ... all the
same, each a short launcher of its entry point.

    python images/console_scripts.py pyproject.toml BIN_DIR [--python PATH] [NAME ...]

``--python``: the interpreter of the launchers (default: BIN_DIR/python, a venv's);
names: only these scripts (default: every one).
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path


def launchers(pyproject: str, python: str, names: list[str] | None = None) -> dict[str, str]:
    scripts = tomllib.loads(pyproject)["project"]["scripts"]
    unknown = sorted(set(names or []) - set(scripts))
    if unknown:
        raise SystemExit(f"console_scripts: not in [project.scripts]: {', '.join(unknown)}")
    result = {}
    for name, target in scripts.items():
        if names and name not in names:
            continue
        module, _, function = target.partition(":")
        result[name] = (
            f"#!{python}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n"
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="console_scripts")
    parser.add_argument("pyproject", type=Path)
    parser.add_argument("bin_dir", type=Path)
    parser.add_argument("--python", default=None)
    parser.add_argument("names", nargs="*")
    args = parser.parse_intermixed_args()
    python = args.python or str(args.bin_dir / "python")
    for name, text in launchers(args.pyproject.read_text(), python, args.names).items():
        path = args.bin_dir / name
        path.write_text(text)
        path.chmod(0o755)


if __name__ == "__main__":
    main()
