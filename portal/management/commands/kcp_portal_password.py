"""`manage.py kcp_portal_password --user NAME [--password P]`: set the portal password of a user
(the API identity of the same name; a random password is generated and printed when none is
given). `make run`'s admin is `kcp-admin`; signing in with an API token works too."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Set (or generate) the portal password of a user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True)
        parser.add_argument("--password", default="")

    def handle(self, *args: Any, user: str, password: str, **options: Any) -> None:
        if not user or user.startswith("system:"):
            raise CommandError("--user NAME is required (names starting with system: are reserved)")
        generated = not password
        password = password or secrets.token_urlsafe(18)
        account, _ = get_user_model().objects.get_or_create(username=user)
        account.set_password(password)
        account.save(update_fields=["password"])
        if generated:
            self.stdout.write(password)
        else:
            self.stdout.write(f"password of {user} set")
