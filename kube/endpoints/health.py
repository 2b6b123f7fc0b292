"""The health endpoints' checks and answers: /livez, /readyz and /healthz (also under
/clusters/<cluster>/), answered the way kube-apiserver answers them, since kubelet probes, load
balancers and `kubectl get --raw /readyz?verbose` read that format.

* `/livez` says whether this process is alive: only `ping`. It never asks the database: a
  failing liveness probe gets the process restarted, and restarting API servers brings no
  database back (it would only turn a database outage into a restart storm).
* `/readyz` says whether this process can serve: `ping` and `database` (see `DatabaseCheck`).
  While the database is down, a load balancer or a launcher waiting for readiness stops sending
  traffic here instead of collecting 503s.
* `/healthz` is deprecated in Kubernetes in favour of the two above; it answers what `/readyz`
  answers, the stricter reading, so a legacy probe never calls a server without its database
  healthy.

Answer: `200 ok` when every check passes. `?verbose` lists every check (`[+]database ok`) and
a final `readyz check passed`; a failure always lists them, the failed one as
`[-]database failed: reason withheld`, with `503` and `readyz check failed`. The reason is
withheld because these endpoints are anonymous and a database error names hosts and socket
paths; it goes to the server log instead (once per change of state, not per probe).
`/readyz/<check>` runs that one check (`404` for a check the endpoint does not have);
`?exclude=<check>` (repeatable) leaves a check out."""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

import psycopg

from kube.storage.pump import conninfo as database_conninfo

log = logging.getLogger(__name__)

#: Seconds a database check may take in all (libpq's connect timeout cannot be under 2 s).
DATABASE_CHECK_TIMEOUT = 2.0
#: Seconds a database check's answer is reused, so any number of probes costs the database at
#: most one connection a second per serving process.
DATABASE_CHECK_TTL = 1.0
REASON_WITHHELD = "reason withheld"


def _ping() -> str | None:
    """This process answers HTTP (reaching this function is the check)."""
    return None


class DatabaseCheck:
    """`check()` → None when the database answers, else why not (for the log, not for clients).

    Each check opens a new connection and runs `SELECT 1` under a connect and statement timeout:
    a new connection, not one from the pool, because whether new connections can be made is what
    a restart or an exhausted server breaks, and a pooled one would wait out the pool's timeout
    (30 s) instead of failing within `timeout`. The answer is reused for `ttl` seconds; while one
    thread checks, others reuse the previous answer instead of queueing behind it (a hung
    database must not pin every request thread on probes). `conninfo` is asked on every check and
    a changed target is never answered from the cache."""

    name = "database"

    def __init__(self, conninfo: Callable[[], str], *, timeout: float = DATABASE_CHECK_TIMEOUT,
                 ttl: float = DATABASE_CHECK_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.conninfo = conninfo
        self.timeout = timeout
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._last: tuple[str, float, str | None] | None = None  # (conninfo, checked at, error)

    def __call__(self) -> str | None:
        target = self.conninfo()
        last = self._fresh(target)
        if last is not None:
            return last[2]
        previous = self._last if self._last is not None and self._last[0] == target else None
        if not self._lock.acquire(blocking=previous is None):
            assert previous is not None
            return previous[2]
        try:
            last = self._fresh(target)
            if last is not None:
                return last[2]
            error = self._probe(target)
            was_failing = previous is not None and previous[2] is not None
            if error is not None and not was_failing:
                log.warning("readiness: database check failed: %s", error)
            elif error is None and was_failing:
                log.warning("readiness: database check passes again")
            self._last = (target, self.clock(), error)
            return error
        finally:
            self._lock.release()

    def _fresh(self, target: str) -> tuple[str, float, str | None] | None:
        last = self._last
        if last is not None and last[0] == target and self.clock() - last[1] < self.ttl:
            return last
        return None

    def _probe(self, target: str) -> str | None:
        try:
            with psycopg.connect(target, autocommit=True, connect_timeout=max(2, math.ceil(self.timeout)),
                                 options=f"-c statement_timeout={int(self.timeout * 1000)}") as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as e:
            return " ".join(str(e).split()) or type(e).__name__
        return None


#: The serving process's database check (one per process: its cache is what bounds probe load).
database_check = DatabaseCheck(database_conninfo)

CHECKS: dict[str, Callable[[], str | None]] = {"ping": _ping, "database": lambda: database_check()}
ENDPOINT_CHECKS: dict[str, tuple[str, ...]] = {
    "livez": ("ping",),
    "readyz": ("ping", "database"),
    "healthz": ("ping", "database"),
}

_HEALTH_PATH = re.compile(r"(?:^|/)(healthz|livez|readyz)(?:/([^/]*))?/?$")


@dataclass(frozen=True)
class HealthAnswer:
    status: int
    text: str


def health_answer(*, path: str, verbose: bool, exclude: Collection[str]) -> HealthAnswer:
    """The answer to a health request for `path` (`/readyz`, `/clusters/x/livez/ping`, …)."""
    match = _HEALTH_PATH.search(path)
    if match is None:
        return HealthAnswer(404, "404 page not found\n")
    endpoint, only = match.group(1), match.group(2) or ""
    names = ENDPOINT_CHECKS[endpoint]
    if only:
        if only not in names:
            return HealthAnswer(404, "404 page not found\n")
        names = (only,)
    names = tuple(n for n in names if n not in exclude)
    failures = {name: error for name in names if (error := CHECKS[name]()) is not None}
    if not failures and not verbose:
        return HealthAnswer(200, "ok")
    lines = [f"[-]{n} failed: {REASON_WITHHELD}" if n in failures else f"[+]{n} ok" for n in names]
    lines += [f"[+]{n} excluded: ok" for n in ENDPOINT_CHECKS[endpoint] if n in exclude and not only]
    lines.append(f"{endpoint} check {'failed' if failures else 'passed'}")
    return HealthAnswer(503 if failures else 200, "\n".join(lines) + "\n")
