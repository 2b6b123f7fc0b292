"""A plain HTTPS client for a live stack (`kcpsite.launcher.Stack`), shared by the e2e and browser
suites: JSON in; status, decoded body and headers out. One connection per request, so calls may
come from many threads at once; 4xx/5xx are answers to inspect, never exceptions."""

from __future__ import annotations

import http.client
import json
import re
import ssl
from typing import Any, Protocol
from urllib.parse import urlencode

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


# --- the portal, as a browser signs in ------------------------------------------------------------


class _Front(Protocol):
    """What the portal helpers need of a stack (a `Stack`, or a `ShardedStack` through its proxy)."""

    port: int
    base_url: str

    def ssl_context(self) -> ssl.SSLContext: ...


def https_connection(stack: _Front) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection("127.0.0.1", stack.port, context=stack.ssl_context(), timeout=30)


def response_cookies(resp: http.client.HTTPResponse) -> dict[str, str]:
    out = {}
    for header, value in resp.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            out[name.strip()] = rest.split(";", 1)[0]
    return out


def portal_sign_in(stack: _Front, token: str) -> tuple[int, dict[str, str]]:
    """Sign in to the portal with a bearer token as a browser does (CSRF cookie and form field):
    the sign-in POST's status and the cookies set so far."""
    base = stack.base_url
    c = https_connection(stack)
    c.request("GET", "/login")
    r = c.getresponse()
    page = r.read().decode()
    cookies = response_cookies(r)
    c.close()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert r.status == 200 and match and "csrftoken" in cookies, page[:500]
    c = https_connection(stack)
    c.request("POST", "/login", body=urlencode({"token": token, "csrfmiddlewaretoken": match.group(1)}),
              headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": f"{base}/login",
                       "Origin": base, "Cookie": f"csrftoken={cookies['csrftoken']}"})
    r = c.getresponse()
    r.read()
    cookies.update(response_cookies(r))
    c.close()
    return r.status, cookies


def portal_login(stack: _Front, token: str) -> dict[str, str]:
    """A portal sign-in that must succeed; returns the cookies of the signed-in session."""
    status, cookies = portal_sign_in(stack, token)
    assert status == 302 and "sessionid" in cookies, (status, cookies)
    status, body = portal_page(stack, "/workspaces/", cookies)
    assert status == 200, (status, body[:500])  # not the redirect to /login
    return cookies


def portal_page(stack: _Front, path: str, cookies: dict[str, str]) -> tuple[int, str]:
    """GET a portal page with the session's cookies: status and text."""
    c = https_connection(stack)
    try:
        c.request("GET", path, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()
