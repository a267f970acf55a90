"""kind-config.yaml and the Tiltfile cannot run here (no container engine): the Tiltfile
parses as Starlark (a Python subset), names files that exist and the workloads the chart
makes; the kind cluster maps the ports the docs promise."""

from __future__ import annotations

import ast
import re

import yaml

from tests.deploy.chart import CHART, helm
from tests.deploy.paths import ROOT

TILTFILE = (ROOT / "Tiltfile").read_text()


def test_tiltfile_parses_as_starlark() -> None:
    tree = ast.parse(TILTFILE, filename="Tiltfile")
    # Starlark has no imports, classes, while loops, try or with.
    forbidden = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.While, ast.Try, ast.With)
    assert not [node for node in ast.walk(tree) if isinstance(node, forbidden)]


def test_tiltfile_names_existing_files() -> None:
    paths = set(re.findall(r'"((?:images|charts|docs)/[^"%]+)"', TILTFILE))
    assert "charts/facteur/ci/all-in-one-values.yaml" in paths
    assert {"images/python/Dockerfile", "images/frontend/Dockerfile"} <= paths
    missing = sorted(path for path in paths if not (ROOT / path).exists())
    assert not missing


def test_tiltfile_builds_the_python_images_as_targets() -> None:
    dockerfile = (ROOT / "images" / "python" / "Dockerfile").read_text()
    (targets,) = re.findall(r"for name in \[([^\]]+)\]:\s+docker_build\(", TILTFILE)
    for name in re.findall(r'"(\w+)"', targets):
        assert f" AS {name}\n" in dockerfile, name
    assert "target=name" in TILTFILE


def test_tiltfile_resources_are_the_charts_workloads() -> None:
    named = set(re.findall(r'k8s_resource\(\s*"([a-z-]+[a-z])"', TILTFILE))
    named |= {
        f"facteur-{n}" for n in re.findall(r'"(worker|beat|delivery|postgresql|redis)"', TILTFILE)
    }
    result = helm(
        "template", "facteur", str(CHART), "--values", str(CHART / "ci" / "all-in-one-values.yaml")
    )
    workloads = {
        doc["metadata"]["name"]
        for doc in yaml.safe_load_all(result.stdout)
        if doc and doc["kind"] in {"Deployment", "StatefulSet"}
    }
    assert named == workloads


def test_kind_maps_http_and_smtp() -> None:
    config = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    (node,) = config["nodes"]
    mapped = {m["containerPort"]: m["hostPort"] for m in node["extraPortMappings"]}
    assert mapped == {80: 8080, 443: 8443, 30025: 2525, 30587: 2587}
    assert all(m["listenAddress"] == "127.0.0.1" for m in node["extraPortMappings"])
