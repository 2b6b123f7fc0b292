"""Per-tenant rate limits (kube.endpoints.fairness): bucket arithmetic on a fake clock, which
paths belong to which tenant, and the ASGI middleware's 429 Status in front of a real app."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from kube.endpoints.fairness import TenantRateLimit, TokenBuckets, tenant_key


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


def _call(app: Any, path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # In a thread of its own: other suites (Playwright's sync API) may leave a loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app({"type": "http", "path": path, "method": "GET"}, receive, send)).result()
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


def test_rate_zero_turns_limiting_off() -> None:
    app = TenantRateLimit(_ok_app, rate=0, burst=1)
    assert {_call(app, "/clusters/root/api")[0] for _ in range(50)} == {200}
