"""kcpsite.dbpool: a pooled connection is handed out without a round trip while it is healthy, and a
connection the server ended is caught and the whole pool drained."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from kcpsite.dbpool import check_pooled_connection, connection_looks_alive

pytestmark = pytest.mark.django_db


@pytest.fixture
def conninfo(db: Any) -> str:
    params = connection.get_connection_params()
    return psycopg.conninfo.make_conninfo(
        "", **{k: v for k, v in params.items() if k in {"dbname", "user", "password", "host", "port"} and v}
    )


@pytest.fixture
def observer(conninfo: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        yield conn


def _last_query(observer: psycopg.Connection[Any], pid: int) -> str:
    row = observer.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    assert row is not None, f"backend {pid} is gone"
    return str(row[0])


def _wait_gone(observer: psycopg.Connection[Any], pid: int) -> None:
    deadline = time.monotonic() + 10
    while observer.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
        assert time.monotonic() < deadline, f"backend {pid} did not end"
        time.sleep(0.02)


def test_a_healthy_idle_connection_is_handed_out_without_a_query(
    conninfo: str, observer: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT 'marker-before-check'")
        assert connection_looks_alive(conn)
        check_pooled_connection(conn)
        assert _last_query(observer, conn.info.backend_pid) == "SELECT 'marker-before-check'"


def test_a_connection_inside_a_transaction_gets_the_full_check(conninfo: str) -> None:
    with psycopg.connect(conninfo) as conn:
        conn.execute("SELECT 1")  # opens a transaction (autocommit is off)
        assert not connection_looks_alive(conn)


def test_a_terminated_connection_is_caught_without_using_it(
    conninfo: str, observer: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        pid = conn.info.backend_pid
        observer.execute("SELECT pg_terminate_backend(%s)", [pid])
        _wait_gone(observer, pid)
        assert not connection_looks_alive(conn)
        with pytest.raises(psycopg.OperationalError):
            check_pooled_connection(conn)


def test_a_pool_whose_connections_were_all_terminated_hands_out_a_working_one_at_once(
    conninfo: str, observer: psycopg.Connection[Any]
) -> None:
    with ConnectionPool(conninfo, min_size=4, max_size=4, check=check_pooled_connection, timeout=20) as pool:
        pool.wait(timeout=10)
        held = [pool.getconn() for _ in range(4)]
        pids = [c.info.backend_pid for c in held]
        for c in held:
            pool.putconn(c)
        observer.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])
        for pid in pids:
            _wait_gone(observer, pid)
        with pool.connection() as conn:
            assert conn.execute("SELECT 42").fetchone() == (42,)
            assert conn.info.backend_pid not in pids
        # One failed check drained the pool: the caller did not try (and back off after) each
        # dead connection in turn.
        assert pool.get_stats()["connections_lost"] == 1
