"""The committed OpenAPI schema (backend/openapi.yaml) is what the code generates.

The webmail's client is generated from that file; a stale file means a stale
client. Regenerate with ``scripts/openapi``.
"""

from pathlib import Path

from django.core.management import call_command

SCHEMA = Path(__file__).resolve().parents[2] / "openapi.yaml"


def test_committed_schema_is_current(tmp_path: Path) -> None:
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(generated), "--validate", "--fail-on-warn")
    assert SCHEMA.exists(), "backend/openapi.yaml is missing: run scripts/openapi"
    assert generated.read_text() == SCHEMA.read_text(), (
        "backend/openapi.yaml is stale: run scripts/openapi and commit the result"
    )
