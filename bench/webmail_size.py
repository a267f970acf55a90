"""First-load JavaScript of the webmail, gzipped.

Reads the built app (frontend/dist, `scripts/frontend build`): the scripts and module
preloads its index.html names are what a browser fetches before the first screen.
Each is compressed here with gzip -9 (what WhiteNoise serves from the pre-compressed
.gz files) and the sizes are printed; brotli figures come from the build's .br files.

    .venv/bin/python bench/webmail_size.py [--dist frontend/dist] [--smoke]

Target: at most 300 kB gzipped. A miss is printed, not fatal; the exit status is
non-zero only when the build is missing or names a file that does not exist.
`--smoke` is the same measure (it is cheap), for scripts/test.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "/static/webmail/assets/"
TARGET_KB = 300.0

# <script type="module" src=...> and <link rel="modulepreload" href=...>, in any order.
_TAGS = re.compile(r"<(script|link)\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'\b(src|href|rel|type)\s*=\s*"([^"]*)"', re.IGNORECASE)


def first_load_scripts(index_html: str) -> list[str]:
    urls = []
    for tag in _TAGS.finditer(index_html):
        attrs = {name.lower(): value for name, value in _ATTR.findall(tag.group(0))}
        if tag.group(1).lower() == "script" and attrs.get("src"):
            urls.append(attrs["src"])
        elif attrs.get("rel") == "modulepreload" and attrs.get("href"):
            urls.append(attrs["href"])
    return urls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "frontend" / "dist")
    parser.add_argument("--smoke", action="store_true", help="same measure (for scripts/test)")
    args = parser.parse_args()

    index = args.dist / "index.html"
    if not index.is_file():
        print(f"ERROR: {index} is missing: run scripts/frontend build", file=sys.stderr)
        return 1
    urls = first_load_scripts(index.read_text(encoding="utf-8"))
    if not urls:
        print(f"ERROR: {index} names no script", file=sys.stderr)
        return 1

    total_raw = total_gzip = total_br = 0
    print("webmail first-load JavaScript")
    for url in urls:
        if not url.startswith(PREFIX):
            print(f"ERROR: {url} is not under {PREFIX}", file=sys.stderr)
            return 1
        path = args.dist / "assets" / url.removeprefix(PREFIX)
        if not path.is_file():
            print(f"ERROR: {url} names a missing file ({path})", file=sys.stderr)
            return 1
        data = path.read_bytes()
        gz = len(gzip.compress(data, compresslevel=9, mtime=0))
        br_file = path.with_name(path.name + ".br")
        br = br_file.stat().st_size if br_file.is_file() else 0
        total_raw, total_gzip, total_br = total_raw + len(data), total_gzip + gz, total_br + br
        print(f"  {path.name:<32} {len(data) / 1000:8.1f} kB raw {gz / 1000:7.1f} kB gzip")
    verdict = "ok" if total_gzip / 1000 <= TARGET_KB else "MISS"
    print(
        f"  total: {total_raw / 1000:.1f} kB raw, {total_gzip / 1000:.1f} kB gzip"
        + (f", {total_br / 1000:.1f} kB brotli" if total_br else "")
        + f" (target <= {TARGET_KB:.0f} kB gzip: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
