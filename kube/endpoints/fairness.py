"""Per-tenant fairness (DESIGN: "a noisy tenant gets 429 + Retry-After while others stay fast"):
a request rate and a concurrency limit per tenant and serving process.

A tenant is what a request addresses: the logical cluster of `/clusters/<cluster>/…`, or the
virtual workspace of `/services/<name>/<args…>/clusters/…` (a provider's view of one export,
whatever cluster it reads, `*` included). Cross-cluster wildcard requests (`/clusters/*/…`,
which only cluster admins may make) share one tenant. Both limits are applied in the ASGI layer,
before authentication or any database work, so refusing costs a dictionary lookup.

Rate (`TokenBuckets`): `rate` requests a second on average, bursts of up to `burst`. A request
finding its bucket empty gets `429 TooManyRequests` with `Retry-After` (whole seconds until a
token is back) and a Status body; kubectl, helm and client-go wait that long and retry. Watches
spend a token once, when they open.

Concurrency (`TenantSeats`). A rate alone does not protect the others: 32 connections of one
tenant, each sending its next create when the last one returns, stay under any sensible rate
yet fill the serving process's few request threads (KCP_REQUEST_THREADS), and every other
tenant's request queues behind them (measured: a quiet tenant's p50 went from ~5-10 to 100-170
ms without a single 429). So a tenant holds at most `concurrency` seats per serving process; a
write (POST/PUT/PATCH/DELETE) is charged `write_seats` of them, since it costs a few times a
read (its transaction, the event-log row, the commit: the server default, two of two seats, lets
a tenant run two reads or one write at a time per process); a request that does not fit waits
in its tenant's queue (first come first served, no thread held, at most `queue` waiting and each
at most `QUEUE_WAIT_SECONDS`), and beyond that gets `429` with `Retry-After: 1`, as Kubernetes'
API priority and fairness rejects what its queues cannot hold. The default leaves every tenant
at most half the request threads, so one tenant at its limit can slow the others only by its
share of the CPU, not by the length of a queue.

A seat is taken when the request's body has arrived in full (the moment the request could run),
not when its headers did: a client trickling a body slowly, which anyone can do without a
token, must not hold a tenant's seats meanwhile. It is given back when the application returns,
whatever way: response sent, exception, cancellation after the client went away (the threaded
handler returns only once its thread is done, so a seat is never free while its work still
runs). Watches are long-running: they take no seat (a tenant may watch while it writes, as
APF exempts watches from its concurrency), but open watches per tenant are capped at `watches`.

Whose budget: a tenant's, as presented by one credential. The key is the tenant together with a
digest of the request's `Authorization` header (the client's address when it sends none), taken
before authentication as everything here is. Keyed on the tenant alone, anyone — without a valid
token — could spend another tenant's tokens and seats with requests aimed at its path and make
its own clients wait or see 429s: one tenant must never be able to slow another down that way.
A tenant's clients sharing one token (the usual case) share one budget.

Limits are per serving process, as Kubernetes' API priority and fairness is per apiserver: with
`KCP_SERVERS` processes a tenant's ceiling is up to that many times each. A workspace addressed
both by path and by logical-cluster name counts as two tenants. One event loop per process runs
this middleware, so nothing here needs a lock."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from kube import errors

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

#: Methods that change state: charged `write_seats` seats (see the module docstring).
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The longest a request waits in its tenant's queue for a seat before it gets its 429.
QUEUE_WAIT_SECONDS = 5.0
#: Retry-After of a request refused for concurrency (a seat is typically free within milliseconds).
CONCURRENCY_RETRY_AFTER = 1


def tenant_key(path: str) -> str | None:
    """The tenant a request path addresses, or None for paths no tenant owns (/version, /readyz,
    the portal, static files). A backend's own part of a virtual workspace
    (`/shards/<name>/services/…`) counts as that virtual workspace."""
    if path.startswith("/shards/"):
        path = "/" + path[len("/shards/") :].partition("/")[2]
    if path.startswith("/clusters/"):
        cluster = path[len("/clusters/"):].partition("/")[0]
        return cluster or None
    if path.startswith("/services/"):
        head, sep, _ = path.partition("/clusters/")
        return head[1:] if sep else None
    return None


def credential_key(scope: Scope) -> str:
    """Which credential a request presents, as a short digest of its `Authorization` header (never
    the token itself: the key ends up in memory dumps and debuggers), or the client's address for
    a request without one. Unverified on purpose: a forged token only buys its sender a budget of
    its own, never a share of someone else's."""
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            return hashlib.blake2b(value, digest_size=12).hexdigest()
    client = scope.get("client")
    return f"anonymous@{client[0]}" if client else "anonymous"


