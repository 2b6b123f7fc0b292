"""Per-tenant limits (kube.endpoints.fairness): bucket arithmetic on a fake clock, which paths
belong to which tenant, the ASGI middleware's 429 Status in front of a real app; seats (requests
in flight) given back on every exit path (answer, exception, cancellation, a refusal), taken only
once a body has arrived, writes taking more, watches apart; and through the real threaded Django
handler, a seat held until the request's thread is done even when its client went away."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from kube.endpoints.fairness import TenantRateLimit, TenantSeats, TokenBuckets, credential_key, tenant_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_says_how_long_to_wait() -> None:
    clock = Clock()
    b = TokenBuckets(10, 5, clock=clock)
    assert [b.take("a") for _ in range(5)] == [0.0] * 5
    assert b.take("a") == pytest.approx(0.1)
    assert b.take("a") == pytest.approx(0.1)  # a refusal spends nothing
    clock.now += 0.1
    assert b.take("a") == 0.0
    assert b.take("a") == pytest.approx(0.1)
    clock.now += 60  # refills to the burst, never beyond
    assert [b.take("a") for _ in range(6)][-2:] == [0.0, pytest.approx(0.1)]


def test_tenants_have_separate_buckets() -> None:
    clock = Clock()
    b = TokenBuckets(1, 2, clock=clock)
    assert b.take("noisy") == b.take("noisy") == 0.0
    assert b.take("noisy") > 0
    assert b.take("quiet") == 0.0


def test_refilled_buckets_are_forgotten_beyond_max_keys() -> None:
    clock = Clock()
    b = TokenBuckets(10, 10, clock=clock, max_keys=100)
    for i in range(100):
        b.take(f"t{i}")
    clock.now += 2  # every bucket is full again
    b.take("busy")
    assert len(b) == 1
    b2 = TokenBuckets(10, 10, clock=clock, max_keys=1)
    b2.take("x")
    b2.take("y")  # x has not refilled: kept (forgetting it would hand out a fresh burst)
    assert len(b2) == 2


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        TokenBuckets(0, 1)
    with pytest.raises(ValueError):
        TokenBuckets(1, 0)


@pytest.mark.parametrize(("path", "key"), [
    ("/clusters/root:org/api/v1/namespaces/default/configmaps", "root:org"),
    ("/clusters/2x7kq9m1abcd0000/apis/apps/v1/deployments", "2x7kq9m1abcd0000"),
    ("/clusters/*/apis/tenancy.kcp.io/v1alpha1/workspaces", "*"),
    ("/services/apiexport/root:provider/widgets/clusters/*/apis/x.io/v1/widgets",
     "services/apiexport/root:provider/widgets"),
    ("/services/apiexport/root:p/e", None),
    ("/version", None),
    ("/readyz", None),
    ("/portal/", None),
    ("/clusters/", None),
])
def test_tenant_of_a_path(path: str, key: str | None) -> None:
    assert tenant_key(path) == key


def _call(app: Any, path: str, token: str = "") -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # In a thread of its own: other suites (Playwright's sync API) may leave a loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
        scope = {"type": "http", "path": path, "method": "GET", "headers": headers, "client": ("192.0.2.7", 5000)}
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


async def _ok_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_middleware_answers_429_status_with_retry_after_and_lets_others_through() -> None:
    app = TenantRateLimit(_ok_app, rate=0.5, burst=3)
    noisy = "/clusters/root:noisy/api/v1/configmaps"
    assert [_call(app, noisy)[0] for _ in range(3)] == [200, 200, 200]
    status, headers, body = _call(app, noisy)
    assert status == 429
    assert headers[b"retry-after"] == b"2" and headers[b"content-type"] == b"application/json"
    doc = json.loads(body)
    assert (doc["kind"], doc["code"], doc["reason"]) == ("Status", 429, "TooManyRequests")
    assert doc["details"]["retryAfterSeconds"] == 2 and "root:noisy" in doc["message"]
    assert int(headers[b"content-length"]) == len(body)
    assert _call(app, "/clusters/root:quiet/api/v1/configmaps")[0] == 200
    assert all(_call(app, p)[0] == 200 for p in ["/version", "/readyz"] * 5)


def test_nobody_spends_another_credentials_budget_on_the_same_tenant() -> None:
    """The budget is the tenant's as presented by one credential: a flood aimed at a tenant's path
    with other tokens (or none, or forged ones — nothing is verified this early) leaves its own
    clients' budget untouched, while the flooder runs dry."""
    app = TenantRateLimit(_ok_app, rate=0.5, burst=3)
    victim = "/clusters/root:victim/api/v1/configmaps"
    for attacker in ("forged-1", ""):
        assert [_call(app, victim, attacker)[0] for _ in range(4)] == [200, 200, 200, 429]
    assert [_call(app, victim, "victims-token")[0] for _ in range(3)] == [200, 200, 200]
    assert _call(app, victim, "victims-token")[0] == 429  # and its own budget still binds it


