"""A watch request served in process: the real ASGI application (router → Channels consumer →
event pump → PostgreSQL) driven from a background event loop, its JSON lines collected as they
arrive. Tests using it need committed data (`django_db(transaction=True)`): the watch reads
through its own database connection."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any


class Watch:
    """Runs one watch request against kcpsite.asgi in a background event loop."""

    def __init__(
        self,
        path: str,
        token: str,
        accept: str = "application/json",
        prefix: str = "/clusters/root",
        headers: dict[str, str] | None = None,
    ) -> None:
        """`prefix` + `path` is the URL path watched (a virtual workspace's `/services/...` prefix);
        `headers` are sent besides Accept and Authorization."""
        self.prefix = prefix
        self.extra_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self.path, _, self.query = path.partition("?")
        self.token = token
        self.accept = accept
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.finished = threading.Event()
        self.started = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._disconnect: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.started.wait(30), "watch did not start"

    def _run(self) -> None:
        from django.db import connections

        from kcpsite.asgi import application

        async def main() -> None:
            self._disconnect = asyncio.Event()
            sent_request = False

            async def receive() -> dict[str, Any]:
                nonlocal sent_request
                if not sent_request:
                    sent_request = True
                    return {"type": "http.request", "body": b"", "more_body": False}
                assert self._disconnect is not None
                await self._disconnect.wait()
                return {"type": "http.disconnect"}

            async def send(msg: dict[str, Any]) -> None:
                if msg["type"] == "http.response.start":
                    self.status = msg["status"]
                    self.headers = {k.decode().lower(): v.decode() for k, v in msg.get("headers", [])}
                    self.started.set()
                elif msg["type"] == "http.response.body":
                    self.chunks.append(msg.get("body", b""))
                    if not msg.get("more_body"):
                        self.finished.set()
                        assert self._disconnect is not None
                        self._disconnect.set()

            headers = [(b"accept", self.accept.encode()), *self.extra_headers]
            if self.token:
                headers.append((b"authorization", f"Bearer {self.token}".encode()))
            scope = {
                "type": "http",
                "method": "GET",
                "path": self.prefix + self.path,
                "query_string": self.query.encode(),
                "headers": headers,
            }
            await application(scope, receive, send)
            from kube.storage.pump import get_pump

            await get_pump().stop()

        try:
            self._loop.run_until_complete(main())
        finally:
            self.finished.set()
            self.started.set()
            connections.close_all()

    def events(self) -> list[dict[str, Any]]:
        data = b"".join(self.chunks)
        return [json.loads(line) for line in data.split(b"\n") if line.strip()]

    def wait_for(self, pred: Any, timeout: float = 10) -> list[dict[str, Any]]:
        end = time.time() + timeout
        while time.time() < end:
            evs = self.events()
            if pred(evs):
                return evs
            time.sleep(0.05)
        raise AssertionError(f"watch saw {self.events()}")

    def close(self) -> None:
        if self._disconnect is not None:
            self._loop.call_soon_threadsafe(self._disconnect.set)
        self._thread.join(10)
