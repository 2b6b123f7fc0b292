"""Per-tenant request rate limits (DESIGN: "a noisy tenant gets 429 + Retry-After while others
stay fast").

A tenant is what a request addresses: the logical cluster of `/clusters/<cluster>/…`, or the
virtual workspace of `/services/<name>/<args…>/clusters/…` (a provider's view of one export,
whatever cluster it reads, `*` included). Cross-cluster wildcard requests (`/clusters/*/…`,
which only cluster admins may make) share one bucket. Each tenant has a token bucket in each serving process:
`rate` requests a second on average, bursts of up to `burst`. A request finding its bucket empty
is answered at once, before authentication or any database work, with `429 TooManyRequests`,
`Retry-After` (whole seconds until a token is back) and a Status body; kubectl, helm and
client-go wait that long and retry. So a tenant flooding the server costs it a dictionary lookup
per excess request, and other tenants' requests keep their latency.

Limits are per serving process, as Kubernetes' API priority and fairness is per apiserver: with
`KCP_SERVERS` processes a tenant's ceiling is up to that many times `rate`. A workspace addressed
both by path and by logical-cluster name has two buckets. Watches count once, when they open."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from kube import errors

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def tenant_key(path: str) -> str | None:
    """The tenant a request path addresses, or None for paths no tenant owns (/version, /readyz,
    the portal, static files)."""
    if path.startswith("/clusters/"):
        cluster = path[len("/clusters/"):].partition("/")[0]
        return cluster or None
    if path.startswith("/services/"):
        head, sep, _ = path.partition("/clusters/")
        return head[1:] if sep else None
    return None


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


class TenantRateLimit:
    """ASGI middleware: HTTP requests over their tenant's rate get a 429 Status; `rate` 0 turns
    limiting off."""

    def __init__(self, app: ASGIApp, *, rate: float, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst) if rate > 0 else None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if self.buckets is not None and scope["type"] == "http":
            key = tenant_key(scope["path"])
            if key is not None and (wait := self.buckets.take(key)):
                await _too_many_requests(send, key, wait)
                return
        await self.app(scope, receive, send)


async def _too_many_requests(send: Any, tenant: str, wait: float) -> None:
    retry_after = max(1, math.ceil(wait))
    err = errors.TooManyRequests(f"too many requests for {tenant}, please try again later",
                                 retry_after=retry_after)
    body = orjson.dumps(err.status())
    await send({"type": "http.response.start", "status": err.code, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
    ]})
    await send({"type": "http.response.body", "body": body})
