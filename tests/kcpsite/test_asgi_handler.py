"""kcpsite.asgi_handler: Django's request cycle in one pool thread per request, behind ASGI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from django.core import signals
from django.db import connections


def _call(app: Any, scope: dict[str, Any], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drive one ASGI request on an event loop of its own (in a thread: other tests leave a loop
    running in this one) and return what the application sent."""
    sent: list[dict[str, Any]] = []

    async def main() -> None:
        queue = list(messages)

        async def receive() -> dict[str, Any]:
            if queue:
                return queue.pop(0)
            await asyncio.Event().wait()  # nothing more: the client waits for the response
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, main()).result(timeout=30)
    return sent


def _scope(method: str, path: str, token: str, body: bytes = b"") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 6443),
    }


@pytest.fixture
def admin_token(transactional_db: Any) -> str:
    from kcpsite.bootstrap import bootstrap_root
    from kube.authz.tokens import token_issue

    bootstrap_root()
    return token_issue(user_name="admin", groups=["system:masters"])


def test_a_request_runs_its_whole_cycle_in_one_pool_thread(admin_token: str) -> None:
    from kcpsite.asgi_handler import ThreadedASGIHandler

    handler = ThreadedASGIHandler(threads=2)
    threads: dict[str, int] = {}

    def started(**_: Any) -> None:
        threads["started"] = threading.get_ident()

    def finished(**_: Any) -> None:
        threads["finished"] = threading.get_ident()
        threads["connection_in_use"] = int(connections["default"].connection is not None)

    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one-hop"}}).encode()
    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        sent = _call(
            handler,
            _scope("POST", "/clusters/root/api/v1/namespaces/default/configmaps", admin_token, body),
            [
                {"type": "http.request", "body": body[:10], "more_body": True},
                {"type": "http.request", "body": body[10:]},
            ],
        )
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
        handler.executor.shutdown()
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 201, sent
    created = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert created["metadata"]["name"] == "one-hop"
    assert sent[-1].get("more_body", False) is False
    assert threads["started"] == threads["finished"]
    assert threads["started"] != threading.get_ident()
    # Django's close_old_connections (connected first) gave the request's connection back in that
    # thread, before the response went out
    assert threads["connection_in_use"] == 0
    assert handler.executor._max_workers == 2


def test_the_request_answers_kube_status_errors_as_before(admin_token: str) -> None:
    from kcpsite.asgi_handler import ThreadedASGIHandler

    handler = ThreadedASGIHandler(threads=1)
    try:
        sent = _call(
            handler,
            _scope("GET", "/clusters/root/api/v1/namespaces/default/configmaps/missing", admin_token),
            [{"type": "http.request", "body": b""}],
        )
        unauthorized = _call(
            handler,
            _scope("GET", "/clusters/root/api/v1/namespaces", "not-a-token"),
            [{"type": "http.request", "body": b""}],
        )
    finally:
        handler.executor.shutdown()
    assert sent[0]["status"] == 404
    status = json.loads(sent[1]["body"])
    assert (status["kind"], status["reason"]) == ("Status", "NotFound")
    assert unauthorized[0]["status"] == 401


def test_a_client_gone_before_its_body_arrived_gets_nothing_and_runs_nothing(admin_token: str) -> None:
    from kcpsite.asgi_handler import ThreadedASGIHandler

    handler = ThreadedASGIHandler(threads=1)
    calls: list[int] = []

    def started(**_: Any) -> None:
        calls.append(1)

    signals.request_started.connect(started)
    try:
        sent = _call(
            handler,
            _scope("POST", "/clusters/root/api/v1/namespaces/default/configmaps", admin_token, b"{}"),
            [{"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}],
        )
    finally:
        signals.request_started.disconnect(started)
        handler.executor.shutdown()
    assert sent == []
    assert calls == []


def _conninfo() -> str:
    params = connections["default"].get_connection_params()
    return psycopg.conninfo.make_conninfo(
        "", **{k: v for k, v in params.items() if k in {"dbname", "user", "password", "host", "port"} and v})


async def _until_a_backend_waits_for_a_lock(observer: psycopg.Connection[Any]) -> None:
    for _ in range(500):
        row = observer.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                               "AND datname = current_database()").fetchone()
        if row and row[0]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the request never reached the lock")


def cancelled_while_its_thread_runs(app: Any, scope: dict[str, Any], body: bytes,
                                    while_cancelled: Any = None) -> dict[str, Any]:
    """Run a write through `app` while the test holds the revision counter's row lock (so the
    request's thread waits in PostgreSQL), cancel the application task as daphne does when the
    client went away, call `while_cancelled()` a little later, then let the thread finish.
    Returns what was observed."""
    outcome: dict[str, Any] = {}
    with psycopg.connect(_conninfo()) as blocker, psycopg.connect(_conninfo(), autocommit=True) as observer:
        blocker.execute("SELECT value FROM kube_revision WHERE id = 1 FOR UPDATE")

        async def main() -> None:
            messages = [{"type": "http.request", "body": body}]
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                if messages:
                    return messages.pop(0)
                await asyncio.Event().wait()
                raise AssertionError("unreachable")

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            task = asyncio.ensure_future(app(scope, receive, send))
            await _until_a_backend_waits_for_a_lock(observer)
            task.cancel()
            await asyncio.sleep(0.3)
            outcome["done while its thread ran"] = task.done()
            if while_cancelled is not None:
                outcome["while cancelled"] = while_cancelled()
            blocker.commit()  # the request's write goes on and its thread returns
            with contextlib.suppress(asyncio.CancelledError):
                await task
            outcome["cancelled"] = task.cancelled()
            outcome["sent"] = sent

        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, main()).result(timeout=60)
    return outcome


def test_a_cancelled_request_returns_only_once_its_thread_is_done(admin_token: str) -> None:
    """daphne cancels an application some seconds after its client went away; the request's thread
    cannot be stopped, so the handler returns (and closes the body file, and lets the per-tenant
    limit count the request as finished) only once that thread is done."""
    from kcpsite.asgi_handler import ThreadedASGIHandler

    handler = ThreadedASGIHandler(threads=1)
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "abandoned"}}).encode()
    try:
        outcome = cancelled_while_its_thread_runs(
            handler, _scope("POST", "/clusters/root/api/v1/namespaces/default/configmaps", admin_token, body), body)
    finally:
        handler.executor.shutdown()
    assert outcome == {"done while its thread ran": False, "cancelled": True, "sent": []}