def test_rate_zero_turns_limiting_off() -> None:
    app = TenantRateLimit(_ok_app, rate=0, burst=1)
    assert {_call(app, "/clusters/root/api")[0] for _ in range(50)} == {200}


# --- concurrency: TenantSeats --------------------------------------------------------------------

def _run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run an async scenario on an event loop of its own, in a thread (see `_call`)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result(timeout=60)


async def _turn() -> None:
    """Let every ready task run (a few loop iterations)."""
    for _ in range(5):
        await asyncio.sleep(0)


def test_seats_up_to_the_limit_then_a_fifo_queue_then_refusal() -> None:
    async def scenario() -> None:
        seats = TenantSeats(2, queue=2, max_wait=30)
        assert await seats.acquire("noisy") and await seats.acquire("noisy")
        third = asyncio.create_task(seats.acquire("noisy"))
        fourth = asyncio.create_task(seats.acquire("noisy"))
        await _turn()
        assert (seats.in_use("noisy"), seats.waiting("noisy")) == (2, 2)
        assert await seats.acquire("noisy") is False  # the queue is full: refused at once
        assert await seats.acquire("quiet")  # another tenant is not affected
        seats.release("noisy")
        await _turn()
        assert third.done() and third.result() is True and not fourth.done()  # first come, first served
        seats.release("noisy")
        assert await fourth is True
        for _ in range(2):
            seats.release("noisy")
        seats.release("quiet")
        assert len(seats) == 0  # nothing kept for idle tenants
        with pytest.raises(RuntimeError):
            seats.release("noisy")

    _run(scenario)


def test_a_wide_request_takes_several_seats_and_is_clamped_to_the_limit() -> None:
    async def scenario() -> None:
        seats = TenantSeats(2, queue=0)
        assert await seats.acquire("t", 2)
        assert await seats.acquire("t") is False
        seats.release("t", 2)
        assert await seats.acquire("t", 5)  # wider than the limit: the whole limit, never more
        assert seats.in_use("t") == 2
        seats.release("t", 5)
        assert len(seats) == 0

    _run(scenario)


def test_a_waiter_that_waits_too_long_is_refused_holding_nothing() -> None:
    async def scenario() -> None:
        seats = TenantSeats(1, queue=4, max_wait=0.01)
        assert await seats.acquire("t")
        assert await seats.acquire("t") is False
        assert (seats.in_use("t"), seats.waiting("t")) == (1, 0)
        seats.release("t")
        assert len(seats) == 0

    _run(scenario)


def test_a_waiter_cancelled_in_the_queue_leaves_it_holding_nothing() -> None:
    async def scenario() -> None:
        seats = TenantSeats(1, queue=4, max_wait=30)
        assert await seats.acquire("t")
        gone = asyncio.create_task(seats.acquire("t"))
        behind = asyncio.create_task(seats.acquire("t"))
        await _turn()
        gone.cancel()  # its client went away
        await _turn()
        assert gone.cancelled() and seats.waiting("t") == 1
        seats.release("t")
        assert await behind is True  # the seat went to the next in line, not to the departed one
        seats.release("t")
        assert len(seats) == 0

    _run(scenario)


def test_a_waiter_cancelled_just_as_its_seat_was_granted_gives_it_back() -> None:
    async def scenario() -> None:
        seats = TenantSeats(1, queue=4, max_wait=30)
        assert await seats.acquire("t")
        waiter = asyncio.create_task(seats.acquire("t"))
        await _turn()
        seats.release("t")  # grants the waiter's seat...
        waiter.cancel()  # ...which is cancelled before it could run
        await _turn()
        assert waiter.cancelled()
        assert seats.in_use("t") == 0 and len(seats) == 0

    _run(scenario)


def test_bad_seat_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        TenantSeats(0)
    with pytest.raises(ValueError):
        TenantSeats(1, queue=-1)


# --- concurrency through the middleware ----------------------------------------------------------

