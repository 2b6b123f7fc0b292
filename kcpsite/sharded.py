"""`make run SHARDS=N` (N ≥ 2): N shards, the global database and the front proxy on one machine.

Contract
--------
* Layout of the data dir `<data>`: `global/` (the global database's embedded PostgreSQL, unless
  `KCP_GLOBAL_DATABASE_URL` names one), `shards/<name>/` (one shard's data dir: its own embedded
  PostgreSQL, broker, logs), `proxy/` (HAProxy's configuration, maps and runtime socket:
  frontproxy.config), `tls/` (one CA for everything: the shards' and the proxy's certificate),
  `admin-token`, `logs/` (haproxy, route syncer, the proxy's one-shot steps) and
  `admin.kubeconfig`, pointing at the proxy.
* Shards: `root` on `KCP_PORT + 1`, `shard-1` … on the following ports, each a
  `kcpsite.launcher.Stack` with `KCP_SHARD_NAME`, `KCP_BASE_URL` (its own URL),
  `KCP_EXTERNAL_URL` (the proxy's) and `KCP_GLOBAL_DATABASE_URL`; one daphne and one Celery
  worker each unless `KCP_SERVERS`/`KCP_WORKERS` say otherwise (a 2-CPU machine). The other shards
  start before root, so root's bootstrap mirrors their records into Shard objects at once. Only
  root creates the root logical cluster (kcpsite.bootstrap); the admin token lives in the global
  database, so the one token works on every shard.
* The front proxy (a Stack of its own over `<data>`, whose embedded PostgreSQL is the global
  database's): `manage.py kcp_proxy_config` writes HAProxy's configuration from the shard records,
  `manage.py kcp_route_syncer --once` the routes file; then HAProxy (`haproxy -W -db -S
  <data>/proxy/master.sock`: master-worker, so it reloads gracefully) on `KCP_PORT` and the route
  syncer run as supervised children. The syncer regenerates the configuration and reloads HAProxy
  when a shard record is added, removed or changes its URL: shards added later are routed without
  a restart. `admin.kubeconfig` is written once the proxy
  answers `/readyz` and `/clusters/root/version`.
* Refused: `DATABASE_URL` (each shard has its own database here) and `REDIS_URL` (each shard has
  its own broker: shards sharing one Redis database would run each other's tasks).
* Stop: the proxy's children, then the shards (each stops its own PostgreSQL), then the global
  database, if this launcher started it.
"""

from __future__ import annotations

import os
import shutil
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from frontproxy.config import ProxyFiles
from kcpsite.admin_access import ROOT_CLUSTER, ensure_admin_token, ensure_secret, write_kubeconfig
from kcpsite.launcher import DEFAULT_PORT, PROJECT_DIR, READY_TIMEOUT, Stack, StackError, port_free
from kcpsite.tls import ensure_tls

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
ROOT_SHARD = "root"


def shard_names(count: int) -> list[str]:
    """`root`, then `shard-1` … `shard-<count-1>`."""
    return [ROOT_SHARD] + [f"shard-{i}" for i in range(1, count)]


class FrontStack(Stack):
    """The front proxy's processes (HAProxy, the route syncer) over `<data>`, its embedded
    PostgreSQL being the global database (`<data>/global`). Started in two steps by
    `ShardedStack`: the database first (the shards need it), the proxy once the shards run."""

    def __init__(self, data_dir: Path, port: int, global_database_url: str | None,
                 env: Mapping[str, str] | None = None, **kw: object) -> None:
        super().__init__(data_dir, port, global_database_url, env, postgres_dir=Path(data_dir) / "global",
                         **kw)  # type: ignore[arg-type]
        self.proxy_dir = self.data_dir / "proxy"

    def child_env(self) -> dict[str, str]:
        env = super().child_env()
        # The proxy's commands read the shard records and the directory: the global database is
        # their only one.
        env["KCP_GLOBAL_DATABASE_URL"] = env["DATABASE_URL"]
        return env

    def start_database(self) -> str:
        """The global database's URL (its embedded PostgreSQL started unless one was given)."""
        self._stopped = False
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(exist_ok=True)
        if self._requested_database_url is None:
            self.database_url = self._ensure_embedded_postgres()
        assert self.database_url is not None
        return self.database_url

    def start_proxy(self, timeout: float) -> None:
        """Configure and start HAProxy and the route syncer; return once the proxy serves root."""
        env = self.child_env()
        manage = str(PROJECT_DIR / "manage.py")
        self._progress(f"configuring the front proxy on {self.base_url}")
        self._run_step("proxy-config", [
            manage, "kcp_proxy_config", "--dir", str(self.proxy_dir), "--bind", f"127.0.0.1:{self.port}",
            "--ca", str(self.tls.ca_cert), "--cert", str(self.tls.server_cert), "--key", str(self.tls.server_key),
            "--root-shard", ROOT_SHARD, "--haproxy", HAPROXY], env)
        self._run_step("route-syncer-once", [manage, "kcp_route_syncer", "--dir", str(self.proxy_dir), "--once"], env)
        files = ProxyFiles(self.proxy_dir)
        synced = files.synced
        synced.unlink(missing_ok=True)
        # Master-worker mode (-W) with the master CLI (-S): the route syncer reloads it gracefully
        # when the shard records change (frontproxy.backends); -db keeps the master in the foreground.
        self._spawn("haproxy", ["-W", "-db", "-S", f"{files.master_socket},mode,600", "-f", str(files.config)], env,
                    program=HAPROXY)
        self._spawn("route-syncer", [manage, "kcp_route_syncer", "--dir", str(self.proxy_dir), "--haproxy", HAPROXY],
                    env)
        self._wait_ready(timeout)
        self._wait_path(f"/clusters/{ROOT_CLUSTER}/version", timeout)
        # Ready only once the syncer follows the directory: a workspace made before it listened
        # would stay unrouted (403) until its next full replace, a minute later.
        deadline = time.monotonic() + timeout
        while not synced.exists():
            if time.monotonic() > deadline:
                raise StackError(f"the route syncer did not sync within {timeout:.0f}s; logs in {self.logs_dir}")
            time.sleep(0.1)
        self._stop_supervising.clear()
        self._supervisor = threading.Thread(target=self._supervise_loop, daemon=True, name="kcp-front-supervisor")
        self._supervisor.start()

    def _wait_path(self, path: str, timeout: float) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=self.ssl_context()))
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            try:
                with opener.open(f"{self.base_url}{path}", timeout=5) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError, ssl.SSLError) as e:
                last = str(e)
            time.sleep(0.2)
        raise StackError(f"{self.base_url}{path} did not answer within {timeout:.0f}s ({last}); "
                         f"logs in {self.logs_dir}")


