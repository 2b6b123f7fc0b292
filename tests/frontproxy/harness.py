"""Real processes for the front proxy's tests: HTTPS echo backends standing in for shards and
HAProxy itself (Debian's /usr/sbin/haproxy) on the generated configuration, all on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from frontproxy.config import ProxyFiles, ShardBackend, write_proxy_files
from frontproxy.runtime import RuntimeAPI
from frontproxy.syncer import RouteSyncer
from kcpsite.launcher import PROJECT_DIR
from kcpsite.tls import TLSFiles
from tests.conftest import free_port

HAPROXY = "/usr/sbin/haproxy"


def wait_for(check: Any, timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout}s")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Echo:
    """An HTTPS echo backend named `name` (tests.frontproxy.echo_server)."""

    def __init__(self, name: str, tls: TLSFiles) -> None:
        self.name, self.tls, self.port = name, tls, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> Echo:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.frontproxy.echo_server", str(self.port), self.name,
             str(self.tls.server_cert), str(self.tls.server_key)], cwd=PROJECT_DIR)
        wait_for(lambda: _port_open(self.port), 10, f"echo backend {self.name}")
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


class Proxy:
    """HAProxy on a generated configuration in `dir` for `backends` (the first is the root shard)."""

    def __init__(self, dir: Path, tls: TLSFiles, backends: list[ShardBackend]) -> None:
        self.files = ProxyFiles(dir)
        self.tls, self.backends, self.port = tls, backends, free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.context = ssl.create_default_context(cafile=str(tls.ca_cert))

    def write_config(self) -> None:
        write_proxy_files(files=self.files, shards=self.backends, root=self.backends[0].name,
                          bind=f"127.0.0.1:{self.port}", ca_file=self.tls.ca_cert,
                          server_cert_pem=self.tls.server_cert.read_bytes(),
                          server_key_pem=self.tls.server_key.read_bytes())

    def start(self, *, healthy: tuple[str, ...] = ()) -> Proxy:
        """Start HAProxy; wait until it listens and the named backends are checked up."""
        self.files.socket.unlink(missing_ok=True)
        log = open(self.files.dir / "haproxy.log", "ab")
        # Master-worker with the master CLI, as kcpsite.sharded runs it: the syncer reloads it.
        self.process = subprocess.Popen([HAPROXY, "-W", "-db", "-S", f"{self.files.master_socket},mode,600",
                                         "-f", str(self.files.config)], stdout=log, stderr=log)
        log.close()
        wait_for(lambda: _port_open(self.port) and self.files.socket.exists(), 10, "haproxy listening")
        for name in healthy:
            wait_for(lambda n=name: self.server_up(n), 10, f"backend {name} up")
        return self

    def server_up(self, name: str) -> bool:
        """Whether the shard's server is up in its backend (`show servers state`: srv_op_state 2)."""
        rows = [line.split() for line in self.admin(f"show servers state be_{name}").splitlines()[2:]]
        return any(len(r) > 5 and r[3] == name and r[5] == "2" for r in rows)

    def admin(self, command: str) -> str:
        """One runtime API command through the project's client (frontproxy.runtime)."""
        with RuntimeAPI(self.files.socket, timeout=5) as api:
            return api.command(command)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(10)

    def connection(self, timeout: float = 10) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=timeout)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
        """(status, body decoded from JSON when it is JSON, lower-cased headers)."""
        conn = self.connection()
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        return resp.status, body, {k.lower(): v for k, v in resp.getheaders()}


def set_routes(proxy: Proxy, lines: dict[str, str]) -> None:
    """Write routes.map (key → value) before HAProxy starts."""
    proxy.files.routes_map.write_text("".join(f"{k} {v}\n" for k, v in lines.items()))
    os.chmod(proxy.files.routes_map, 0o600)


def entry(name: str, path: str, shard: str = "shard-1", phase: str = "Ready") -> Any:
    """A committed directory row (its NOTIFY fires on commit)."""
    from shards.models import DirectoryEntry

    parent, _, workspace = path.rpartition(":")
    return DirectoryEntry.objects.create(name=name, path=path, parent=parent, workspace=workspace, shard=shard,
                                         phase=phase)


def routed(proxy: Proxy, segment: str) -> tuple[str, str] | None:
    """(backend, path it saw) for /clusters/<segment>/api, None while the proxy says 403."""
    status, doc, _ = proxy.get(f"/clusters/{segment}/api")
    if status == 403:
        return None
    assert status == 200, doc
    return doc["backend"], doc["path"]


class Running:
    """The syncer in a thread, as the launcher runs it in a process."""

    def __init__(self, proxy: Proxy, resync_every: float = 60.0) -> None:
        self.syncer = RouteSyncer(proxy.files, resync_every=resync_every, haproxy=HAPROXY)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.syncer.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