class Gate:
    """An ASGI application that, like Django's handler, reads the whole body first, then holds the
    request until `open()`; a path containing `/boom` raises instead of answering."""

    def __init__(self) -> None:
        self.running = 0
        self._opened = asyncio.Event()

    def open(self) -> None:
        self._opened.set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            if not message.get("more_body", False):
                break
        self.running += 1
        try:
            await self._opened.wait()
            if "/boom" in scope["path"]:
                raise RuntimeError("the application failed")
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        finally:
            self.running -= 1


class Client:
    """One request through an ASGI application, its body fed by the test (`feed`)."""

    def __init__(self, app: Any, path: str, method: str = "GET", *, query: bytes = b"") -> None:
        self.sent: list[dict[str, Any]] = []
        self._body: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        scope = {"type": "http", "path": path, "method": method, "query_string": query}
        self.task = asyncio.ensure_future(app(scope, self._body.get, self._send))

    async def _send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def feed(self, body: bytes = b"", *, more: bool = False) -> Client:
        self._body.put_nowait({"type": "http.request", "body": body, "more_body": more})
        return self

    @property
    def status(self) -> int | None:
        return self.sent[0]["status"] if self.sent else None

    def status_doc(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent[1:]))


def _limited(app: Any, **kw: Any) -> TenantRateLimit:
    return TenantRateLimit(app, rate=0, burst=1, **{"concurrency": 1, **kw})


NOISY = "/clusters/root:noisy/api/v1/namespaces/default/configmaps"
QUIET = "/clusters/root:quiet/api/v1/namespaces/default/configmaps"
#: The seats key of NOISY's requests (the tenant and the credential: `Client` sends none).
NOISY_KEY = "root:noisy anonymous"


def test_requests_beyond_a_tenants_seats_get_429_while_other_tenants_run() -> None:
    async def scenario() -> None:
        gate = Gate()
        mw = _limited(gate, concurrency=2)
        running = [Client(mw, NOISY).feed(), Client(mw, NOISY).feed()]
        await _turn()
        refused = Client(mw, NOISY).feed()
        await refused.task
        assert refused.status == 429
        headers = dict(refused.sent[0]["headers"])
        assert headers[b"retry-after"] == b"1"
        doc = refused.status_doc()
        assert (doc["kind"], doc["code"], doc["reason"]) == ("Status", 429, "TooManyRequests")
        assert doc["details"]["retryAfterSeconds"] == 1 and "in flight" in doc["message"]
        quiet = Client(mw, QUIET).feed()
        await _turn()
        assert gate.running == 3  # the quiet tenant's request runs beside the noisy two
        gate.open()
        await asyncio.gather(*(c.task for c in [*running, quiet]))
        assert [c.status for c in [*running, quiet]] == [200, 200, 200]
        assert mw.seats is not None and len(mw.seats) == 0
        again = Client(mw, NOISY).feed()
        await again.task
        assert again.status == 200

    _run(scenario)


def test_a_request_over_the_seats_waits_in_its_tenants_queue() -> None:
    async def scenario() -> None:
        gate = Gate()
        mw = _limited(gate, queue=1)
        first = Client(mw, NOISY).feed()
        await _turn()
        queued = Client(mw, NOISY).feed()
        await _turn()
        assert gate.running == 1 and not queued.task.done()  # waiting, not running, not refused
        refused = Client(mw, NOISY).feed()
        await refused.task
        assert refused.status == 429
        gate.open()
        await asyncio.gather(first.task, queued.task)
        assert (first.status, queued.status) == (200, 200)

    _run(scenario)


def test_seats_are_given_back_when_the_application_fails_or_is_cancelled() -> None:
    async def scenario() -> None:
        gate = Gate()
        mw = _limited(gate)
        assert mw.seats is not None
        failing = Client(mw, NOISY + "/boom").feed()
        await _turn()
        assert mw.seats.in_use(NOISY_KEY) == 1
        gate.open()
        with pytest.raises(RuntimeError):
            await failing.task
        assert mw.seats.in_use(NOISY_KEY) == 0
        gate2 = Gate()
        mw2 = _limited(gate2, queue=1)
        assert mw2.seats is not None
        abandoned = Client(mw2, NOISY).feed()
        await _turn()
        assert mw2.seats.in_use(NOISY_KEY) == 1
        abandoned.task.cancel()  # what daphne does some seconds after the client went away
        with pytest.raises(asyncio.CancelledError):
            await abandoned.task
        assert mw2.seats.in_use(NOISY_KEY) == 0
        running, queued = Client(mw2, NOISY).feed(), Client(mw2, NOISY).feed()
        await _turn()
        assert mw2.seats.waiting(NOISY_KEY) == 1
        queued.task.cancel()  # gone while waiting for a seat: leaves the queue holding nothing
        with pytest.raises(asyncio.CancelledError):
            await queued.task
        assert (mw2.seats.in_use(NOISY_KEY), mw2.seats.waiting(NOISY_KEY)) == (1, 0)
        gate2.open()
        await running.task
        assert running.status == 200 and len(mw2.seats) == 0

    _run(scenario)


