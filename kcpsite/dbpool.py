"""The database connection pool's health check (settings: DATABASES OPTIONS "pool" "check").

psycopg_pool calls `check` on every connection it is about to hand out, i.e. once per request and
per task. Its stock check is an empty query: a whole round trip to PostgreSQL each time, one of
the six or seven a write makes. A connection the server has ended while it sat idle in the pool
(a restart or crash, `pg_terminate_backend`, a failover) always has something waiting on its
socket by then: the server's FATAL message, or end-of-file once the backend's socket closed. So a
connection that is open, idle and has nothing to read is handed out without a round trip; only
one with data waiting (or not idle) gets the stock check. A server that vanished without a word
(a host unplugged) is no better caught by an empty query, which would wait for TCP to give up too.

The stock check finds one dead connection at a time, and after each failure the caller sleeps
with exponential backoff (1, 2, 4, 8 … s) before taking the next idle one: after a database
restart, a pool holding a dozen idle connections, all dead, made requests wait out the pool's
whole timeout (30 s) and fail, long after the database was back. A failed check means the server
went away, so every idle connection is suspect: the pool is drained (idle ones closed and
replaced, ones in use closed when they come back) and the caller's next try gets a fresh one."""

from __future__ import annotations

import select
from typing import Any

from psycopg import pq
from psycopg_pool import ConnectionPool

_READABLE = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


def connection_looks_alive(conn: Any) -> bool:
    """True when `conn` is open, idle outside a transaction, and its socket has nothing to read
    (poll, not select: a serving process may hold more than FD_SETSIZE descriptors)."""
    pgconn = conn.pgconn
    if conn.closed or pgconn.status != pq.ConnStatus.OK:
        return False
    if pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    poller = select.poll()
    poller.register(pgconn.socket, _READABLE)
    return not poller.poll(0)


def check_pooled_connection(conn: Any) -> None:
    try:
        if connection_looks_alive(conn):
            return
        ConnectionPool.check_connection(conn)
    except Exception:
        pool = getattr(conn, "_pool", None)  # set by the pool on the connection it hands out
        if isinstance(pool, ConnectionPool):
            pool.drain()
        raise
