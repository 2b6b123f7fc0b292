"""`manage.py kcp_cache install|status|compare|enable|disable|uninstall`: the cache of what
crosses shards for this shard (shards.cache). `install` is idempotent; the launcher runs it at
start when a global database is configured. `status` prints every subscription's state and lag
as JSON; `compare` prints, per replicated table, this shard's rows against the cache's for the
given logical clusters (or every cluster with replicated rows here)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shards.cache.replication import cache_install, cache_subscription_set_enabled, cache_uninstall
from shards.cache.selectors import cache_compare, cache_health, cache_local_clusters


class Command(BaseCommand):
    help = "Set up, inspect or pause the replication of this shard into the cache of what crosses shards."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["install", "status", "compare", "enable", "disable", "uninstall"])
        parser.add_argument("clusters", nargs="*", help="compare: the logical clusters to compare")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "install":
            report = cache_install()
            if report.skipped:
                self.stderr.write(f"cache: not replicating: {report.skipped}")
                return
            for step in report.steps:
                self.stdout.write(f"cache: {step}")
            self.stdout.write(f"cache: shard {report.shard} replicates through {report.subscription}")
        elif action == "status":
            self.stdout.write(json.dumps(dataclasses.asdict(cache_health()), default=str, indent=2))
        elif action == "compare":
            clusters = list(options["clusters"]) or cache_local_clusters()
            result = cache_compare(clusters=clusters)
            shown = {
                table: {
                    "shard": {"count": shard[0], "checksum": shard[1]},
                    "cache": {"count": cache[0], "checksum": cache[1]},
                    "equal": shard == cache,
                }
                for table, (shard, cache) in result.items()
            }
            self.stdout.write(json.dumps(shown, indent=2))
            if any(shard != cache for shard, cache in result.values()):
                raise CommandError("the cache differs from this shard")
        elif action in ("enable", "disable"):
            cache_subscription_set_enabled(enabled=action == "enable")
        else:
            cache_uninstall()
