"""Process counts of a stack (KCP_SERVERS, KCP_WORKERS) and kcpsite.serve's SO_REUSEPORT listeners.
(The shared e2e stack runs two serving processes, so tests/e2e and tests/browser exercise them.)"""

from __future__ import annotations

import os

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
