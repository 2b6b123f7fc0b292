"""The launcher's child process model and its crash-loop rules (kcpsite.launcher.Stack uses them).

Contract
--------
* A child (`Child`) is one long-running process in its own session, hence the leader of its own
  process group, with its log and, when its stderr is echoed, the thread pumping it. Stopping or
  clearing up after one signals the whole group (`signal_group`), so nothing it forked survives.
* Should the launcher itself be killed, the children get SIGTERM from the kernel
  (PR_SET_PDEATHSIG, `parent_death_signal_setter`).
* Crash loop: a child that dies `CRASH_LOOP_DEATHS` times in a row within `CRASH_LOOP_UPTIME`
  seconds of its start (a broken configuration, not a killed process) is not restarted again; a
  death after a healthy run starts the count again (`young_deaths_after`). The embedded
  PostgreSQL (`PostgresProcess`, named `POSTGRES`) counts its deaths the same way; failed starts count
  as deaths.
* Of an echoed child's stderr only errors reach the terminal (`is_noise`); everything stays in
  its log.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

# A child that dies this many times in a row, each time within this many seconds of its start, is
# not restarted again: the stack stops.
CRASH_LOOP_DEATHS = 5
CRASH_LOOP_UPTIME = 10.0
SUPERVISE_EVERY = 0.25


_CLIENT_ERROR_PHRASES = frozenset(s.phrase for s in HTTPStatus if 400 <= s.value < 500)


def is_noise(line: str) -> bool:
    """Whether a line of daphne's stderr is routine rather than an error worth a terminal line.

    Routine: daphne's own INFO/DEBUG records, and django.request's warning for every 4xx answer
    (`Not Found: /path`, `Conflict: /path`): a Kubernetes API answers 404 and 409 all day. 5xx
    (`Internal Server Error: /path`) and tracebacks are shown. Everything stays in daphne.log."""
    if " INFO " in line or " DEBUG " in line:
        return True
    phrase, sep, path = line.partition(": ")
    return bool(sep) and path.startswith("/") and phrase in _CLIENT_ERROR_PHRASES


def parent_death_signal_setter() -> Callable[[], None] | None:
    """A preexec_fn making the child get SIGTERM if the launcher dies without cleaning up (Linux).

    Children run in their own sessions (so a terminal's Ctrl-C reaches only the launcher, which
    then stops them in order); without this a SIGKILLed launcher would leave daphne holding the
    port. The libc function is looked up here, in the parent, so the forked child only makes one
    plain call before exec (nothing that could wait for a lock held by another thread)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    sigterm = int(signal.SIGTERM)

    def set_pdeathsig() -> None:
        prctl(1, sigterm)  # PR_SET_PDEATHSIG

    return set_pdeathsig



@dataclass
class Child:
    name: str
    args: list[str]
    env: dict[str, str]
    echo: bool
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    pump: threading.Thread | None = None
    started_at: float = field(default_factory=time.monotonic)
    young_deaths: int = 0


#: The supervised embedded PostgreSQL's name in `Stack.restarts` and `Stack.failed`.
POSTGRES = "postgres"


@dataclass
class PostgresProcess:
    """The embedded PostgreSQL as the supervisor sees it: its postmaster (None after a failed
    start) and, as for a child, when it was started and how many times in a row it died young. Its
    exit status is not known: the postmaster is not the launcher's child (pg_ctl daemonizes it)."""

    postmaster: psutil.Process | None
    started_at: float = field(default_factory=time.monotonic)
    young_deaths: int = 0


def young_deaths_after(young_deaths: int, uptime: float, *, min_uptime: float = CRASH_LOOP_UPTIME) -> int:
    """How many times in a row a child has now died young, given the count before this death and
    how long it ran: a death after a healthy run starts the count again (a process killed now and
    then is restarted forever; one that cannot start is not)."""
    return young_deaths + 1 if uptime < min_uptime else 0



def signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    """Send `sig` to the process group the child leads (its pid: it was started in a new session)."""
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass

