"""``facteur-admin user``: accounts (OIDC users also get theirs at their first login)."""

from __future__ import annotations

import argparse
from typing import Any

from django.db.models import Count

from facteur.cli.base import AdminCommand, Output
from facteur.cli.lookups import get_user, random_password, read_password
from facteur.users.models import User
from facteur.users.services import user_create, user_delete, user_set_password


def user_data(user: User, *, mailboxes: int | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        "email": user.email,
        "full_name": user.full_name,
        "is_staff": user.is_staff,
        "is_active": user.is_active,
        "has_password": user.has_usable_password(),
        "oidc": bool(user.sub),
        "created_at": user.created_at,
    }
    if mailboxes is not None:
        data["mailboxes"] = mailboxes
    return data


class Command(AdminCommand):
    help = "Manage users: create, list, set-password, delete."

    def add_actions(self, actions: argparse._SubParsersAction) -> None:
        create = self.action(actions, "create", self.create, "create a local account")
        create.add_argument("email")
        create.add_argument("--name", default="", help="full name")
        password = create.add_mutually_exclusive_group()
        password.add_argument(
            "--password",
            action="store_true",
            help="ask for a password (read from standard input when it is not a terminal)",
        )
        password.add_argument(
            "--random-password", action="store_true", help="generate a password and print it"
        )
        create.add_argument(
            "--staff", action="store_true", help="may use the Django admin (/admin/)"
        )

        self.action(actions, "list", self.list, "list users")

        set_password = self.action(
            actions, "set-password", self.set_password, "set a user's password"
        )
        set_password.add_argument("email")
        set_password.add_argument(
            "--random-password", action="store_true", help="generate a password and print it"
        )

        delete = self.action(actions, "delete", self.delete, "delete a user and their accesses")
        delete.add_argument("email")

    def create(self, options: dict[str, Any]) -> Output:
        password: str | None = None
        if options["random_password"]:
            password = random_password()
        elif options["password"]:
            password = read_password()
        user = user_create(
            email=options["email"],
            password=password,
            full_name=options["name"],
            is_staff=options["staff"],
        )
        data = user_data(user)
        text = f"Created the user {user.email}."
        if options["random_password"]:
            data["password"] = password
            text += f"\nPassword: {password}"
        elif password is None:
            text += " It has no password: it can log in through OIDC only."
        return Output(data, text=text)

    def list(self, options: dict[str, Any]) -> Output:
        users = User.objects.annotate(mailbox_count=Count("mailbox_accesses")).order_by("email")
        data = [user_data(user, mailboxes=user.mailbox_count) for user in users]
        rows = [
            (
                user.email,
                user.full_name,
                user.is_staff,
                user.has_usable_password(),
                "oidc" if user.sub else "local",
                user.mailbox_count,
            )
            for user in users
        ]
        return Output(
            data, headers=["email", "name", "staff", "password", "login", "mailboxes"], rows=rows
        )

    def set_password(self, options: dict[str, Any]) -> Output:
        user = get_user(options["email"])
        password = random_password() if options["random_password"] else read_password()
        user_set_password(user=user, password=password)
        data = user_data(user)
        text = f"Changed the password of {user.email}."
        if options["random_password"]:
            data["password"] = password
            text += f"\nPassword: {password}"
        return Output(data, text=text)

    def delete(self, options: dict[str, Any]) -> Output:
        user = get_user(options["email"])
        data = user_data(user)
        user_delete(user=user)
        return Output(data, text=f"Deleted the user {data['email']}.")
