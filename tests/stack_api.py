"""A plain HTTPS client for a live stack (`kcpsite.launcher.Stack`), shared by the e2e and browser
suites: JSON in; status, decoded body and headers out. One connection per request, so calls may
come from many threads at once; 4xx/5xx are answers to inspect, never exceptions."""

from __future__ import annotations

import http.client
import json
from typing import Any

from kcpsite.launcher import Stack


class StackApi:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.base_url = stack.base_url
        self.ssl = stack.ssl_context()

    def _connection(self, timeout: float) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.stack.port, context=self.ssl, timeout=timeout)

    def _headers(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.stack.admin_token}", "Accept": "application/json"}

    def request(self, method: str, path: str, body: Any = None, *, token: str | None = None,
                content_type: str = "application/json", timeout: float = 30) -> tuple[int, Any, dict[str, str]]:
        """`(status, body, headers)`: the body decoded from JSON (text if it is not JSON, None if
        empty), header names lower-cased."""
        conn = self._connection(timeout)
        try:
            headers = self._headers(token)
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = content_type
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            try:
                doc = json.loads(raw) if raw else None
            except ValueError:
                doc = raw.decode(errors="replace")
            return resp.status, doc, {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, doc, _ = self.request(method, path, body, **kw)
        return status, doc

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        status, doc = self.call(method, path, body, **kw)
        assert 200 <= status < 300, f"{method} {path} → {status}: {doc}"
        return doc

    def watch(self, path: str, resource_version: str, *, timeout: float = 120,
              bookmarks: bool = False) -> tuple[http.client.HTTPSConnection, http.client.HTTPResponse]:
        """An open watch stream (JSON lines) from `resource_version`; the caller closes the connection."""
        conn = self._connection(timeout)
        allow = "true" if bookmarks else "false"
        conn.request("GET", f"{path}?watch=1&resourceVersion={resource_version}&allowWatchBookmarks={allow}",
                     headers=self._headers(None))
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        return conn, resp
