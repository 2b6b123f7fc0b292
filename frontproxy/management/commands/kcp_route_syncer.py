"""`manage.py kcp_route_syncer --dir D [--resync-every 60] [--haproxy PATH] [--once]`: keep the front
proxy's routes.map (the file and the running HAProxy's map, through its runtime API at D/admin.sock)
in step with the directory of logical clusters, and its backends (haproxy.cfg, shards.map, a
graceful reload through the master CLI at D/master.sock) with the shard records
(frontproxy.syncer, frontproxy.backends). `--once`: one full replace of the routes, then exit."""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from frontproxy.config import ProxyFiles
from frontproxy.syncer import RESYNC_EVERY, RouteSyncer


class Command(BaseCommand):
    help = "Keep the front proxy's route map in step with the directory of logical clusters."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, required=True, help="the proxy's directory")
        parser.add_argument("--resync-every", type=float, default=RESYNC_EVERY)
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--haproxy", default=shutil.which("haproxy") or "/usr/sbin/haproxy",
                            help="checks a regenerated configuration (haproxy -c) before the reload")

    def handle(self, *args: Any, **o: Any) -> None:
        logger = logging.getLogger("frontproxy")
        logger.setLevel(logging.INFO)
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
        syncer = RouteSyncer(ProxyFiles(o["dir"].resolve()), resync_every=o["resync_every"], haproxy=o["haproxy"])
        if o["once"]:
            syncer.full_replace()
            syncer.close()
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        syncer.run(stop)
