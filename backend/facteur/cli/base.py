"""What every ``facteur-admin`` noun command shares: sub-actions, errors, output.

A noun command (``facteur_user``, ``facteur_domain``...) declares its actions with
:meth:`AdminCommand.action`; each action is a method taking the parsed options and
returning what to print. Services raise Django's ValidationError for bad input and
the helpers here raise :class:`NotFound` for unknown records: both become a
one-line CommandError with exit status 2.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import ProtectedError

# Exit status of refused input (bad names, duplicates, unknown records), as argparse uses.
EXIT_USAGE = 2


class NotFound(Exception):
    """An address, domain or user named on the command line does not exist."""


class Refused(Exception):
    """The action would lose something (mail, mailboxes) or touch an operator-owned record."""


Handler = Callable[[dict[str, Any]], "Output | None"]


class Output:
    """The result of an action: a table for people and a JSON document for programs."""

    def __init__(
        self,
        data: object,
        *,
        headers: Sequence[str] = (),
        rows: Iterable[Sequence[object]] = (),
        text: str = "",
    ) -> None:
        self.data = data
        self.headers = list(headers)
        self.rows = [list(row) for row in rows]
        self.text = text


def format_value(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list | tuple):
        return ", ".join(format_value(item) for item in value) or "-"
    return str(value) if value != "" else "-"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[format_value(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class AdminCommand(BaseCommand):
    """A management command whose first argument picks an action (``create``, ``list``...)."""

    # The commands read and write a few rows: the system checks would only slow them down.
    requires_system_checks: list[str] = []
    # Django's options that mean nothing here (settings come from the environment).
    suppressed_base_arguments = {
        "--version",
        "--verbosity",
        "--settings",
        "--pythonpath",
        "--no-color",
        "--force-color",
    }

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        self.add_actions(actions)

    def add_actions(self, actions: argparse._SubParsersAction) -> None:
        raise NotImplementedError

    def action(
        self, actions: argparse._SubParsersAction, name: str, handler: Handler, help: str
    ) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help, description=help)
        parser.add_argument("--json", action="store_true", help="print JSON for programs")
        parser.set_defaults(handler=handler)
        return parser

    def handle(self, *args: object, **options: Any) -> None:
        handler: Handler = options["handler"]
        try:
            # One transaction per action: a refusal half-way leaves nothing behind.
            with transaction.atomic():
                output = handler(options)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages), returncode=EXIT_USAGE) from None
        except (NotFound, Refused) as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None
        except ProtectedError as exc:
            kinds = sorted({type(obj)._meta.verbose_name_plural for obj in exc.protected_objects})
            raise CommandError(
                f"Refused: still referenced by {', '.join(kinds)}.", returncode=EXIT_USAGE
            ) from None
        if output is None:
            return
        if options.get("json"):
            self.stdout.write(json.dumps(output.data, indent=2, default=_json_default))
        elif output.headers:
            if output.rows:
                self.stdout.write(render_table(output.headers, output.rows))
            else:
                self.stdout.write("(none)")
        if output.text and not options.get("json"):
            self.stdout.write(output.text)
