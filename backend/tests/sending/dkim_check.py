"""Verifying DKIM signatures in tests: dkimpy with the published TXT value as its DNS, and
OpenDKIM (an independent implementation) with the same value as a test key."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from facteur.domains import services as domain_services
from facteur.domains.models import DkimKey


def dnsfunc_for(key: DkimKey):
    name = f"{key.selector}._domainkey.{key.domain.name}."

    def dnsfunc(qname: bytes | str, timeout: int = 5) -> bytes:
        qname = qname.decode() if isinstance(qname, bytes) else qname
        return domain_services.dkim_txt_value(key=key).encode() if qname == name else b""

    return dnsfunc


def opendkim_path() -> str:
    """OpenDKIM, installed by scripts/peers (see shared/PEERS.md)."""
    path = shutil.which("opendkim") or shutil.which("opendkim", path="/usr/sbin")
    assert path, "opendkim is missing: run scripts/peers"
    return path


def opendkim_verify(tmp_path: Path, key: DkimKey, signed: bytes) -> str:
    """OpenDKIM's verdict line on ``signed``, the key given as a test record (no DNS)."""
    tmp_path.mkdir()
    keys = tmp_path / "keys"
    keys.write_text(
        f"{key.selector}._domainkey.{key.domain.name} {domain_services.dkim_txt_value(key=key)}\n"
    )
    conf = tmp_path / "opendkim.conf"
    conf.write_text(f"Mode v\nSyslog no\nTestPublicKeys {keys}\n")
    eml = tmp_path / "msg.eml"
    eml.write_bytes(signed)
    result = subprocess.run(
        [opendkim_path(), "-x", str(conf), "-t", str(eml)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    # PEERS.md says stderr; OpenDKIM 2.11 prints the verdict on stdout when it is not a tty.
    return result.stdout + result.stderr
