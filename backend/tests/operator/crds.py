"""The CRDs in crds/ as the tests use them: schemas, and a validator per kind.

The apiserver checks a resource against its CRD's openAPIV3Schema; jsonschema checks the
same keywords (type, required, pattern, enum, minimum/maximum, minItems/maxItems,
maxLength). The ``x-kubernetes-*`` extensions are not JSON Schema and are ignored here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[3]
CRD_DIR = ROOT / "crds"
EXAMPLES_DIR = ROOT / "docs" / "examples"
GROUP = "mail.facteur.dev"
VERSION = "v1alpha1"


@cache
def crds() -> dict[str, dict[str, Any]]:
    """Every CRD in crds/, by kind."""
    found = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        found[crd["spec"]["names"]["kind"]] = crd
    return found


def version_of(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == VERSION]
    return version


def schema(kind: str) -> dict[str, Any]:
    return version_of(crds()[kind])["schema"]["openAPIV3Schema"]


def errors(resource: dict[str, Any]) -> list[str]:
    """Why the apiserver would refuse ``resource`` (empty when it is valid)."""
    kind = resource.get("kind")
    if kind not in crds():
        return [f"unknown kind {kind!r}"]
    if resource.get("apiVersion") != f"{GROUP}/{VERSION}":
        return [f"apiVersion {resource.get('apiVersion')!r} is not {GROUP}/{VERSION}"]
    validator = jsonschema.Draft7Validator(
        schema(kind), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    return [
        f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in validator.iter_errors(resource)
    ]


def examples() -> list[tuple[str, dict[str, Any]]]:
    """Every resource in docs/examples/, with the file it comes from."""
    found = []
    for path in sorted(EXAMPLES_DIR.glob("*.yaml")):
        found += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found
