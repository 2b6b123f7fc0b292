"""Portal middleware only on portal routes (kcpsite.middleware): the Kubernetes API runs without
sessions, CSRF, login or messages; the portal and the admin keep all four."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connections, router
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kcpsite.middleware import is_api_path
from kube.authz.tokens import token_issue
from tests.conftest import Api


@pytest.mark.parametrize(
    "path",
    [
        "/api", "/api/v1/namespaces", "/apis", "/apis/apps/v1", "/openapi/v2", "/version", "/version/",
        "/healthz", "/livez/ping", "/readyz", "/clusters/root/api/v1/configmaps", "/clusters/root:a/version",
        "/clusters/abc/unknown", "/services/apiexport/root/x/clusters/*/api/v1",
    ],
)
def test_the_api_url_space_is_recognised(path: str) -> None:
    assert is_api_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "/", "/login", "/logout", "/tokens", "/workspaces/", "/workspaces/root/apis/core/v1/configmaps/",
        "/admin/", "/admin/login/", "/static/portal/portal.js", "/palette.json", "/apiextensions", "/versions",
        "/ws/portal",
    ],
)
def test_everything_else_is_the_portal(path: str) -> None:
    assert not is_api_path(path)


def _session_db() -> Any:
    """The connection sessions live on (the global database; kcpsite.dbrouter)."""
    from django.contrib.sessions.models import Session

    return connections[router.db_for_read(Session)]


def _logged_in(client: Client) -> Client:
    r = client.post("/login", {"token": token_issue(user_name="erin", groups=[])}, secure=True)
    assert r.status_code == 302, r.content
    assert "sessionid" in client.cookies
    return client


def test_an_api_request_never_touches_the_session(api: Api, client: Client) -> None:
    """A browser's session cookie riding along with an API call is never looked up, and the answer
    neither varies on cookies nor sets one."""
    _logged_in(client)
    with CaptureQueriesContext(_session_db()) as queries:
        r = api.get("/api/v1/namespaces")
    assert r.status_code == 200
    assert not any("django_session" in q["sql"] for q in queries.captured_queries)
    assert "Cookie" not in r.get("Vary", "")
    assert not r.cookies
    for path in ("/version", "/healthz", "/openapi/v2"):
        r = client.get(path, HTTP_AUTHORIZATION=f"Bearer {api.token}")
        assert "Cookie" not in r.get("Vary", ""), path
        assert not r.cookies, path


def test_an_api_write_needs_no_csrf_token(api: Api) -> None:
    api.client = Client(enforce_csrf_checks=True)
    r = api.post("/api/v1/namespaces", {"metadata": {"name": "no-csrf-here"}})
    assert r.status_code == 201, r.content


def test_a_portal_page_still_has_its_session(client: Client, root: None) -> None:
    _logged_in(client)
    with CaptureQueriesContext(_session_db()) as queries:
        r = client.get("/tokens", secure=True)
    assert r.status_code == 200
    assert any("django_session" in q["sql"] for q in queries.captured_queries)
    assert "Cookie" in r["Vary"]


def test_a_portal_post_without_its_csrf_token_is_refused(root: None) -> None:
    browser = Client(enforce_csrf_checks=True)
    assert browser.post("/login", {"token": "whatever"}, secure=True).status_code == 403
    page = browser.get("/login", secure=True)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    r = browser.post(
        "/login",
        {"token": token_issue(user_name="erin", groups=[]), "csrfmiddlewaretoken": token.group(1).decode()},
        secure=True,
        HTTP_REFERER="https://testserver/login",
    )
    assert r.status_code == 302, r.content
    # signed in: a POST of the session without the token is refused too
    assert browser.post("/tokens", {"description": "x"}, secure=True).status_code == 403


def test_admin_login_works(root: None) -> None:
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("olga", password="s3cret-enough")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/admin/login/", secure=True)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert page.status_code == 200 and token is not None
    refused = browser.post("/admin/login/", {"username": "olga", "password": "s3cret-enough"}, secure=True)
    assert refused.status_code == 403
    r = browser.post(
        "/admin/login/?next=/admin/",
        {"username": "olga", "password": "s3cret-enough", "csrfmiddlewaretoken": token.group(1).decode(),
         "next": "/admin/"},
        secure=True,
        HTTP_REFERER="https://testserver/admin/login/",
    )
    assert r.status_code == 302 and r["Location"] == "/admin/", r.content
    assert browser.get("/admin/", secure=True).status_code == 200


def test_the_system_checks_pass() -> None:
    """The admin's middleware checks are silenced because PortalMiddleware runs those middleware
    for /admin/; everything else the checks know must still pass (migrate runs them)."""
    from django.conf import settings
    from django.core.management import call_command

    assert {"django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware"} <= set(settings.PORTAL_MIDDLEWARE)
    call_command("check")


def test_a_database_outage_on_a_portal_page_is_a_503_page_not_a_500() -> None:
    """The global database (sessions, users) or the shard's going away mid-request: raised in a
    middleware layer or in the view, the portal answers 503 with Retry-After and a sentence; the
    API's own paths are left to the API's Status handling."""
    from django.db import OperationalError
    from django.test import RequestFactory

    from kcpsite.middleware import PortalMiddleware, _outage_as_503

    def down(request: object) -> None:
        raise OperationalError("connection refused")

    page = RequestFactory().get("/workspaces/root/")
    guarded = _outage_as_503(down)(page)
    assert guarded.status_code == 503 and guarded["Retry-After"]
    assert b"Try again" in guarded.content
    middleware = PortalMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    from_view = middleware.process_exception(page, OperationalError("gone"))
    assert from_view is not None and from_view.status_code == 503
    api = RequestFactory().get("/clusters/root/api/v1/namespaces")
    assert middleware.process_exception(api, OperationalError("gone")) is None