class ShardedStack:
    """N shards, the global database and the front proxy (see the module docstring). The same
    surface as `Stack` for the launcher's main(): start, stop, failed, base_url, kubeconfig_path."""

    def __init__(self, data_dir: Path, port: int = DEFAULT_PORT, shards: int = 2,
                 env: Mapping[str, str] | None = None, *, echo_errors: bool = True,
                 progress: Callable[[str], None] | None = None) -> None:
        if shards < 2:
            raise StackError("a sharded stack has at least 2 shards")
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        merged = {**os.environ, **(env or {})}
        for refused, why in (("DATABASE_URL", "each shard runs its own embedded PostgreSQL"),
                             ("REDIS_URL", "each shard needs a broker of its own")):
            if merged.get(refused):
                raise StackError(f"SHARDS mode on one machine does not use {refused} ({why}); unset it")
        self._progress = progress or (lambda _msg: None)
        base_env = {"KCP_SERVERS": "1", "KCP_WORKERS": "1", **(env or {})}
        self.front = FrontStack(self.data_dir, port, merged.get("KCP_GLOBAL_DATABASE_URL") or None, base_env,
                                echo_errors=echo_errors, progress=self._progress)
        self.shard_names = shard_names(shards)
        self.shards: dict[str, Stack] = {}
        self._base_env = base_env
        self._echo_errors = echo_errors

    # ---- Stack's surface -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.front.base_url

    @property
    def kubeconfig_path(self) -> Path:
        return self.front.kubeconfig_path

    @property
    def logs_dir(self) -> Path:
        return self.front.logs_dir

    @property
    def ca_path(self) -> Path:
        return self.front.ca_path

    @property
    def admin_token(self) -> str:
        return self.front.admin_token

    def ssl_context(self) -> ssl.SSLContext:
        return self.front.ssl_context()

    @property
    def failed(self) -> tuple[str, int | None] | None:
        for name, stack in [("proxy", self.front), *self.shards.items()]:
            if stack.failed is not None:
                child, rc = stack.failed
                return f"{name}/{child}", rc
        return None

    def shard_port(self, index: int) -> int:
        return self.port + 1 + index

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout: float = READY_TIMEOUT) -> ShardedStack:
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        ports = [self.port] + [self.shard_port(i) for i in range(len(self.shard_names))]
        if busy := [p for p in ports if not port_free(p)]:
            raise StackError(f"ports in use: {', '.join(map(str, busy))} (set KCP_PORT to another port)")
        self.front.kubeconfig_path.unlink(missing_ok=True)
        tls = ensure_tls(self.data_dir / "tls")
        ensure_admin_token(self.front.admin_token_path)
        # One secret key for every shard: portal sessions (global) and ServiceAccount tokens are
        # signed with it, and a session made through one shard is read by the others.
        secret_key = self._base_env.get("KCP_SECRET_KEY") or os.environ.get("KCP_SECRET_KEY") or \
            ensure_secret(self.data_dir / "secret-key", nbytes=50)
        global_url = self.front.start_database()
        # The other shards first: root's bootstrap then mirrors their records into Shard objects.
        order = [*self.shard_names[1:], self.shard_names[0]]
        for name in order:
            index = self.shard_names.index(name)
            port = self.shard_port(index)
            env = {**self._base_env, "KCP_SHARD_NAME": name, "KCP_GLOBAL_DATABASE_URL": global_url,
                   "KCP_EXTERNAL_URL": self.front.base_url, "KCP_BASE_URL": f"https://127.0.0.1:{port}",
                   "KCP_SECRET_KEY": secret_key}
            stack = Stack(self.data_dir / "shards" / name, port, None, env, echo_errors=self._echo_errors,
                          progress=self._shard_progress(name),
                          tls_dir=tls.ca_cert.parent, admin_token_path=self.front.admin_token_path)
            self.shards[name] = stack
            stack.start(timeout)
        self.front.start_proxy(timeout)
        write_kubeconfig(self.kubeconfig_path, f"{self.base_url}/clusters/{ROOT_CLUSTER}",
                         tls.ca_cert.read_bytes(), self.admin_token)

    def _shard_progress(self, name: str) -> Callable[[str], None]:
        return lambda msg: self._progress(f"[{name}] {msg}")

    def stop(self) -> None:
        """The proxy's children, the shards, then the global database (Stack.stop of the front)."""
        self.front._stop_children()
        for stack in reversed(list(self.shards.values())):
            stack.stop()
        self.front.stop()
