"""The database connection pool's health check (settings: DATABASES OPTIONS "pool" "check").

psycopg_pool calls `check` on every connection it is about to hand out. Its stock check finds one
dead connection at a time, and after each failure the caller sleeps with exponential backoff
(1, 2, 4, 8 … s) before taking the next idle one: after a database restart, a pool holding a dozen
idle connections, all dead, made requests wait out the pool's whole timeout (30 s) and fail, long
after the database was back. A failed check means the server went away (a restart, a failover,
its connections terminated), so every idle connection is suspect: the pool is drained (idle ones
closed and replaced, ones in use closed when they come back) and the caller's next try gets a
fresh connection."""

from __future__ import annotations

from typing import Any

from psycopg_pool import ConnectionPool


def check_pooled_connection(conn: Any) -> None:
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        pool = getattr(conn, "_pool", None)  # set by the pool on the connection it hands out
        if isinstance(pool, ConnectionPool):
            pool.drain()
        raise
