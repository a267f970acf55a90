"""values.schema.json and the chart's own checks refuse bad values with a message that
names the problem; the values files of earlier chart versions (ci/compat/) still render."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy.chart import template
from tests.deploy.paths import CHART

MINIMAL = "secrets:\n  existingSecret: facteur\n"

# name -> (values beyond the minimal ones, what the error says)
REFUSED = {
    "typo at the top": ("replica: 3\n", "replica"),
    "typo in a component": ("web:\n  replcas: 2\n", "replcas"),
    "typo in a nested block": ("ingress:\n  tlsSecret: tls\n", "tlsSecret"),
    "wrong type": ("web:\n  replicas: two\n", "replicas"),
    "boolean as a string": ("oidc:\n  enabled: 'yes'\n", "enabled"),
    "latest tag": ("images:\n  tag: latest\n", "tag"),
    "bad digest": ("images:\n  backend:\n    digest: sha256:abc\n", "digest"),
    "unknown sending mode": ("config:\n  sendingMode: smtp\n", "sendingMode"),
    "public URL with a path": ("publicUrl: https://example.org/mail\n", "publicUrl"),
    "source range not a CIDR": (
        "smtp:\n  service:\n    loadBalancerSourceRanges: [everyone]\n",
        "loadBalancerSourceRanges",
    ),
    "service type": ("smtp:\n  service:\n    type: ExternalName\n", "type"),
    "all-in-one latest image": (
        "allInOne:\n  postgresql:\n    image: postgres:latest\n",
        "image",
    ),
    "secretEnv without key": (
        "secrets:\n  existingSecret: facteur\n  secretEnv:\n    - {name: X, secretName: s}\n",
        "key",
    ),
    "unknown search backend": ("search:\n  backend: elasticsearch\n", "backend"),
    "opensearch URL without scheme": (
        "search:\n  opensearch:\n    url: opensearch:9200\n",
        "url",
    ),
    "opensearch password in values": (
        "search:\n  opensearch:\n    password: hunter2\n",
        "password",
    ),
    "upper-case index prefix": (
        "search:\n  opensearch:\n    indexPrefix: Facteur\n",
        "indexPrefix",
    ),
    "lowercase quantity unit": ("web:\n  resources:\n    requests: {memory: 1gb}\n", "memory"),
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "values.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_schema_refuses(case: str, tmp_path: Path) -> None:
    extra, named = REFUSED[case]
    result = template(write(tmp_path, MINIMAL + extra))
    assert result.returncode != 0, f"{case}: accepted"
    assert "values don't meet the specifications of the schema" in result.stderr
    assert named in result.stderr, result.stderr


def test_minimal_values_are_accepted(tmp_path: Path) -> None:
    assert template(write(tmp_path, MINIMAL)).returncode == 0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("{}\n", "secrets.existingSecret: name the Secret"),
        (MINIMAL + "oidc:\n  enabled: true\n", "oidc.clientId is required"),
        (
            MINIMAL + "config:\n  localAccounts: false\n",
            "nobody could log in",
        ),
    ],
    ids=["no secret", "oidc without client", "no way in"],
)
def test_chart_refuses_incomplete_values(values: str, message: str, tmp_path: Path) -> None:
    result = template(write(tmp_path, values))
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


COMPAT = sorted((CHART / "ci" / "compat").glob("*-values.yaml"))


@pytest.mark.parametrize("values", COMPAT, ids=lambda path: path.name)
def test_earlier_versions_values_still_render(values: Path) -> None:
    result = template(values)
    assert result.returncode == 0, result.stderr
    for doc in (doc for doc in yaml.safe_load_all(result.stdout) if doc):
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue
        kubernetes_validate.validate(doc, "1.33.0", strict=True)


def test_compat_files_exist() -> None:
    assert COMPAT, "ci/compat/ holds no values file"
