"""`manage.py kcp_shard_deregister NAME`: an operator removes a shard from the registry (its
record; the Shard object in root follows, at once when run on the shard hosting root, else at
that shard's next mirror pass). Its logical clusters stay where they are; no new ones go there,
and the shard registers again if it is restarted."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shards.mirror import shard_mirror
from shards.services import shard_deregister


class Command(BaseCommand):
    help = "De-register a shard: delete its record (and its Shard object in root)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        if not shard_deregister(name=name):
            raise CommandError(f'shard "{name}" is not registered')
        shard_mirror(names=[name])
        self.stdout.write(f"shard/{name} de-registered")
