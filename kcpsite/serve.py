"""`python -m kcpsite.serve DAPHNE_ARGUMENTS…`: daphne, with its listening sockets bound with
SO_REUSEPORT, so that several serving processes can listen on the same port and the kernel
spreads new connections among them (`KCP_SERVERS`, see kcpsite.launcher).

Why: one daphne process is one interpreter: its HTTP parsing, TLS and the Django request handling
share one GIL, so it tops out at one CPU whatever the machine has. Every process keeps no state a
request depends on (storage caches are validated against the database on each use, and each
process runs its own event pump tailing the shared event log), so processes are interchangeable.

Twisted's `ssl:` endpoint string has no reusePort option, although its TCP ports support the
option (`tcp.makeBinding(..., reusePort=True)`); this entry point turns it on for every TCP
listener it makes and then runs daphne's own command line unchanged.

It also makes Twisted's writes cheaper (`write_through_transports`, `soon_clock_for_tls`): a watch
event goes to every watcher's socket, and per write Twisted scheduled a timer for TLS's write
aggregation, registered the socket for writability (an epoll_ctl), waited for the next loop turn to
send, and unregistered it again (another epoll_ctl) — about half of a serving process's CPU time
when one event fans out to hundreds of watches. Bytes on the wire are the same."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any


def enable_reuse_port() -> None:
    """Make every TCP listener of this process bind with SO_REUSEPORT (Linux, the BSDs, macOS)."""
    from twisted.internet import tcp

    make_binding = tcp.makeBinding
    if getattr(make_binding, "kcp_reuse_port", False):
        return

    def binding_with_reuse_port(
        interface: str = "", port: int = 0, reuseAddress: bool = False, reusePort: bool = False
    ) -> tcp.Binding:
        return make_binding(interface, port, reuseAddress, True)

    binding_with_reuse_port.kcp_reuse_port = True  # type: ignore[attr-defined]
    tcp.makeBinding = binding_with_reuse_port


def write_through_transports() -> None:
    """Make every accepted TCP connection send at once when nothing is waiting in its buffers.

    Twisted's `FileDescriptor.write` always buffers and asks the reactor to watch the socket for
    writability, sending on the next loop turn. When the buffers are empty a `send()` right away
    is what that turn would do anyway; what the kernel does not take (a full socket buffer), and
    any error, goes through Twisted's own buffered path unchanged, so ordering, flow control
    (producers) and connection-lost handling stay Twisted's."""
    from twisted.internet import tcp

    if getattr(tcp.Port.transport, "kcp_write_through", False):
        return

    class WriteThroughServer(tcp.Server):
        kcp_write_through = True

        def write(self, data: bytes) -> None:
            if (
                data
                and type(data) is bytes
                and self.connected
                and not self.disconnecting
                and not self._writeDisconnected
                and not self.dataBuffer
                and not self._tempDataBuffer
            ):
                try:
                    sent = self.socket.send(data)
                except OSError:  # would block, or an error Twisted's doWrite meets again and reports
                    sent = 0
                if sent == len(data):
                    return
                data = data[sent:]
            super().write(data)

    tcp.Port.transport = WriteThroughServer


class SoonClock:
    """The clock Twisted's TLS write aggregation uses: `callLater(0, f)` becomes the event loop's
    `call_soon(f)` (the same "next loop turn", without a Twisted DelayedCall and an asyncio timer
    per write); any other delay goes to the reactor."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    def callLater(self, delay: float, f: Callable[..., object], *args: object, **kw: object) -> Any:  # noqa: N802 - Twisted's name
        if delay == 0 and not kw:
            try:
                return asyncio.get_running_loop().call_soon(f, *args)
            except RuntimeError:  # no loop running: the reactor's own timer
                pass
        return self.reactor.callLater(delay, f, *args, **kw)

    def seconds(self) -> float:
        return float(self.reactor.seconds())

    def getDelayedCalls(self) -> Any:  # noqa: N802 - Twisted's name
        return self.reactor.getDelayedCalls()


def soon_clock_for_tls() -> None:
    """TLS connections made from here on schedule their aggregated flush with `SoonClock`."""
    from twisted.protocols import tls

    if getattr(tls._get_default_clock, "kcp_soon", False):
        return

    def soon_clock() -> Any:
        from twisted.internet import reactor

        return SoonClock(reactor)

    soon_clock.kcp_soon = True  # type: ignore[attr-defined]
    tls._get_default_clock = soon_clock


def skip_form_parsing() -> None:
    """Daphne hands the application the raw request body; Twisted's own parsing of form POSTs into
    `request.args` (its Content-Type parsed through the `email` package on every POST with a
    body, ~5% of a process's CPU under API writes) is never used."""
    from daphne.http_protocol import WebRequest

    if getattr(WebRequest, "kcp_no_form_parsing", False):
        return
    init = WebRequest.__init__

    def init_without_form_parsing(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False

    WebRequest.__init__ = init_without_form_parsing  # type: ignore[method-assign]
    WebRequest.kcp_no_form_parsing = True  # type: ignore[attr-defined]


#: How often a thread waiting for the GIL asks for it (Python's default: 5 ms). A request thread that
#: has written (and so holds the revision counter's row lock until its COMMIT) must not wait that
#: long behind other request threads and the event loop: with 1 ms the bench's 8 concurrent writers
#: on 2 CPUs went from ~375 to ~495 writes/s.
SWITCH_INTERVAL = 0.001


def main() -> None:
    import daphne.server  # noqa: F401 - installs the asyncio reactor before Twisted picks another
    from daphne.cli import CommandLineInterface

    enable_reuse_port()
    write_through_transports()
    soon_clock_for_tls()
    skip_form_parsing()
    sys.setswitchinterval(SWITCH_INTERVAL)
    sys.argv[0] = "daphne"
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
