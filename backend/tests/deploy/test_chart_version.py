"""How the chart's version and appVersion move (docs/operations.md#chart-versions).

``version`` is the next chart release's; releasing it adds ``ci/compat/<version>-values.yaml``
(the values of that release, which every later version must render). From the commit that
added the newest such file, any change to what the chart packages (its files and the CRDs and
RBAC it links to) needs a version above it. ``appVersion`` is the application's version: the
images' default tag, which is the one scripts/images gives them (pyproject.toml)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib

import pytest
import yaml

from tests.deploy.paths import CHART, ROOT

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$")
COMPAT = CHART / "ci" / "compat"
# What the packaged chart holds, in the repository: the chart (but ci/, left out of the
# package) and the files its links point at.
PACKAGED = ("charts/facteur", "crds", "operator/deploy/rbac.yaml")


def chart() -> dict:
    return yaml.safe_load((CHART / "Chart.yaml").read_text())


def semver(text: str) -> tuple[int, int, int]:
    match = SEMVER.match(text)
    assert match, f"{text} is not a SemVer version"
    return int(match[1]), int(match[2]), int(match[3])


def compat_versions() -> list[str]:
    return sorted(
        (path.name.removesuffix("-values.yaml") for path in COMPAT.glob("*-values.yaml")),
        key=semver,
    )


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def test_versions_are_semver_and_compat_files_are_released_versions() -> None:
    current = semver(str(chart()["version"]))
    semver(str(chart()["appVersion"]))
    assert compat_versions(), "ci/compat/ holds no values file"
    for version in compat_versions():
        assert semver(version) <= current, f"ci/compat/{version} is newer than the chart"


def test_app_version_is_the_tag_the_images_are_built_with() -> None:
    """A default install pulls <registry>/<image>:appVersion: scripts/images tags with
    pyproject.toml's version unless TAG says otherwise."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert chart()["appVersion"] == project["version"]
    assert "pyproject.toml" in (ROOT / "scripts" / "images").read_text()


def changed_since(commit: str) -> list[str]:
    changed = git("diff", "--name-only", commit, "--", *PACKAGED).split()
    changed += git("ls-files", "--others", "--exclude-standard", "--", *PACKAGED).split()
    return sorted(path for path in set(changed) if not path.startswith("charts/facteur/ci/"))


def test_a_changed_chart_has_a_version_above_the_last_release() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git history (a checkout, not an archive)")
    released = compat_versions()[-1]
    path = f"charts/facteur/ci/compat/{released}-values.yaml"
    added = git("log", "--diff-filter=A", "--format=%H", "-1", "--", path).strip()
    if not added:
        pytest.skip(f"{path} is not committed yet")
    changed = changed_since(added)
    if changed:
        assert semver(str(chart()["version"])) > semver(released), (
            f"the chart changed since {released} was released ({', '.join(changed[:5])}...): "
            f"bump version in charts/facteur/Chart.yaml above {released}"
        )
