"""`manage.py kcp_follow_directory`: this shard's directory follower (workspaces.follower), run
by the launcher in sharded mode; stops on SIGTERM."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand

from workspaces.follower import follow_directory


class Command(BaseCommand):
    help = "Follow the directory of logical clusters and enqueue this shard's pulls and reconciles."

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        follow_directory(stop=lambda: stopping)
