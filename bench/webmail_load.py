"""Time from navigation to an interactive inbox of 50 threads, measured in Chromium.

Starts the real single-machine stack the webmail's end-to-end test uses
(`facteur-local run`, embedded PostgreSQL and Redis, the built webmail), puts
`--threads` conversations in user1's inbox through its SMTP listener, then opens the
inbox `--runs` times in Debian's Chromium, cold (new browser context: empty cache,
the session cookie) and warm (assets cached), and prints p50 / p95 of
- rows: navigation start to the list holding its first page of 50 rows;
- interactive: to the "j" shortcut, pressed from then on until one is handled,
  having moved the focus to the first row.
The work is done by bench/webmail_load.mjs (Node: playwright-core and the e2e's stack,
browser and SMTP helpers); this wrapper checks the build and runs it.

    .venv/bin/python bench/webmail_load.py [--runs 20] [--threads 60] [--smoke]

Target: interactive under 1 s (p95, cold). A miss is printed, not fatal; the exit
status is non-zero when the stack, the browser or the measure fails.
`--smoke`: 3 runs of each, for scripts/test.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=60, help="seeded (at least 50)")
    parser.add_argument("--smoke", action="store_true", help="3 runs of each (for scripts/test)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    node = shutil.which("node")
    if node is None:
        print("ERROR: node is not installed (scripts/peers installs it)", file=sys.stderr)
        return 1
    if not (ROOT / "frontend" / "dist" / "index.html").is_file():
        print("ERROR: the webmail is not built: run scripts/frontend build", file=sys.stderr)
        return 1
    command = [node, str(ROOT / "bench" / "webmail_load.mjs")]
    command += ["--smoke"] if args.smoke else ["--runs", str(args.runs)]
    command += ["--threads", str(args.threads)]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
