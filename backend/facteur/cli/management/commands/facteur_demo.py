"""``facteur-admin demo seed``: the demo domain of the single-machine run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from facteur.cli.base import AdminCommand, Output, render_table
from facteur.demo.seed import DOMAIN, SeedResult, demo_seed


def seed_data(result: SeedResult) -> dict[str, object]:
    return {
        "created": result.created,
        "domain": result.domain,
        "accounts": [
            {
                "email": account.email,
                "full_name": account.full_name,
                "password": account.password,
                "roles": account.roles,
            }
            for account in result.accounts
        ],
        "mailboxes": result.mailboxes,
        "messages": result.messages,
        "credentials_file": str(result.credentials_file) if result.credentials_file else None,
    }


def seed_text(result: SeedResult) -> str:
    if not result.created:
        return f"The demo domain {DOMAIN} exists already: nothing to do."
    lines = [
        f"Created the demo domain {result.domain}: {len(result.accounts)} users, "
        f"{len(result.mailboxes)} mailboxes ({', '.join(result.mailboxes)}), "
        f"{result.messages} messages.",
        "",
        render_table(
            ["email", "password", "name", "roles"],
            [(a.email, a.password, a.full_name, a.roles) for a in result.accounts],
        ),
    ]
    if result.credentials_file:
        lines += ["", f"Saved to {result.credentials_file} (readable by you only)."]
    else:
        lines += ["", "Keep these passwords: they are not shown again."]
    return "\n".join(lines)


class Command(AdminCommand):
    help = "Demo data: seed."

    def add_actions(self, actions: argparse._SubParsersAction) -> None:
        seed = self.action(
            actions,
            "seed",
            self.seed,
            f"create the demo domain {DOMAIN} with users, mailboxes and mail (once)",
        )
        seed.add_argument(
            "--credentials-file",
            type=Path,
            metavar="PATH",
            help="also write the demo passwords to this file (mode 0600)",
        )

    def seed(self, options: dict[str, Any]) -> Output:
        result = demo_seed(credentials_file=options["credentials_file"])
        return Output(seed_data(result), text=seed_text(result))
