"""`manage.py kcp_proxy_config --dir D --bind HOST:PORT --ca CA --cert CRT --key KEY [--root-shard root]`:
write the front proxy's HAProxy configuration (frontproxy.config) from the shard records in the
global database, and check it with `haproxy -c` when HAProxy is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from frontproxy.config import ProxyFiles, write_proxy_files
from frontproxy.selectors import shard_backends


class Command(BaseCommand):
    help = "Write the front proxy's HAProxy configuration from the shard records."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, required=True, help="the proxy's directory")
        parser.add_argument("--bind", default="127.0.0.1:6443", help="address:port clients connect to")
        parser.add_argument("--ca", type=Path, required=True, help="the CA that signed the shards' certificates")
        parser.add_argument("--cert", type=Path, required=True, help="the proxy's server certificate (PEM)")
        parser.add_argument("--key", type=Path, required=True, help="its private key (PEM)")
        parser.add_argument("--root-shard", default="root", help="the shard serving what names no workspace")
        parser.add_argument("--haproxy", default=shutil.which("haproxy") or "/usr/sbin/haproxy")

    def handle(self, *args: Any, **o: Any) -> None:
        shards = shard_backends()
        if not any(s.name == o["root_shard"] for s in shards):
            raise CommandError(f"no shard record for the root shard {o['root_shard']!r} (shards: "
                               f"{', '.join(s.name for s in shards) or 'none'})")
        files = ProxyFiles(o["dir"].resolve())
        try:
            write_proxy_files(files=files, shards=shards, root=o["root_shard"], bind=o["bind"],
                              ca_file=o["ca"].resolve(), server_cert_pem=o["cert"].read_bytes(),
                              server_key_pem=o["key"].read_bytes())
        except ValueError as e:
            raise CommandError(str(e)) from e
        if Path(o["haproxy"]).exists():
            check = subprocess.run([o["haproxy"], "-c", "-q", "-f", str(files.config)], capture_output=True, text=True)
            if check.returncode != 0:
                raise CommandError(f"haproxy -c rejected {files.config}:\n{check.stdout}{check.stderr}")
        self.stdout.write(f"wrote {files.config} for shards {', '.join(s.name for s in shards)}")
