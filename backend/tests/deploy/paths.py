"""Where the deployment files and the tools that check them are (scripts/peers fetches helm)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]
IMAGES = ROOT / "images"
CHART = ROOT / "charts" / "facteur"
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A tool's path: var/tools/bin (helm, kubectl), the venv (hadolint), then PATH."""
    for candidate in (ROOT / "var" / "tools" / "bin" / name, VENV_BIN / name):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: run scripts/bootstrap and scripts/peers")
    return found


def load_script(path: Path) -> ModuleType:
    """Import a script that lives outside the packages (images/, scripts/)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
