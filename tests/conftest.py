"""Shared fixtures: an API client against the real views and a real PostgreSQL database."""
from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client


class Api:
    """Django test client speaking to the Kubernetes API of one logical cluster as a user."""

    def __init__(self, client: Client, token: str, cluster: str = "root") -> None:
        self.client = client
        self.token = token
        self.prefix = f"/clusters/{cluster}"

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        h = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}
        for k, v in (extra or {}).items():
            h["HTTP_" + k.upper().replace("-", "_")] = v
        return h

    def request(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
                headers: dict[str, str] | None = None) -> Any:
        data: Any = b""
        if body is not None:
            data = body if isinstance(body, bytes | str) else json.dumps(body)
        fn = getattr(self.client, method.lower())
        kwargs: dict[str, Any] = self._headers(headers)
        if method.upper() in ("GET", "HEAD"):
            return fn(self.prefix + path, **kwargs)
        return fn(self.prefix + path, data=data, content_type=content_type, **kwargs)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any, content_type: str = "application/merge-patch+json", **kw: Any) -> Any:
        return self.request("PATCH", path, body, content_type=content_type, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("DELETE", path, body, **kw)


@pytest.fixture
def root(db: Any) -> None:
    from kcpsite.bootstrap import bootstrap_root

    bootstrap_root()


@pytest.fixture
def admin_token(root: None) -> str:
    from kube.authz.tokens import token_issue

    return token_issue(user_name="admin", groups=["system:masters"])


@pytest.fixture
def api(client: Client, admin_token: str) -> Api:
    return Api(client, admin_token)


@pytest.fixture
def anonymous(client: Client, root: None) -> Api:
    return Api(client, "")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """Close connections after each use in tests: worker threads (database_sync_to_async) would
    otherwise keep sessions open and block dropping the test database."""
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