class TokenBuckets:
    """Token buckets by key: `rate` tokens a second, at most `burst` held; a new key starts full.

    `take(key)` spends a token and returns 0.0, or, when none is left, returns the seconds until
    one is (nothing spent). Not thread-safe: one per event loop. Keys whose bucket has refilled are
    forgotten once more than `max_keys` are held, so memory follows active tenants, not all seen."""

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, at)

    def take(self, key: str) -> float:
        now = self.clock()
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_keys:
                self._forget_full(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        refill = self.burst / self.rate
        for key in [k for k, (_, at) in self._buckets.items() if now - at >= refill]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass(eq=False)
class _Waiter:
    width: int
    granted: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class TenantSeats:
    """Seats by key: at most `limit` in use per key at once; `acquire` waits in the key's queue
    (FIFO, at most `queue` waiting, each at most `max_wait` seconds) for one that does not fit.

    `acquire(key, width)` returns True once `width` seats (at most `limit`) are the caller's, which
    it must `release(key, width)` exactly once; False when refused (queue full or waited too long),
    holding nothing. A caller cancelled while waiting leaves the queue, holding nothing. Keys with
    nothing in use and nobody waiting are forgotten. Not thread-safe: one per event loop."""

    def __init__(self, limit: int, *, queue: int = 0, max_wait: float = QUEUE_WAIT_SECONDS) -> None:
        if limit < 1 or queue < 0 or max_wait < 0:
            raise ValueError("limit must be >= 1, queue and max_wait >= 0")
        self.limit = limit
        self.queue = queue
        self.max_wait = max_wait
        self._in_use: dict[str, int] = {}
        self._waiting: dict[str, deque[_Waiter]] = {}

    def in_use(self, key: str) -> int:
        return self._in_use.get(key, 0)

    def waiting(self, key: str) -> int:
        return len(self._waiting.get(key, ()))

    def __len__(self) -> int:
        """Keys with seats in use or requests waiting."""
        return len(self._in_use.keys() | self._waiting.keys())

    async def acquire(self, key: str, width: int = 1) -> bool:
        width = max(1, min(width, self.limit))
        if key not in self._waiting and self.in_use(key) + width <= self.limit:
            self._in_use[key] = self.in_use(key) + width
            return True
        queue = self._waiting.setdefault(key, deque())
        if len(queue) >= self.queue:
            if not queue:
                del self._waiting[key]
            return False
        waiter = _Waiter(width)
        queue.append(waiter)
        timer = asyncio.get_running_loop().call_later(self.max_wait, _expire, waiter.granted)
        try:
            granted = await waiter.granted
        except asyncio.CancelledError:
            if waiter.granted.done() and not waiter.granted.cancelled() and waiter.granted.result():
                self.release(key, width)  # granted as it was being cancelled: nobody will release it
            else:
                self._leave(key, waiter)
            raise
        finally:
            timer.cancel()
        if not granted:
            self._leave(key, waiter)
        return granted

    def release(self, key: str, width: int = 1) -> None:
        width = max(1, min(width, self.limit))
        left = self.in_use(key) - width
        if left < 0:
            raise RuntimeError(f"released more seats of {key!r} than were taken")
        if left:
            self._in_use[key] = left
        else:
            self._in_use.pop(key, None)
        self._admit(key)

    def _leave(self, key: str, waiter: _Waiter) -> None:
        queue = self._waiting.get(key)
        if queue is not None and waiter in queue:
            queue.remove(waiter)
        self._admit(key)  # it may have been the head that kept a narrower request waiting

    def _admit(self, key: str) -> None:
        """Hand freed seats to the waiters at the head of the key's queue, in order."""
        queue = self._waiting.get(key)
        while queue:
            head = queue[0]
            if head.granted.done():  # expired or cancelled, not yet out of the queue
                queue.popleft()
                continue
            if self.in_use(key) + head.width > self.limit:
                break
            queue.popleft()
            self._in_use[key] = self.in_use(key) + head.width
            head.granted.set_result(True)
        if queue is not None and not queue:
            del self._waiting[key]


def _expire(granted: asyncio.Future[bool]) -> None:
    if not granted.done():
        granted.set_result(False)


class _Admission:
    """One request's seat: taken by `receive` once the request's last body message arrives (see
    the module docstring); when refused, the application is told the client disconnected (it then
    sends nothing) and `refused` is set for the middleware to answer 429."""

    def __init__(self, seats: TenantSeats, key: str, width: int, receive: Any) -> None:
        self.seats = seats
        self.key = key
        self.width = width
        self._receive = receive
        self.asked = False
        self.held = False
        self.refused = False

    async def receive(self) -> dict[str, Any]:
        message: dict[str, Any] = await self._receive()
        if not self.asked and message.get("type") == "http.request" and not message.get("more_body", False):
            self.asked = True
            if await self.seats.acquire(self.key, self.width):
                self.held = True
            else:
                self.refused = True
                return {"type": "http.disconnect"}
        return message

    def release(self) -> None:
        if self.held:
            self.held = False
            self.seats.release(self.key, self.width)


class TenantRateLimit:
    """ASGI middleware applying the per-tenant limits to HTTP requests (see the module docstring).

    `rate` 0 turns the rate limit off, `concurrency` 0 the concurrency limit, `watches` 0 the cap on
    open watches. `is_long_running(scope)` says which requests are watches."""

    def __init__(self, app: ASGIApp, *, rate: float, burst: int, concurrency: int = 0, queue: int = 0,
                 write_seats: int = 1, watches: int = 0,
                 is_long_running: Callable[[Scope], bool] = lambda scope: False) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst) if rate > 0 else None
        self.seats = TenantSeats(concurrency, queue=queue) if concurrency > 0 else None
        self.write_seats = max(1, write_seats)
        self.watch_cap = watches
        self.is_long_running = is_long_running
        self.open_watches: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        tenant = tenant_key(scope["path"]) if scope["type"] == "http" else None
        if tenant is None:
            await self.app(scope, receive, send)
            return
        key = f"{tenant} {credential_key(scope)}"
        if self.buckets is not None and (wait := self.buckets.take(key)):
            await _too_many_requests(send, f"too many requests for {tenant}, please try again later", wait)
            return
        if self.is_long_running(scope):
            await self._watch(tenant, key, scope, receive, send)
        elif self.seats is not None:
            await self._seated(self.seats, tenant, key, scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _seated(
        self, seats: TenantSeats, tenant: str, key: str, scope: Scope, receive: Any, send: Any
    ) -> None:
        width = self.write_seats if scope.get("method") in WRITE_METHODS else 1
        admission = _Admission(seats, key, width, receive)
        try:
            await self.app(scope, admission.receive, send)
        finally:
            admission.release()
        if admission.refused:
            await _too_many_requests(send, f"too many requests in flight for {tenant}, please try again later",
                                     CONCURRENCY_RETRY_AFTER)

    async def _watch(self, tenant: str, key: str, scope: Scope, receive: Any, send: Any) -> None:
        if not self.watch_cap:
            await self.app(scope, receive, send)
            return
        if self.open_watches.get(key, 0) >= self.watch_cap:
            await _too_many_requests(send, f"too many watches open for {tenant}, please try again later",
                                     CONCURRENCY_RETRY_AFTER)
            return
        self.open_watches[key] = self.open_watches.get(key, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            if (left := self.open_watches[key] - 1) > 0:
                self.open_watches[key] = left
            else:
                del self.open_watches[key]


async def _too_many_requests(send: Any, message: str, wait: float) -> None:
    retry_after = max(1, math.ceil(wait))
    err = errors.TooManyRequests(message, retry_after=retry_after)
    body = orjson.dumps(err.status())
    await send({"type": "http.response.start", "status": err.code, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
    ]})
    await send({"type": "http.response.body", "body": body})