def test_a_seat_is_taken_only_once_the_body_has_arrived() -> None:
    """A client trickling its body (anyone can, without a token) holds none of the tenant's seats."""
    async def scenario() -> None:
        gate = Gate()
        mw = _limited(gate)
        assert mw.seats is not None
        slow = Client(mw, NOISY, "POST").feed(b'{"metadata":', more=True)
        await _turn()
        assert mw.seats.in_use(NOISY_KEY) == 0
        fast = Client(mw, NOISY).feed()
        await _turn()
        assert mw.seats.in_use(NOISY_KEY) == 1 and gate.running == 1  # served despite the slow one
        gate.open()
        await fast.task
        slow.feed(b"{}}")
        await slow.task
        assert (fast.status, slow.status) == (200, 200) and len(mw.seats) == 0

    _run(scenario)


def test_writes_take_write_seats() -> None:
    async def scenario() -> None:
        gate = Gate()
        mw = _limited(gate, concurrency=2, write_seats=2)
        write = Client(mw, NOISY, "POST").feed(b"{}")
        await _turn()
        read = Client(mw, NOISY).feed()
        await read.task
        assert read.status == 429  # the write holds both of the tenant's seats
        gate.open()
        await write.task
        assert write.status == 200

    _run(scenario)


def test_watches_take_no_seat_but_are_capped_per_tenant() -> None:
    async def scenario() -> None:
        gate = Gate()
        mw = _limited(gate, watches=1, is_long_running=lambda scope: scope["query_string"] == b"watch=1")
        busy = Client(mw, NOISY).feed()
        await _turn()
        watch = Client(mw, NOISY, query=b"watch=1").feed()
        await _turn()
        assert gate.running == 2  # the watch runs although the tenant's only seat is taken
        second = Client(mw, NOISY, query=b"watch=1").feed()
        await second.task
        assert second.status == 429 and "watches" in second.status_doc()["message"]
        other = Client(mw, QUIET, query=b"watch=1").feed()
        await _turn()
        assert gate.running == 3
        gate.open()
        await asyncio.gather(busy.task, watch.task, other.task)
        assert mw.open_watches == {}
        third = Client(mw, NOISY, query=b"watch=1").feed()
        await third.task
        assert third.status == 200

    _run(scenario)


def test_zero_turns_the_concurrency_limit_and_the_watch_cap_off() -> None:
    app = TenantRateLimit(_ok_app, rate=0, burst=1, concurrency=0, watches=0)
    assert app.seats is None and app.watch_cap == 0
    assert {_call(app, NOISY)[0] for _ in range(5)} == {200}


@pytest.fixture
def committed_admin_token(transactional_db: Any) -> str:
    """An admin token committed to the database (the handler's thread uses a connection of its own)."""
    from kcpsite.bootstrap import bootstrap_root
    from kube.authz.tokens import token_issue

    bootstrap_root()
    return token_issue(user_name="admin", groups=["system:masters"])


def test_a_seat_is_held_until_the_requests_thread_is_done_even_when_cancelled(committed_admin_token: str) -> None:
    """Through the real threaded Django handler: the client of a write has gone and daphne cancels
    the application, but the write still runs in its thread; its seat stays taken until the thread
    is done, so a tenant cannot exceed its seats by abandoning requests."""
    from kcpsite.asgi_handler import ThreadedASGIHandler
    from tests.kcpsite.test_asgi_handler import _scope, cancelled_while_its_thread_runs

    handler = ThreadedASGIHandler(threads=2)
    mw = TenantRateLimit(handler, rate=0, burst=1, concurrency=1)
    assert mw.seats is not None
    seats = mw.seats
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "abandoned"}}).encode()
    scope = _scope("POST", "/clusters/root/api/v1/namespaces/default/configmaps", committed_admin_token, body)
    key = "root " + credential_key(scope)
    try:
        outcome = cancelled_while_its_thread_runs(mw, scope, body, while_cancelled=lambda: seats.in_use(key))
    finally:
        handler.executor.shutdown()
    assert outcome["done while its thread ran"] is False and outcome["while cancelled"] == 1
    assert outcome["cancelled"] is True and seats.in_use(key) == 0 and len(seats) == 0
