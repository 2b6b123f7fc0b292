"""Shared fixtures: an API client against the real views and a real PostgreSQL database; the live
stack of the e2e and browser suites."""
from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
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
    otherwise keep sessions open and block dropping the test database.

    The suite runs in split mode: unless KCP_GLOBAL_DATABASE_URL names one already, a `global`
    alias is added, a second database (`<name>_global`) on the same server, so every test
    exercises the router (kcpsite.dbrouter) and no code can silently join identities with shard
    tables. The e2e stack keeps the single-database default (tests/conftest.py `stack`)."""
    import copy

    from django.conf import settings
    from django.db import connections

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    if "global" not in settings.DATABASES:
        default = settings.DATABASES["default"]
        split = copy.deepcopy(default)
        split["NAME"] = f"{default['NAME']}_global"
        test = split.setdefault("TEST", {})
        if test.get("NAME"):
            test["NAME"] = f"{test['NAME']}_global"
        settings.DATABASES["global"] = split
        # ConnectionHandler configured its settings from this same dict object, or will.
        if "global" not in connections.settings:
            connections.settings["global"] = split
    settings.DATABASES["global"]["CONN_MAX_AGE"] = 0
    # A run killed while the cache's replication was set up (tests/shards/test_cache.py) left a
    # subscription and a slot that keep its test databases from being dropped and created again.
    names = [connections[alias].creation._get_test_db_name() for alias in ("default", "global")]
    drop_cache_replication(_server_conninfo(settings.DATABASES["default"]), [*names, f"{names[0]}_peer"])


def _server_conninfo(db: dict[str, Any], database: str = "postgres") -> str:
    """libpq connection string to `database` on the server of the DATABASES entry `db`."""
    from psycopg.conninfo import make_conninfo

    params = {"host": db.get("HOST"), "port": str(db.get("PORT") or ""), "user": db.get("USER"),
              "password": db.get("PASSWORD"), "dbname": database}
    return make_conninfo("", **{k: v for k, v in params.items() if v})


def drop_cache_replication(server: str, databases: list[str]) -> None:
    """Drop the logical replication subscriptions that live in `databases` and the slots of
    `databases` on the server `server` (a libpq URL or connection string to any of its
    databases): PostgreSQL refuses to drop a database that has either. Idempotent."""
    import time

    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    def on(database: str) -> Any:
        params = conninfo_to_dict(server)
        params["dbname"] = database
        return psycopg.connect(make_conninfo("", **params), autocommit=True, connect_timeout=10)

    with on("postgres") as admin:
        subscriptions = admin.execute(
            "SELECT s.subname, d.datname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid "
            "WHERE d.datname = ANY(%s)", [databases]).fetchall()
        for name, database in subscriptions:
            with on(database) as conn:
                quoted = '"' + name.replace('"', '""') + '"'
                conn.execute(f"ALTER SUBSCRIPTION {quoted} DISABLE")
                conn.execute(f"ALTER SUBSCRIPTION {quoted} SET (slot_name = NONE)")
                conn.execute(f"DROP SUBSCRIPTION {quoted}")
        deadline = time.monotonic() + 10
        while slots := admin.execute("SELECT slot_name, active FROM pg_replication_slots WHERE database = ANY(%s)",
                                     [databases]).fetchall():
            for slot, active in slots:
                if not active:
                    admin.execute("SELECT pg_drop_replication_slot(%s)", [slot])
            if time.monotonic() > deadline:
                raise RuntimeError(f"replication slots still in use: {slots}")
            time.sleep(0.1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every database test may use both aliases (the shard's `default` and `global`): a test
    naming `databases` itself keeps its choice."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        uses_db = bool({"db", "transactional_db", "django_db_reset_sequences"} & set(getattr(item, "fixturenames", ())))
        if marker is None and not uses_db:
            continue
        kwargs = dict(marker.kwargs) if marker is not None else {}
        if "databases" in kwargs:
            continue
        args = marker.args if marker is not None else ()
        item.add_marker(pytest.mark.django_db(*args, **kwargs, databases="__all__"), append=False)


# --- the live stack (e2e and browser suites) ----------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _admin_url(url: str, database: str) -> str:
    """`url` with its database replaced (libpq accepts postgres:// URLs with a dbname override)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = database
    return make_conninfo("", **params)


def _url_with_database(url: str, database: str) -> str:
    """The postgres:// URL `url` pointing at `database` instead (the form the settings parse)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One live stack per test session, shared by tests/e2e and tests/browser: a
    `kcpsite.launcher.Stack` (daphne over TLS, celery worker and beat) on a free port, with its own
    data dir under pytest's tmp dir and its own fresh database: a new `kcp_e2e_<random>` database
    on the server of `$DATABASE_URL` when that is set (dropped afterwards), otherwise an embedded
    PostgreSQL in the data dir (stopped afterwards). Nothing it does touches `make run`'s `.kcp`
    or the unit tests' database. Defined here, in the common ancestor, because a fixture imported
    into two conftests is two fixtures: two stacks."""
    import psycopg

    from kcpsite.launcher import Stack

    data_dir = tmp_path_factory.mktemp("kcp-e2e")
    server_url = os.environ.get("DATABASE_URL") or ""
    database_url: str | None = None
    database = ""
    if server_url:
        database = f"kcp_e2e_{secrets.token_hex(4)}"
        with psycopg.connect(_admin_url(server_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        database_url = _url_with_database(server_url, database)
    # Two serving processes on the one port (kcpsite.serve): every e2e and browser test then also
    # proves that requests, watches and the portal's live updates do not depend on which process
    # answers (a watch opened on one process sees writes made through the other).
    s = Stack(data_dir, free_port(), database_url, {"KCP_SERVERS": "2"})
    try:
        s.start()
        yield s
    finally:
        s.stop()
        if database:
            with psycopg.connect(_admin_url(server_url, "postgres"), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(scope="session")
def client_binaries() -> tuple[Path, Path]:
    from tests.e2e.clients import kubectl_and_helm

    return kubectl_and_helm()
