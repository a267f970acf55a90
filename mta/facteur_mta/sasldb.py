"""MTA-out's SASL password database (Cyrus sasldb), built from a mounted secret.

The backend logs in to MTA-out's submission port as ``sasl_username``; its password lives in
a file (a Kubernetes Secret, FACTEUR_RELAY_PASSWORD's twin). ``saslpasswd2`` writes it into a
fresh sasldb next to ``sasldb_path`` (``stage``), which ``install`` then renames over the old
one, so the file holds exactly one user and a failure leaves the previous database alone.
The password goes to saslpasswd2 on its standard input: never on a command line, in a
rendered file or in a message.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

SASLPASSWD2 = shutil.which("saslpasswd2") or "/usr/sbin/saslpasswd2"


class SasldbError(ValueError):
    """The password file or saslpasswd2 failed; the message never holds the password."""


def read_password(password_file: Path) -> str:
    try:
        raw = password_file.read_bytes()
    except OSError as exc:
        raise SasldbError(f"cannot read the SASL password file {password_file}: "
                          f"{exc.strerror}") from None  # fmt: skip
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SasldbError(f"the SASL password file {password_file} is not UTF-8") from None
    # Blanks and newlines around it are dropped, as the backend's FACTEUR_RELAY_PASSWORD_FILE
    # drops them: one Secret, one password on both sides.
    text = text.strip()
    if not text:
        raise SasldbError(f"the SASL password file {password_file} is empty")
    if any(c in text for c in "\r\n\0"):
        raise SasldbError(f"the SASL password file {password_file} must hold one line")
    return text


def stage(*, password_file: Path, path: Path, username: str, realm: str, owner: str) -> Path:
    """A new sasldb holding ``username@realm`` only, beside ``path``; returns its path."""
    password = read_password(password_file)
    if not os.path.exists(SASLPASSWD2):
        raise SasldbError("saslpasswd2 is missing (Debian package sasl2-bin)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise SasldbError(f"cannot write beside sasldb_path {path}: {exc.strerror}") from None
    os.close(fd)
    os.unlink(name)  # saslpasswd2 creates the database itself
    staged = Path(name)
    result = subprocess.run(  # noqa: S603  (fixed program, argument list, no shell)
        [SASLPASSWD2, "-p", "-c", "-f", str(staged), "-u", realm, username],
        input=password.encode(),
        capture_output=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0 or not staged.exists():
        staged.unlink(missing_ok=True)
        detail = result.stderr.decode("utf-8", "replace").strip()
        raise SasldbError(f"saslpasswd2 failed (exit {result.returncode}): {detail}")
    try:
        # smtpd runs as mail_owner and only reads the database. Not root: we are the owner.
        if os.geteuid() == 0:
            os.chown(staged, 0, pwd.getpwnam(owner).pw_gid)
        staged.chmod(0o640)
    except (KeyError, OSError) as exc:
        staged.unlink(missing_ok=True)
        raise SasldbError(f"cannot give the sasldb to mail_owner {owner!r}: {exc}") from None
    return staged


def install(staged: Path, path: Path) -> None:
    os.replace(staged, path)


def main(argv: list[str] | None = None) -> None:
    """``python3 -m facteur_mta.sasldb``: the sasldb alone, for a pod whose main.cf comes from
    a ConfigMap (the operator's MTA-out) rather than from ``facteur-mta-config out``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python3 -m facteur_mta.sasldb")
    parser.add_argument("--password-file", type=Path, required=True)
    parser.add_argument("--path", type=Path, required=True, help="sasldb_path")
    parser.add_argument("--username", required=True)
    parser.add_argument("--realm", required=True, help="myhostname")
    parser.add_argument("--owner", default="postfix", help="mail_owner")
    args = parser.parse_args(argv)
    try:
        staged = stage(password_file=args.password_file, path=args.path,
                       username=args.username, realm=args.realm, owner=args.owner)  # fmt: skip
    except SasldbError as exc:
        print(f"facteur_mta.sasldb: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    install(staged, args.path)


if __name__ == "__main__":
    main()
