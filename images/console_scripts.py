"""Write the project's console scripts ([project.scripts] in pyproject.toml) into a venv's bin/.

The images put the sources on PYTHONPATH instead of building a wheel (which would need
setuptools outside the lock); this gives them facteur-admin, facteur-delivery, ... all the
same, each a two-line launcher of its entry point.

    python images/console_scripts.py pyproject.toml /opt/facteur/bin
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def launchers(pyproject: str, python: str) -> dict[str, str]:
    scripts = tomllib.loads(pyproject)["project"]["scripts"]
    result = {}
    for name, target in scripts.items():
        module, _, function = target.partition(":")
        result[name] = (
            f"#!{python}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n"
        )
    return result


def main() -> None:
    pyproject, bin_dir = Path(sys.argv[1]), Path(sys.argv[2])
    for name, text in launchers(pyproject.read_text(), str(bin_dir / "python")).items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)


if __name__ == "__main__":
    main()
