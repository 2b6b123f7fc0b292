"""A small asynchronous Kubernetes-API client for the benchmark (aiohttp over the stack's TLS).

Every call returns `Reply(status, body, seconds)` instead of raising on HTTP errors: a benchmark
counts failures, it does not stop at the first one. Connection errors do raise."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

Obj = dict[str, Any]
TENANCY = "/apis/tenancy.kcp.io/v1alpha1"


@dataclass
class Reply:
    status: int
    body: Any
    seconds: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def cluster_prefix(path: str) -> str:
    return f"/clusters/{path}"


class Api:
    """One aiohttp session (unbounded connection pool) with the admin bearer token."""

    def __init__(self, base_url: str, token: str, ca_file: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.ca_file = ca_file
        self._ssl = ssl.create_default_context(cafile=ca_file)
        self.token = token
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Api:
        connector = aiohttp.TCPConnector(ssl=self._ssl, limit=0, limit_per_host=0, force_close=False)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=None),
            json_serialize=lambda o: orjson.dumps(o).decode(),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use Api as an async context manager"
        return self._session

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else self.base_url + path

    async def request(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
                      params: dict[str, str] | None = None, timeout: float = 60) -> Reply:
        data = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": content_type} if data is not None else {}
        began = time.perf_counter()
        async with self.session.request(method, self.url(path), data=data, headers=headers, params=params,
                                        timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            raw = await resp.read()
        seconds = time.perf_counter() - began
        try:
            parsed: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = raw.decode(errors="replace")
        return Reply(resp.status, parsed, seconds)

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any, **kw: Any) -> Reply:
        return await self.request("POST", path, body, **kw)

    async def delete(self, path: str, **kw: Any) -> Reply:
        return await self.request("DELETE", path, **kw)

    async def patch(self, path: str, body: Any, **kw: Any) -> Reply:
        return await self.request("PATCH", path, body, content_type="application/merge-patch+json", **kw)

    async def watch(self, path: str, params: dict[str, str],
                    on_open: Callable[[], None] | None = None) -> AsyncIterator[tuple[float, Obj]]:
        """Stream watch events as `(arrival perf_counter, event)`; `on_open` runs once the response
        headers arrived (the server has registered the watch)."""
        query = {**params, "watch": "true"}
        async with self.session.get(self.url(path), params=query) as resp:
            if resp.status != 200:
                raise RuntimeError(f"watch {path} answered {resp.status}: {(await resp.read())[:300]!r}")
            if on_open is not None:
                on_open()
            while True:
                line = await resp.content.readline()
                if not line:
                    return
                now = time.perf_counter()
                line = line.strip()
                if line:
                    yield now, orjson.loads(line)


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, interval: float = 0.1) -> bool:
    """Poll `check` until it is true (True) or `timeout` seconds passed (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(interval)
    return False


async def ensure_workspace(api: Api, parent: str, name: str, timeout: float = 60) -> Obj:
    """Create workspace `name` in `parent` unless it exists; return it once Ready."""
    reply = await api.post(f"{cluster_prefix(parent)}{TENANCY}/workspaces",
                           {"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace", "metadata": {"name": name}})
    if not reply.ok and reply.status != 409:
        raise RuntimeError(f"creating workspace {parent}:{name} answered {reply.status}: {reply.body}")
    latest: Obj = {}

    async def ready() -> bool:
        nonlocal latest
        r = await api.get(f"{cluster_prefix(parent)}{TENANCY}/workspaces/{name}")
        latest = r.body if r.ok else {}
        return bool(r.ok and (r.body.get("status") or {}).get("phase") == "Ready")

    if not await wait_until(ready, timeout):
        raise RuntimeError(f"workspace {parent}:{name} not Ready within {timeout:.0f}s: {latest.get('status')}")
    return latest


async def ensure_namespace(api: Api, workspace: str, name: str) -> None:
    reply = await api.post(f"{cluster_prefix(workspace)}/api/v1/namespaces", {"metadata": {"name": name}})
    if not reply.ok and reply.status != 409:
        raise RuntimeError(f"creating namespace {name} in {workspace} answered {reply.status}: {reply.body}")
