"""The hostile-tenant suite's guard: every request a test in tests/security/ sends through the
`Api` test client is checked as it returns. It must be answered below 500 and must not cost the
server more than a second of CPU (measured as the CPU time of the thread that served it: the
Django test client runs the whole request cycle in the calling thread). A test asserts what its
case must refuse; this guard asserts what no case may ever cost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Api

#: Upper bound of server CPU for any one request of this suite (the issue's acceptance).
MAX_REQUEST_CPU_SECONDS = 1.0


@pytest.fixture(autouse=True)
def every_request_is_cheap_and_never_5xx(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, int]]]:
    """Wraps `Api.request`: records (method, path, status) of every request and fails the test
    at the first 5xx or over-budget request, naming it."""
    seen: list[tuple[str, str, int]] = []
    original = Api.request

    def guarded(self: Api, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        started = time.thread_time()
        response = original(self, method, path, body, **kw)
        spent = time.thread_time() - started
        status = int(response.status_code)
        seen.append((method, self.prefix + path, status))
        assert status < 500, f"{method} {self.prefix}{path[:200]} answered {status}: {response.content[:300]!r}"
        assert spent <= MAX_REQUEST_CPU_SECONDS, f"{method} {self.prefix}{path[:200]} cost {spent:.2f} s of CPU"
        return response

    monkeypatch.setattr(Api, "request", guarded)
    yield seen
