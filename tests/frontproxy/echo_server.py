"""`python -m tests.frontproxy.echo_server PORT NAME CERT KEY`: an HTTPS backend standing in for a
shard behind the proxy. `/readyz` answers `ok`; a path containing `/stream` streams a chunk every
50 ms for `?seconds=N` (default 5) as a watch does; any other request is answered with JSON naming
this backend, the path as received and every header."""

from __future__ import annotations

import json
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    name = "echo"

    def _send(self, code: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        if url.path == "/readyz":
            self._send(200, b"ok", "text/plain")
        elif "/stream" in url.path:
            seconds = float(parse_qs(url.query).get("seconds", ["5"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            deadline = time.monotonic() + seconds
            n = 0
            while time.monotonic() < deadline:
                line = json.dumps({"n": n, "backend": self.name}).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
                n += 1
                time.sleep(0.05)
            self.wfile.write(b"0\r\n\r\n")
        else:
            body = json.dumps({"backend": self.name, "path": self.path,
                               "headers": [[k.lower(), v] for k, v in self.headers.items()]}).encode()
            self._send(200, body)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # HAProxy's health checks close without a goodbye; a killed client resets


def main() -> None:
    port, name, cert, key = sys.argv[1:5]
    Handler.name = name
    server = Server(("127.0.0.1", int(port)), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
