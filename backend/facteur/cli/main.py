"""``facteur-admin``: the administration command line of a Facteur installation.

``facteur-admin NOUN ACTION ...`` runs the management command ``facteur_NOUN``
(facteur/cli/management/commands/); any other first word is handed to Django's own
management utility (``facteur-admin migrate``, ``facteur-admin shell``). Settings come
from the environment as for every other process; without DATABASE_URL / REDIS_URL the
embedded servers of the single-machine run (``var/``, or FACTEUR_VAR_DIR) are used,
shared with a running ``facteur-local run``.
"""

from __future__ import annotations

import os
import sys

NOUNS = {
    "user": "facteur_user",
    "domain": "facteur_domain",
    "mailbox": "facteur_mailbox",
    "access": "facteur_access",
    "demo": "facteur_demo",
    "dns": "facteur_dns",
    "search": "facteur_search",
}

USAGE = """\
usage: facteur-admin NOUN ACTION [arguments] [--json]

  user     create EMAIL [--name NAME] [--password | --random-password] [--staff]
           list | set-password EMAIL [--random-password] | delete EMAIL
  domain   create NAME | list | admin add|remove DOMAIN EMAIL | delete NAME
  mailbox  create ADDRESS [--shared] [--name DISPLAY] [--owner EMAIL]
           list [--domain NAME] | alias add|remove ADDRESS ALIAS
           delete ADDRESS [--delete-mail]
  access   grant ADDRESS EMAIL ROLE | revoke ADDRESS EMAIL | list ADDRESS
  demo     seed [--credentials-file PATH]
  dns      DOMAIN [--mx HOST] [--spf-include DOMAIN] [--dmarc-policy POLICY]
           (the MX, SPF, DKIM and DMARC records to publish)
  search   reindex (OpenSearch: rebuild the index, then swap the alias to it)

Roles: viewer, editor, sender, admin (each includes the ones before it).
`facteur-admin NOUN --help` and `facteur-admin NOUN ACTION --help` say more.
Any other Django management command works too: facteur-admin migrate, facteur-admin shell.

Settings come from the environment (docs/architecture.md); without DATABASE_URL and
REDIS_URL, the embedded servers under var/ (or FACTEUR_VAR_DIR) are used.
Exit status: 0 done, 2 refused (bad name, duplicate, unknown record), 1 other errors.
"""


def _configure() -> bool:
    """Point Django at the settings; fall back on the single-machine environment.

    Returns whether embedded servers were started here (and must be stopped on exit).
    """
    from facteur.config import env
    from facteur.local import environment

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", environment.SETTINGS_MODULE)
    if environment.needs_local_services() or not env.is_set("FACTEUR_SECRET_KEY"):
        return bool(environment.prepare(environment.default_var_dir()))
    return False


def run_noun(noun: str, args: list[str]) -> int:
    """Run ``facteur_<noun>`` like Django would, with a one-line message on refusal."""
    from django.core.management import load_command_class
    from django.core.management.base import CommandError, handle_default_options

    command = load_command_class("facteur.cli", NOUNS[noun])
    # Usage errors then print the usage and exit 2, as argparse does, rather than raise.
    command._called_from_command_line = True
    parser = command.create_parser("facteur-admin", noun)
    options = parser.parse_args(args)
    handle_default_options(options)
    cmd_options = vars(options)
    positional = cmd_options.pop("args", ())
    try:
        command.execute(*positional, **cmd_options)
    except CommandError as exc:
        if cmd_options.get("traceback"):
            raise
        sys.stderr.write(f"facteur-admin: error: {exc}\n")
        return exc.returncode
    return 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        sys.stderr.write(USAGE)
        return 2
    if args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(USAGE)
        return 0

    started = _configure()
    import django
    from django.db import DatabaseError, connections

    from facteur.local import embedded

    try:
        django.setup()
        if args[0] in NOUNS:
            return run_noun(args[0], args[1:])
        from django.core.management import ManagementUtility

        ManagementUtility(["facteur-admin", *args]).execute()
        return 0
    except DatabaseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = ""
        if "does not exist" in first_line:
            hint = " (is the database migrated? `facteur-admin migrate`)"
        sys.stderr.write(f"facteur-admin: database error: {first_line}{hint}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        connections.close_all()
        if started:
            # PostgreSQL stops only if no other process (a running runner) uses it.
            embedded.stop_all()


if __name__ == "__main__":
    sys.exit(main())
