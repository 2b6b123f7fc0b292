"""A live stack with a separate global database (KCP_GLOBAL_DATABASE_URL): the launcher migrates
both databases, a token issued by `manage.py kcp_token` authenticates against the API, a portal
login works, and the identity rows are in the global database, not in the shard's.

Its own small stack (one daphne, one worker) beside the session's `stack`, which keeps the
single-database default so both modes run end to end."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from kcpsite.launcher import PROJECT_DIR, Stack
from tests.conftest import _admin_url, _url_with_database, drop_cache_replication, free_port
from tests.stack_api import StackApi, portal_login, portal_sign_in


def _server_url() -> str:
    """The PostgreSQL server the unit tests use (DATABASE_URL, or the test data dir's embedded one)."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    from django.conf import settings

    from kcpsite.embedded import embedded_database_url

    return embedded_database_url(settings.DATA_DIR)


@pytest.fixture(scope="module")
def split_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str, str]]:
    """(stack, shard database URL, global database URL): two fresh databases on one server."""
    server = _server_url()
    name = f"kcp_e2e_{secrets.token_hex(4)}"
    databases = [name, f"{name}_global"]
    with psycopg.connect(_admin_url(server, "postgres"), autocommit=True) as conn:
        for db in databases:
            conn.execute(f'CREATE DATABASE "{db}"')
    shard_url, global_url = (_url_with_database(server, db) for db in databases)
    stack = Stack(tmp_path_factory.mktemp("kcp-split"), free_port(), shard_url,
                  {"KCP_GLOBAL_DATABASE_URL": global_url, "KCP_SERVERS": "1", "KCP_WORKERS": "1"})
    try:
        stack.start()
        yield stack, shard_url, global_url
    finally:
        stack.stop()
        # the stack set up the cache's replication (manage.py kcp_cache install): a database with
        # a subscription or a slot cannot be dropped
        drop_cache_replication(server, databases)
        with psycopg.connect(_admin_url(server, "postgres"), autocommit=True) as conn:
            for db in databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(sql).fetchall())


def _table(url: str, table: str) -> bool:
    return bool(_rows(url, f"SELECT to_regclass('public.{table}') IS NOT NULL")[0][0])


def test_identities_live_in_the_global_database(split_stack: tuple[Stack, str, str]) -> None:
    stack, shard_url, global_url = split_stack
    issued = subprocess.run(
        [sys.executable, str(Path(PROJECT_DIR) / "manage.py"), "kcp_token",
         "--user", "gwen", "--group", "system:masters"],
        cwd=stack.data_dir, env=stack.child_env(), capture_output=True, text=True, timeout=120, check=True,
    )
    token = issued.stdout.strip()
    api = StackApi(stack)
    status, doc = api.call("GET", "/clusters/root/api/v1/namespaces", token=token)
    assert status == 200, doc
    assert {"default", "kube-system"} <= {n["metadata"]["name"] for n in doc["items"]}
    status, _ = api.call("GET", "/clusters/root/api/v1/namespaces", token="not-a-token")
    assert status == 401
    # A workspace made through the API lives on the shard.
    api.ok("POST", "/clusters/root/apis/tenancy.kcp.io/v1alpha1/workspaces",
           {"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace", "metadata": {"name": "split"}}, token=token)

    cookies = portal_login(stack, token)

    # Identities (the token, its user, the bootstrap admin, the session) are in the global
    # database; the shard's database has no such tables at all.
    assert _rows(global_url, "SELECT count(*) FROM kube_token WHERE user_name = 'gwen'") == [(1,)]
    users = {u for (u,) in _rows(global_url, "SELECT username FROM auth_user")}
    assert {"gwen", "kcp-admin"} <= users
    assert _rows(global_url, "SELECT count(*) FROM django_session")[0][0] >= 1
    assert cookies["sessionid"]
    for table in ("kube_token", "auth_user", "django_session", "guardian_userobjectpermission",
                  "django_content_type"):
        assert _table(global_url, table), table
        assert not _table(shard_url, table), table
    for table in ("tenancy_workspace", "core_logicalcluster"):
        assert _table(shard_url, table) and not _table(global_url, table), table
    assert _rows(shard_url, "SELECT count(*) FROM tenancy_workspace WHERE name = 'split'") == [(1,)]
    # The launcher set up the cache of what crosses shards (`manage.py kcp_cache install`): the
    # global database holds a read-only copy of root's WorkspaceTypes and of the RBAC marked for
    # replication, under the shard tables' names (shards.cache.spec), and nothing else of the shard.
    deadline = time.monotonic() + 10
    while _rows(global_url, "SELECT count(*) FROM tenancy_workspacetype WHERE cluster = 'root'")[0][0] < 4:
        assert time.monotonic() < deadline, "root's WorkspaceTypes never reached the cache"
        time.sleep(0.1)
    assert _rows(global_url, "SELECT count(*) FROM kube_object WHERE NOT replicate") == [(0,)]
    assert _rows(global_url, "SELECT count(*) FROM kube_object WHERE name = 'system:kcp:workspacetypes:use'") == [(1,)]
    assert _rows(global_url, "SELECT subname FROM pg_subscription") == [("kcp_cache_root",)]


def _wait(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout}s")


