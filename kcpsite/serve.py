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
when one event fans out to hundreds of watches. Bytes on the wire are the same.

And it answers requests whose head is too long (`answer_oversized_request_heads`): 414 or 431
with a Status, where Twisted would drop the connection or hold it until its idle timeout."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

from kube.errors import StatusError

# Twisted and daphne are imported inside the functions below, never here: `main` must import
# daphne.server (which installs the asyncio reactor) before anything imports Twisted's reactor.


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


#: Bytes of a request line and its headers together (Twisted's default, 16 KiB, is also its limit
#: of one line: a URL near that limit would leave no room for the headers).
MAX_REQUEST_HEAD_BYTES = 64 * 1024

#: How long a connection refused for an oversized request line or header block is kept reading (and
#: discarding) what the client still sends, so that it gets to read the answer, before it is cut.
REFUSED_CONNECTION_LINGER = 2.0


def refuse_and_close(channel: Any, code: int, phrase: str, reason: str, message: str) -> None:
    """Answer `code` with a metav1.Status on `channel` (a Twisted HTTPChannel still reading a
    request's head), then close it: first gracefully (a TLS close alert), and whatever the client
    does, for good after REFUSED_CONNECTION_LINGER seconds. Until then what it sends is read and
    dropped: a client still writing a long URL would otherwise not read the answer, and a TLS
    connection would wait for its close alert until the channel's idle timeout (60 s)."""
    from twisted.internet import reactor as installed_reactor

    reactor: Any = installed_reactor
    body = json.dumps(StatusError(message, code=code, reason=reason).status(), separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {code} {phrase}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    transport = channel.transport
    channel.clearLineBuffer()  # nothing already received is parsed any more
    channel.dataReceived = lambda data: None
    channel.setTimeout(None)
    channel.persistent = False
    transport.write(head.encode() + body)
    if hasattr(transport, "loseWriteConnection"):  # plain TCP: half-close, keep reading
        transport.loseWriteConnection()
    else:
        transport.loseConnection()

    def cut() -> None:
        if getattr(transport, "connected", False):
            transport.abortConnection()

    reactor.callLater(REFUSED_CONNECTION_LINGER, cut)


def answer_oversized_request_heads() -> None:
    """A request line longer than Twisted's limit (16 KiB, `HTTPChannel.MAX_LENGTH`) is 414 URI
    Too Long, a header line or header block over it 431, each with a Status body; Twisted itself
    drops the connection without a word (over TLS: holds it until its 60 s idle timeout) or sends
    a bare 400. Kubernetes clients then report a reason instead of a broken connection."""
    from twisted.web import http

    channel_class: Any = http.HTTPChannel
    if getattr(channel_class, "kcp_answers_oversized", False):
        return
    line_received = channel_class.lineReceived

    def refuse_oversized(channel: Any) -> None:
        if getattr(channel, "_HTTPChannel__first_line", 0):
            refuse_and_close(
                channel, 414, "Request-URI Too Long", "RequestURITooLong",
                f"the request URL is too long: the request line may have at most {channel.MAX_LENGTH} bytes",
            )
        else:
            refuse_and_close(
                channel, 431, "Request Header Fields Too Large", "RequestHeaderFieldsTooLarge",
                f"the request headers are too large: at most {channel.totalHeadersSize} bytes",
            )

    def line_length_exceeded(self: Any, line: bytes) -> None:
        refuse_oversized(self)

    def line_received_within_limits(self: Any, line: bytes) -> Any:
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            refuse_oversized(self)
            return None
        return line_received(self, line)

    # Room for a request line at its limit plus ordinary headers: the URL's own limit is then the
    # one a long URL meets (414), and only a header block this large is 431.
    channel_class.totalHeadersSize = MAX_REQUEST_HEAD_BYTES
    channel_class.lineLengthExceeded = line_length_exceeded
    channel_class.lineReceived = line_received_within_limits
    channel_class.kcp_answers_oversized = True


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
    answer_oversized_request_heads()
    sys.setswitchinterval(SWITCH_INTERVAL)
    sys.argv[0] = "daphne"
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
