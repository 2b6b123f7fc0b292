"""Throw-away databases for the benchmarks.

* `database_for_run(server_url, keep)`: with DATABASE_URL's server, a fresh `kcp_bench_<hex>`
  database (dropped afterwards unless `keep`); without, None (the caller's stack starts its
  embedded PostgreSQL).
* `scratch_database(work_dir, server_url)`: a fresh database **migrated** with the project's
  migrations (`manage.py migrate`), for benchmarks that run the project's functions in-process
  without a stack (bench.directory, bench.proxymap): on DATABASE_URL's server when one is given,
  else an embedded PostgreSQL in `work_dir` (stopped afterwards; the caller removes the dir).
* `django_env(database_url, work_dir)`: the environment a process needs to run the project's code
  against that database (single-database mode: the directory and the shard records in it).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_DIR = Path(os.path.abspath(__file__)).parent.parent


@contextlib.contextmanager
def database_for_run(server_url: str | None, keep: bool) -> Iterator[str | None]:
    """With DATABASE_URL: a fresh `kcp_bench_<hex>` database on that server (dropped afterwards
    unless `keep`). Without: None (the stack's embedded PostgreSQL)."""
    if not server_url:
        yield None
        return
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(server_url)
    admin = make_conninfo("", **{**params, "dbname": "postgres"})
    name = f"kcp_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_env(database_url: str, work_dir: Path) -> dict[str, str]:
    """The environment for the project's code on `database_url`, its data dir `work_dir` (a fixed
    secret key: nothing is signed that outlives the run). KCP_GLOBAL_DATABASE_URL is dropped: one
    database holds the directory and the shard records, as in single-shard mode."""
    env = {k: v for k, v in os.environ.items() if k != "KCP_GLOBAL_DATABASE_URL"}
    pythonpath = [str(PROJECT_DIR)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    env.update({"DATABASE_URL": database_url, "KCP_DATA_DIR": str(work_dir), "KCP_SECRET_KEY": "bench-scratch",
                "DJANGO_SETTINGS_MODULE": "kcpsite.settings", "PYTHONPATH": os.pathsep.join(pythonpath)})
    return env


@contextlib.contextmanager
def scratch_database(work_dir: Path, server_url: str | None = None) -> Iterator[str]:
    """A fresh database with the project's migrations applied; gone afterwards (see the module
    docstring). Raises RuntimeError with migrate's output when migrating fails."""
    work_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(database_for_run(server_url, keep=False))
        if url is None:
            from kcpsite.embedded import ensure_embedded_postgres, stop_embedded_postgres

            url = ensure_embedded_postgres(work_dir)
            stack.callback(stop_embedded_postgres, work_dir)
        done = subprocess.run([sys.executable, str(PROJECT_DIR / "manage.py"), "migrate", "--noinput"],
                              env=django_env(url, work_dir), cwd=work_dir, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        yield url


@contextlib.contextmanager
def django_on_database(database_url: str | None, prefix: str) -> Iterator[str]:
    """Set up Django in this process on `database_url` (already migrated), or, when it is None, on
    a scratch database (`scratch_database`, on DATABASE_URL's server if set) in a temporary
    directory named after `prefix`, removed with everything in it afterwards. Yields the URL."""
    import shutil
    import tempfile

    work_dir = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    try:
        with contextlib.ExitStack() as stack:
            url = database_url or stack.enter_context(scratch_database(work_dir, os.environ.get("DATABASE_URL")))
            os.environ.update(django_env(url, work_dir))
            os.environ.pop("KCP_GLOBAL_DATABASE_URL", None)
            import django

            django.setup()
            try:
                yield url
            finally:
                from django.db import connections

                connections.close_all()  # before the scratch database is dropped or stopped
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
