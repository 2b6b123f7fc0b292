"""`manage.py kcp_token --user NAME [--group G ...] [--description D]`: issue a bearer token for a
user (stored hashed; printed once). `--revoke-user NAME` deletes every token of that user."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kube.authz.models import Token
from kube.authz.tokens import token_issue


class Command(BaseCommand):
    help = "Issue (or revoke) API bearer tokens for users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", default="")
        parser.add_argument("--group", action="append", default=[])
        parser.add_argument("--description", default="")
        parser.add_argument("--revoke-user", default="")

    def handle(
        self, *args: Any, user: str, group: list[str], description: str, revoke_user: str, **options: Any
    ) -> None:
        if revoke_user:
            deleted, _ = Token.objects.filter(user_name=revoke_user).delete()
            self.stdout.write(f"revoked {deleted} token(s) of {revoke_user}")
            return
        if not user or user.startswith("system:"):
            raise CommandError("--user NAME is required (names starting with system: are reserved)")
        self.stdout.write(token_issue(user_name=user, groups=group, description=description))
