"""Process counts of a stack (KCP_SERVERS, KCP_WORKERS) and kcpsite.serve's SO_REUSEPORT listeners.
(The shared e2e stack runs two serving processes, so tests/e2e and tests/browser exercise them.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("3", 3), ("0", 1), (" 2 ", 2)])
def test_serving_processes_come_from_kcp_servers(raw: str, expected: int) -> None:
    from kcpsite.launcher import serving_processes

    assert serving_processes({"KCP_SERVERS": raw}) == expected


def test_by_default_one_serving_process_per_cpu_up_to_four() -> None:
    from kcpsite.launcher import serving_processes

    assert serving_processes({}) == min(4, os.cpu_count() or 1)


def test_kcp_servers_must_be_a_number() -> None:
    from kcpsite.launcher import StackError, serving_processes

    with pytest.raises(StackError, match="KCP_SERVERS"):
        serving_processes({"KCP_SERVERS": "two"})


def test_serving_sockets_bind_with_reuse_port() -> None:
    """Two listening sockets made the way kcpsite.serve makes daphne's bind one port together."""
    import socket

    from twisted.internet import tcp

    from kcpsite.serve import enable_reuse_port

    enable_reuse_port()
    enable_reuse_port()  # idempotent
    first = tcp.Port(0, None, interface="127.0.0.1", reactor=object())
    a = first.createInternetSocket()
    try:
        assert a.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
        a.bind(("127.0.0.1", 0))
        a.listen(1)
        port = a.getsockname()[1]
        b = tcp.Port(port, None, interface="127.0.0.1", reactor=object()).createInternetSocket()
        try:
            b.bind(("127.0.0.1", port))
            b.listen(1)
        finally:
            b.close()
    finally:
        a.close()


def test_worker_processes_come_from_kcp_workers() -> None:
    from kcpsite.launcher import StackError, worker_processes

    assert worker_processes({"KCP_WORKERS": "3"}) == 3
    assert worker_processes({"KCP_WORKERS": "0"}) == 1
    assert worker_processes({}) == max(4, 2 * (os.cpu_count() or 1))
    with pytest.raises(StackError, match="KCP_WORKERS"):
        worker_processes({"KCP_WORKERS": "many"})


# --- write-through transports and the TLS aggregation clock (kcpsite.serve) --------------------------
# A real reactor in a child process (the asyncio reactor daphne installs), a real socket, and a
# client that reads slowly at first: the kernel's buffer fills, so writes go every way the patched
# transport has (sent at once, partly sent, buffered behind earlier bytes) and must arrive intact.

SERVER = r"""
import sys
import daphne.server  # installs the asyncio reactor, as in kcpsite.serve
from kcpsite.serve import soon_clock_for_tls, write_through_transports
write_through_transports()
soon_clock_for_tls()
from twisted.internet import endpoints, protocol, reactor

def chunks():
    for i in range(200):
        size = (7, 1_000, 3_000_000, 64, 70_000)[i % 5]
        yield bytes([i % 256]) * size

class Writer(protocol.Protocol):
    def connectionMade(self):
        pending = list(chunks())
        for chunk in pending[:3]:  # small, small, then more than the socket takes at once
            self.transport.write(chunk)
        def later(rest):
            if not rest:
                self.transport.loseConnection()
                return
            self.transport.write(rest[0])
            reactor.callLater(0.001, later, rest[1:])
        later(pending[3:])

factory = protocol.Factory.forProtocol(Writer)
def listening(port):
    print(port.getHost().port, flush=True)
endpoints.serverFromString(reactor, sys.argv[1]).listen(factory).addCallback(listening)
reactor.run()
"""


def _expected() -> bytes:
    return b"".join(bytes([i % 256]) * (7, 1_000, 3_000_000, 64, 70_000)[i % 5] for i in range(200))


