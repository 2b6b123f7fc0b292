"""`manage.py kcp_bootstrap [--admin-token-file F]`: create root's namespaces and register the
admin token (read from a file so it never appears in a process list)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kcpsite.bootstrap import bootstrap_root


class Command(BaseCommand):
    help = "Bootstrap the root logical cluster and the admin identity (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--admin-token-file", type=Path, default=None)

    def handle(self, *args: Any, admin_token_file: Path | None = None, **options: Any) -> None:
        token = admin_token_file.read_text().strip() if admin_token_file else None
        bootstrap_root(admin_token=token)
        self.stdout.write("bootstrapped root")
