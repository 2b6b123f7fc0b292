"""Processes for the proxy-map benchmark: stand-in shards (bench.shardstub), HAProxy on the
project's generated configuration (frontproxy.config.write_proxy_files, what `manage.py
kcp_proxy_config` writes for the launcher), and a keep-alive HTTPS client that times requests.
Everything listens on 127.0.0.1; `stop()` of each is idempotent."""

from __future__ import annotations

import contextlib
import http.client
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

from .scratch import PROJECT_DIR

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"  # as kcpsite.sharded finds it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: object, timeout: float, what: str, every: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(every)
    raise RuntimeError(f"{what}: not within {timeout:.0f} s")


def _tcp_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _terminate(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class Stub:
    """A stand-in shard (`python -m bench.shardstub`) on a free port."""

    def __init__(self, name: str, cert: Path, key: Path) -> None:
        self.name, self.cert, self.key, self.port = name, cert, key, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> Stub:
        self.process = subprocess.Popen([sys.executable, "-m", "bench.shardstub", str(self.port), str(self.cert),
                                         str(self.key)], cwd=PROJECT_DIR)
        _wait(lambda: _tcp_open(self.port), 10, f"stand-in shard {self.name}", every=0.05)
        return self

    def stop(self) -> None:
        _terminate(self.process)


class Proxy:
    """HAProxy in `dir` on the generated configuration for `backends` (the first is root)."""

    def __init__(self, dir: Path, ca: Path, cert: Path, key: Path, backends: list[Stub]) -> None:
        from frontproxy.config import ProxyFiles

        self.files = ProxyFiles(dir)
        self.ca, self.cert, self.key, self.backends = ca, cert, key, backends
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def configure(self) -> None:
        from frontproxy.config import ShardBackend, write_proxy_files

        write_proxy_files(files=self.files, shards=[ShardBackend(b.name, b.base_url) for b in self.backends],
                          root=self.backends[0].name, bind=f"127.0.0.1:{self.port}", ca_file=self.ca,
                          server_cert_pem=self.cert.read_bytes(), server_key_pem=self.key.read_bytes())

    def start(self, timeout: float = 300) -> float:
        """Start HAProxy (maps loaded from their files); the seconds until its runtime socket
        accepts (it is bound after the configuration and its maps are loaded)."""
        self.files.socket.unlink(missing_ok=True)
        with open(self.files.dir / "haproxy.log", "ab") as log:
            began = time.perf_counter()
            self.process = subprocess.Popen([HAPROXY, "-db", "-f", str(self.files.config)], stdout=log, stderr=log)
        _wait(self._socket_answers, timeout, "haproxy's runtime socket")
        seconds = time.perf_counter() - began
        _wait(lambda: _tcp_open(self.port), 10, "haproxy listening")
        return seconds

    def _socket_answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"haproxy exited with {self.process.returncode}; see {self.files.dir / 'haproxy.log'}")
        if not self.files.socket.exists():
            return False
        with socket.socket(socket.AF_UNIX) as s:
            return s.connect_ex(str(self.files.socket)) == 0

    def wait_backends_up(self, timeout: float = 15) -> None:
        for b in self.backends:
            _wait(lambda n=b.name: self._server_up(n), timeout, f"backend {b.name} up", every=0.1)

    def _server_up(self, name: str) -> bool:
        rows = [line.split() for line in self.admin(f"show servers state be_{name}").splitlines()[2:]]
        return any(len(r) > 5 and r[3] == name and r[5] == "2" for r in rows)

    def admin(self, command: str) -> str:
        """One runtime API command through the project's client (frontproxy.runtime)."""
        from frontproxy.runtime import RuntimeAPI

        with RuntimeAPI(self.files.socket, timeout=30) as api:
            return api.command(command)

    def rss(self) -> int:
        import psutil

        assert self.process is not None
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def stop(self) -> None:
        _terminate(self.process)

    def client(self) -> Client:
        return Client(self.port, self.ca)


class PeakRss:
    """Samples a process's resident memory every `every` seconds while in the `with` block; `peak`."""

    def __init__(self, proxy: Proxy, every: float = 0.1) -> None:
        self.proxy, self.every, self.peak = proxy, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.peak = max(self.peak, self.proxy.rss())
            self._stop.wait(self.every)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(Exception):
            self.peak = max(self.peak, self.proxy.rss())


class Prober:
    """GETs `path` through `proxy` back to back in a thread while in the `with` block (what other
    clients see meanwhile); `latencies` in seconds. An answer other than 200 is raised on exit."""

    def __init__(self, proxy: Proxy, path: str) -> None:
        self.client, self.path = proxy.client(), path
        self.latencies: list[float] = []
        self.error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            code, seconds = self.client.get(self.path)
            if code != 200:
                self.error = f"{self.path}: {code} while probing"
                return
            self.latencies.append(seconds)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.client.close()
        if self.error:
            raise RuntimeError(self.error)


class Client:
    """Sequential GETs over one keep-alive TLS connection (`fresh=True`: a new connection, TLS
    handshake included, per request). `get(path)` → (status, seconds)."""

    def __init__(self, port: int, ca: Path) -> None:
        self.port = port
        self.context = ssl.create_default_context(cafile=str(ca))
        self._conn: http.client.HTTPSConnection | None = None

    def _connection(self) -> http.client.HTTPSConnection:
        if self._conn is None:
            self._conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=30)
        return self._conn

    def get(self, path: str, *, fresh: bool = False) -> tuple[int, float]:
        if fresh:
            self.close()
        conn = self._connection()
        began = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        seconds = time.perf_counter() - began
        if resp.will_close or fresh:
            self.close()
        return resp.status, seconds

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