def _read_all(sock: Any) -> bytes:
    import time

    time.sleep(0.5)  # let the server's writes pile up against a full socket buffer
    parts = []
    while True:
        data = sock.recv(1 << 20)
        if not data:
            return b"".join(parts)
        parts.append(data)


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
def test_patched_transports_deliver_every_byte_in_order(tls: bool, tmp_path: Path) -> None:
    import socket
    import ssl
    import subprocess
    import sys

    from kcpsite.launcher import ensure_tls

    files = ensure_tls(tmp_path)
    endpoint = "tcp:0:interface=127.0.0.1"
    if tls:
        endpoint = f"ssl:0:interface=127.0.0.1:privateKey={files.server_key}:certKey={files.server_cert}"
    server = subprocess.Popen([sys.executable, "-c", SERVER, endpoint], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        raw = socket.create_connection(("127.0.0.1", port))
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock: Any = raw
        if tls:
            ctx = ssl.create_default_context(cafile=str(files.ca_cert))
            sock = ctx.wrap_socket(raw, server_hostname="localhost")
        with sock:
            received = _read_all(sock)
    finally:
        server.kill()
        server.wait()
    expected = _expected()
    assert len(received) == len(expected)
    assert received == expected


def test_soon_clock_runs_zero_delays_on_the_next_loop_turn() -> None:
    """Run in a thread of its own: other tests (Playwright's sync API) leave a loop running here."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(_soon_clock_checks).result()


def _soon_clock_checks() -> None:
    import asyncio

    from kcpsite.serve import SoonClock

    class Reactor:
        def __init__(self) -> None:
            self.later: list[float] = []

        def callLater(self, delay: float, f: Any, *args: Any, **kw: Any) -> str:  # noqa: N802
            self.later.append(delay)
            return "reactor"

        def seconds(self) -> float:
            return 1.5

    reactor = Reactor()
    clock = SoonClock(reactor)

    async def run() -> list[str]:
        ran: list[str] = []
        handle = clock.callLater(0, ran.append, "soon")
        cancelled = clock.callLater(0, ran.append, "cancelled")
        cancelled.cancel()
        assert ran == []  # not synchronously
        await asyncio.sleep(0)
        assert handle is not None
        return ran

    assert asyncio.run(run()) == ["soon"]
    assert reactor.later == []
    assert clock.callLater(0.5, print) == "reactor"  # timers keep the reactor's clock
    assert clock.callLater(0, print) == "reactor"  # no running loop: the reactor's
    assert reactor.later == [0.5, 0]
    assert clock.seconds() == 1.5


def test_daphne_requests_leave_form_bodies_unparsed() -> None:
    """The raw body reaches the application either way (the portal's login form POST in
    tests/browser goes through it); Twisted no longer parses it into `request.args` first."""
    from types import SimpleNamespace

    from daphne.http_protocol import WebRequest

    from kcpsite.serve import skip_form_parsing

    skip_form_parsing()
    skip_form_parsing()  # idempotent
    connected: list[Any] = []
    channel = SimpleNamespace(
        getPeer=lambda: None,
        getHost=lambda: None,
        transport=None,
        factory=SimpleNamespace(server=SimpleNamespace(protocol_connected=connected.append)),
    )
    request = WebRequest(channel)
    assert request._parsePOSTFormSubmission is False
    assert connected == [request]


# --- oversized request heads (kcpsite.serve.answer_oversized_request_heads) ----------------------------
# A real `python -m kcpsite.serve` process (daphne with every patch of kcpsite.serve), serving a
# minimal ASGI application, and a raw client: over TLS, as the stack serves, and over plain TCP.

ASGI_APP = """
async def app(scope, receive, send):
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})
"""


@pytest.fixture(params=[False, True], ids=["tcp", "tls"])
def serving(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """(connect, process): `connect()` opens a client socket to a serving process of kcpsite.serve."""
    import socket
    import ssl
    import subprocess
    import sys
    import time

    from kcpsite.launcher import ensure_tls
    from tests.conftest import free_port

    (tmp_path / "oversize_app.py").write_text(ASGI_APP)
    port = free_port()
    tls = request.param
    files = ensure_tls(tmp_path / "tls")
    endpoint = f"tcp:{port}:interface=127.0.0.1"
    if tls:
        endpoint = f"ssl:{port}:interface=127.0.0.1:privateKey={files.server_key}:certKey={files.server_cert}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path(__file__).parents[2])])}
    process = subprocess.Popen(
        [sys.executable, "-m", "kcpsite.serve", "-e", endpoint, "oversize_app:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )

    def connect() -> Any:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        if not tls:
            return raw
        return ssl.create_default_context(cafile=str(files.ca_cert)).wrap_socket(raw, server_hostname="localhost")

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connect().close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield connect
    finally:
        process.kill()
        process.wait()


def _exchange(connect: Any, request: bytes) -> tuple[int, dict[str, str], bytes, float]:
    """Send `request` whole, read until the server closes: (status, headers, body, seconds taken)."""
    import time

    started = time.monotonic()
    with connect() as sock:
        sock.sendall(request)
        parts = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            parts.append(data)
    head, _, body = b"".join(parts).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body, time.monotonic() - started


def test_an_overlong_request_url_is_answered_414_with_a_status(serving: Any) -> None:
    """Twisted dropped such a connection without an answer (over TLS it held it for its 60 s idle
    timeout): now 414 with a Status, at once, and the connection is closed."""
    import json

    request = b"GET /api/v1/namespaces?labelSelector=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    code, headers, body, seconds = _exchange(serving, request)
    status = json.loads(body)
    assert code == 414 and headers["Content-Type"] == "application/json"
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 414, "RequestURITooLong")
    assert seconds < 5


def test_an_overlarge_header_block_is_answered_431_and_ordinary_requests_are_served(serving: Any) -> None:
    import json

    url = b"/api/v1/namespaces?labelSelector=" + b"a" * 15_000  # under the line limit, with headers
    code, _, body, _ = _exchange(serving, b"GET " + url + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (code, body) == (200, b"ok")
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"b" * 8000) for i in range(10))
    code, _, body, seconds = _exchange(serving, b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert code == 431 and json.loads(body)["code"] == 431 and seconds < 5
    code, _, body, seconds = _exchange(serving, b"GET / HTTP/1.1\r\nX-Long: " + b"c" * 20_000 + b"\r\n\r\n")
    assert code == 431 and json.loads(body)["reason"] == "RequestHeaderFieldsTooLarge" and seconds < 5
