"""Rendering the chart (charts/facteur) with helm, once per values file, for the tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.paths import CHART, tool

SCENARIOS = {
    path.name.removesuffix("-values.yaml"): path for path in CHART.glob("ci/*-values.yaml")
}
RELEASE, NAMESPACE = "mail", "facteur"


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("helm"), *args], capture_output=True, text=True, check=check, timeout=120
    )


@dataclass(frozen=True)
class Rendered:
    documents: tuple[dict[str, Any], ...]

    def kind(self, kind: str) -> list[dict[str, Any]]:
        return [doc for doc in self.documents if doc["kind"] == kind]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        (found,) = [doc for doc in self.kind(kind) if doc["metadata"]["name"] == name]
        return found

    def pod_specs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(kind/name, pod spec) of every workload."""
        for doc in self.documents:
            where = f"{doc['kind']}/{doc['metadata']['name']}"
            if doc["kind"] in {"Deployment", "StatefulSet", "Job", "DaemonSet"}:
                yield where, doc["spec"]["template"]["spec"]
            elif doc["kind"] == "Pod":
                yield where, doc["spec"]


def template(values: Path | None = None, *sets: str) -> subprocess.CompletedProcess[str]:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    if values is not None:
        args += ["--values", str(values)]
    for item in sets:
        args += ["--set", item]
    return helm(*args, check=False)


@cache
def render(values: Path) -> Rendered:
    result = template(values)
    assert result.returncode == 0, result.stderr
    return Rendered(tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc))
