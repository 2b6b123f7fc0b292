"""The health endpoints (kube.endpoints.health through the real view): /readyz and /healthz answer
`ok` only while the database answers, and 503 naming the failed check when it does not (an
address nobody listens on, a server that accepts connections and never answers); /livez stays
process liveness only. The database check is time-bounded and its answer reused for a second."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from kube.endpoints.health import DatabaseCheck
from tests.conftest import free_port


class SilentServer:
    """A TCP listener standing in for a hung database: it accepts connections (counting them) and
    never answers; `close_at_once` makes it hang up instead, a server that refuses to talk."""

    def __init__(self, *, close_at_once: bool = False) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.close_at_once = close_at_once
        self.accepted = 0
        self.accepted_event = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.accepted_event.set()
            if self.close_at_once:
                conn.close()
            else:
                self._held.append(conn)

    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=kcp dbname=kcp"

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _point_database_at(monkeypatch: pytest.MonkeyPatch, host: str, port: int) -> None:
    """The database settings the serving process's check reads, pointed elsewhere for one test
    (the check never answers a changed target from its cache)."""
    monkeypatch.setitem(settings.DATABASES["default"], "HOST", host)
    monkeypatch.setitem(settings.DATABASES["default"], "PORT", str(port))


def _get(client: Client, path: str) -> tuple[int, str]:
    r = client.get(path)
    assert r["Content-Type"] == "text/plain; charset=utf-8"
    return r.status_code, r.content.decode()


@pytest.mark.django_db
def test_readyz_is_ok_while_the_database_answers(client: Client) -> None:
    assert _get(client, "/readyz") == (200, "ok")
    assert _get(client, "/healthz") == (200, "ok")
    assert _get(client, "/clusters/root:org/readyz") == (200, "ok")
    assert _get(client, "/readyz?verbose") == (200, "[+]ping ok\n[+]database ok\nreadyz check passed\n")
    assert _get(client, "/readyz/database") == (200, "ok")
    assert _get(client, "/livez?verbose") == (200, "[+]ping ok\nlivez check passed\n")
    assert _get(client, "/readyz/etcd")[0] == 404
    assert _get(client, "/livez/database")[0] == 404  # liveness has no database check


def test_readyz_is_503_naming_the_database_when_nothing_listens(client: Client,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    _point_database_at(monkeypatch, "127.0.0.1", port)
    status, body = _get(client, "/readyz")
    assert status == 503
    assert body == "[+]ping ok\n[-]database failed: reason withheld\nreadyz check failed\n"
    assert str(port) not in body  # the anonymous caller learns which check failed, not where the database is
    assert _get(client, "/healthz") == (503, body.replace("readyz", "healthz"))
    assert _get(client, "/readyz/database") == (503, "[-]database failed: reason withheld\nreadyz check failed\n")
    assert _get(client, "/readyz?exclude=database") == (200, "ok")
    assert _get(client, "/readyz?exclude=database&verbose")[1].splitlines() == [
        "[+]ping ok", "[+]database excluded: ok", "readyz check passed"]
    # Liveness is the process only: a database outage must not get the API servers restarted.
    assert _get(client, "/livez") == (200, "ok")


def test_readyz_is_503_when_the_database_accepts_but_never_answers(
        client: Client, monkeypatch: pytest.MonkeyPatch, silent_server: SilentServer) -> None:
    _point_database_at(monkeypatch, "127.0.0.1", silent_server.port)
    status, body = _get(client, "/readyz")  # bounded by the check's timeout, not by the server
    assert status == 503 and "[-]database failed" in body
    assert silent_server.accepted == 1


def test_the_database_check_is_reused_for_its_ttl() -> None:
    server = SilentServer(close_at_once=True)
    clock = Clock()
    try:
        check = DatabaseCheck(server.conninfo, ttl=1.0, clock=clock)
        first = check()
        assert first is not None and server.accepted == 1
        clock.now += 0.5
        assert check() == first and server.accepted == 1  # probes within the ttl cost the database nothing
        clock.now += 0.6
        assert check() is not None and server.accepted == 2
    finally:
        server.close()


def test_while_one_thread_checks_others_reuse_the_previous_answer(silent_server: SilentServer) -> None:
    clock = Clock()
    check = DatabaseCheck(silent_server.conninfo, timeout=2.0, ttl=1.0, clock=clock)
    previous = check()  # times out: the server never answers
    assert previous is not None and silent_server.accepted == 1
    clock.now += 5
    silent_server.accepted_event.clear()
    results: list[Any] = []
    checker = threading.Thread(target=lambda: results.append(check()))
    checker.start()
    assert silent_server.accepted_event.wait(10)  # the checker is now waiting on the hung server
    assert check() == previous  # answered at once from the previous check, no second connection
    assert silent_server.accepted == 2
    checker.join()
    assert results and results[0] is not None
