"""The launcher's supervision (kcpsite.launcher.Stack.supervise) over real child processes: a
child killed after a healthy run is started again, as often as it happens; one that cannot stay
up is given up on and reported in `failed`, and nothing is restarted after `stop()`."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from kcpsite.launcher import CRASH_LOOP_DEATHS, CRASH_LOOP_UPTIME, Stack, young_deaths_after

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
