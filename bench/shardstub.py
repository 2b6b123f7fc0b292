"""`python -m bench.shardstub PORT CERT KEY`: the smallest HTTPS server that can stand in for a
shard behind the front proxy in a benchmark: every GET (`/readyz`, the proxy's health check,
included) is answered 200 with a two-byte body, on keep-alive HTTP/1.1 connections. What it costs
per request is the same for every map size, so map-size ratios measured through it are the
proxy's."""

from __future__ import annotations

import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without TCP_NODELAY the second waits for the proxy's
    # delayed ACK (~40 ms), which would swamp everything measured through the stand-in.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # health checks close without a goodbye


def main() -> None:
    port, cert, key = sys.argv[1:4]
    server = Server(("127.0.0.1", int(port)), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