def test_shard_records_live_in_the_global_database_and_root_mirrors_them(
    split_stack: tuple[Stack, str, str],
) -> None:
    """The registry on a live split stack: this shard's record (heartbeat advanced by beat) is in
    the global database only; a second shard registering there (its own process, no database of
    ours) appears as a Shard object in root at the next mirror pass; a cordon set on that object
    reaches its record."""
    stack, shard_url, global_url = split_stack
    assert _table(global_url, "kcp_shards") and not _table(shard_url, "kcp_shards")
    (first,) = _rows(global_url, "SELECT heartbeat FROM kcp_shards WHERE name = 'root'")[0]
    register = (
        "from shards.services import shard_heartbeat, shard_register_self; "
        "shard_register_self(name='beta', base_url='https://beta.example', labels={'region': 'eu'}); "
        "assert shard_heartbeat(name='beta')"
    )
    subprocess.run(
        [sys.executable, str(Path(PROJECT_DIR) / "manage.py"), "shell", "-c", register],
        cwd=stack.data_dir, env={**stack.child_env(), "KCP_SHARD_NAME": "beta"}, timeout=120, check=True,
    )
    api = StackApi(stack)
    shards = "/clusters/root/apis/core.kcp.io/v1alpha1/shards"

    def mirrored() -> Any:
        status, doc = api.call("GET", f"{shards}/beta")
        return doc if status == 200 else None

    beta = _wait(mirrored, 25, "beta's Shard object did not appear in root")
    assert beta["metadata"]["labels"] == {"name": "beta", "region": "eu"}
    ready = next(c for c in beta["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    root = api.ok("GET", f"{shards}/root")
    assert next(c for c in root["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"
    _wait(
        lambda: _rows(global_url, "SELECT heartbeat FROM kcp_shards WHERE name = 'root'")[0][0] > first,
        25,
        "root's heartbeat did not advance",
    )
    api.ok("PATCH", f"{shards}/beta", {"metadata": {"annotations": {"experimental.core.kcp.io/unschedulable": ""}}},
           content_type="application/merge-patch+json")
    _wait(
        lambda: _rows(global_url, "SELECT cordoned FROM kcp_shards WHERE name = 'beta'") == [(True,)],
        10,
        "the cordon did not reach beta's record",
    )


def _set_global_reachable(global_url: str, reachable: bool) -> None:
    """Let the global database accept connections or not; cutting it off also ends the
    connections the stack holds (what a crashed or unreachable global server does to them)."""
    database = global_url.rsplit("/", 1)[-1].split("?")[0]
    with psycopg.connect(_admin_url(global_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {"true" if reachable else "false"}')
        if not reachable:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [database])


def test_global_database_down(split_stack: tuple[Stack, str, str]) -> None:
    """What users see while the global database is unreachable: bearer tokens stored there (not
    in this process's few-second lookup cache) get 503 + Retry-After, not 401, within the global
    pool's timeout (KCP_GLOBAL_DB_TIMEOUT, 5 s); a portal sign-in fails (503 with Retry-After,
    never a 500); ServiceAccount tokens, verified against the shard's own rows, keep working;
    /readyz (the shard's database) stays ok. Everything works again once it is back (within the
    pool's reconnection backoff, seconds)."""
    stack, _, global_url = split_stack
    api = StackApi(stack)
    admin = stack.admin_token
    api.ok("POST", "/clusters/root/api/v1/namespaces/default/serviceaccounts",
           {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot"}}, token=admin)
    api.ok("POST", "/clusters/root/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
           {"metadata": {"name": "bot-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]}, token=admin)
    sa_token = api.ok("POST", "/clusters/root/api/v1/namespaces/default/serviceaccounts/bot/token",
                      {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
                      token=admin)["status"]["token"]
    fresh = subprocess.run(
        [sys.executable, str(Path(PROJECT_DIR) / "manage.py"), "kcp_token", "--user", "hugo",
         "--group", "system:masters"],
        cwd=stack.data_dir, env=stack.child_env(), capture_output=True, text=True, timeout=120, check=True,
    ).stdout.strip()
    _set_global_reachable(global_url, False)
    try:
        t0 = time.monotonic()
        status, doc, headers = api.request("GET", "/clusters/root/api/v1/namespaces", token=fresh)
        assert time.monotonic() - t0 < 15  # the global pool's timeout (5 s), not the shard's 30 s
        assert status == 503 and headers.get("retry-after"), (status, doc)
        status, doc = api.call("GET", "/clusters/root/api/v1/namespaces", token=sa_token)
        assert status == 200, doc
        status, doc = api.call("GET", "/readyz", token=sa_token)
        assert status == 200, doc
        t0 = time.monotonic()
        status, cookies = portal_sign_in(stack, fresh)  # the login page itself still renders
        assert time.monotonic() - t0 < 15
        assert status == 503 and "sessionid" not in cookies, (status, cookies)
    finally:
        _set_global_reachable(global_url, True)
    # Back within the pool's reconnection: its workers retry with a backoff, so the first request
    # after the return can still wait out the 5 s and get one more 503 (seen on a loaded machine).
    deadline = time.monotonic() + 20
    while (answer := api.call("GET", "/clusters/root/api/v1/namespaces", token=fresh))[0] != 200:
        assert answer[0] == 503 and time.monotonic() < deadline, answer
        time.sleep(0.5)
    portal_login(stack, fresh)
