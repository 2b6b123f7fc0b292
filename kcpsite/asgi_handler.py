"""Django behind ASGI with one thread hop per request.

Why not Django's own `ASGIHandler`: our views, middleware and storage are synchronous, and in its
async mode Django runs each synchronous piece through `sync_to_async` on its own — every
middleware's `process_request` and `process_response`, the request signals, the view, the
response's close — about fifteen hand-offs between the event loop and a thread per request, in a
thread it starts and stops for each request (asgiref's `ThreadSensitiveContext`). Profiled on the
2-CPU VM, that was about a third of a serving process's CPU for `GET /version`.

`ThreadedASGIHandler` is Django's WSGI-style synchronous request cycle (middleware loaded in sync
mode, `request_started` → `get_response` → `response.close()` → `request_finished`, all in one
thread, as under a WSGI server) run on a bounded thread pool: the event loop reads the body, hands
the whole request to a thread once and sends what comes back. A request's database connection is
taken and given back within that one thread, as Django's connection handling expects."""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import HttpResponseBase
from django.urls import set_script_prefix


class ThreadedASGIHandler(ASGIHandler):
    def __init__(self, threads: int | None = None) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.executor = ThreadPoolExecutor(
            max_workers=threads or settings.KCP_REQUEST_THREADS, thread_name_prefix="kcp-request"
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        loop = asyncio.get_running_loop()
        with body_file:
            work = loop.run_in_executor(self.executor, self.respond, scope, body_file)
            try:
                response = await asyncio.shield(work)
            except asyncio.CancelledError:
                await self._outlast(work)
                raise
            await self.send_response(response, send)
            if response.streaming:  # closed (request_finished) once its iterator is consumed
                await loop.run_in_executor(self.executor, response.close)

    async def _outlast(self, work: asyncio.Future[HttpResponseBase]) -> None:
        """Return only once a cancelled request's thread is done with it.

        Cancelling (daphne does, some seconds after the client went away) cannot stop a thread
        that is running the request: until it returns, the request still occupies that thread,
        reads its body file and may hold a database connection. Returning early would close the
        body file under it and free what counts the request as in flight (the per-tenant seats of
        kube.endpoints.fairness) while its work goes on. Its response, if any, is closed."""
        while not work.done():
            with contextlib.suppress(asyncio.CancelledError, Exception):  # its own error is the thread's
                await asyncio.shield(work)
        if not work.cancelled() and work.exception() is None and work.result().streaming:
            self.executor.submit(work.result().close)

    def respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """The synchronous request cycle, in a pool thread. A non-streaming response is closed here
        (its content is already bytes), so the request's database connection goes back before the
        body is written to the client."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            assert error_response is not None
            response: HttpResponseBase = error_response
        else:
            response = self.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
        if not response.streaming:
            response.close()
        return response
