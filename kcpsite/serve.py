"""`python -m kcpsite.serve DAPHNE_ARGUMENTS…`: daphne, with its listening sockets bound with
SO_REUSEPORT, so that several serving processes can listen on the same port and the kernel
spreads new connections among them (`KCP_SERVERS`, see kcpsite.launcher).

Why: one daphne process is one interpreter: its HTTP parsing, TLS and the Django request handling
share one GIL, so it tops out at one CPU whatever the machine has. Every process keeps no state a
request depends on (storage caches are validated against the database on each use, and each
process runs its own event pump tailing the shared event log), so processes are interchangeable.

Twisted's `ssl:` endpoint string has no reusePort option, although its TCP ports support the
option (`tcp.makeBinding(..., reusePort=True)`); this entry point turns it on for every TCP
listener it makes and then runs daphne's own command line unchanged."""

from __future__ import annotations

import sys


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


def main() -> None:
    import daphne.server  # noqa: F401 - installs the asyncio reactor before Twisted picks another
    from daphne.cli import CommandLineInterface

    enable_reuse_port()
    sys.argv[0] = "daphne"
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
