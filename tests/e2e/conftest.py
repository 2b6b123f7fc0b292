"""End-to-end fixtures: one live stack per test session, driven by the REAL clients.

* `stack`: a `kcpsite.launcher.Stack` (daphne over TLS, celery worker and beat) on a free port,
  with its own data dir under pytest's tmp dir and its own fresh database: a new
  `kcp_e2e_<random>` database on the server of `$DATABASE_URL` when that is set (dropped
  afterwards), otherwise an embedded PostgreSQL in the data dir (stopped afterwards). Nothing it
  does touches `make run`'s `.kcp` or the unit tests' database.
* `kubectl`, `helm`: callables running the real binaries with the stack's admin kubeconfig and a
  throw-away HOME (no user configuration or discovery cache leaks in or out).
* `pyclient`: runs a Python snippet with the real `kubernetes` client (its own venv) and
  `KUBECONFIG` pointing at the stack.

Every test collected under tests/e2e is marked `e2e` (`-m "not e2e"` skips the live stack).
"""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from kcpsite.launcher import Stack

from .clients import kubectl_and_helm, python_client_venv

E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


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
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    import psycopg

    data_dir = tmp_path_factory.mktemp("kcp-e2e")
    server_url = os.environ.get("DATABASE_URL") or ""
    database_url: str | None = None
    database = ""
    if server_url:
        database = f"kcp_e2e_{secrets.token_hex(4)}"
        with psycopg.connect(_admin_url(server_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        database_url = _url_with_database(server_url, database)
    s = Stack(data_dir, free_port(), database_url)
    try:
        s.start()
        yield s
    finally:
        s.stop()
        if database:
            with psycopg.connect(_admin_url(server_url, "postgres"), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


class Runner(Protocol):
    """Runs a client command: `run(*args, input=None, timeout=120, check=False, env=None)`."""

    def __call__(self, *args: str, input: str | None = None, timeout: float = 120, check: bool = False,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]: ...


def _runner(argv0: list[str], base_env: dict[str, str]) -> Runner:
    def run(*args: str, input: str | None = None, timeout: float = 120, check: bool = False,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*argv0, *args], input=input, capture_output=True, text=True, timeout=timeout,
                                env={**base_env, **(env or {})})
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join([*argv0, *args])} exited {result.returncode}\n"
                                 f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result

    return run


def _client_env(stack: Stack, home: Path) -> dict[str, str]:
    """A clean environment: PATH, a private HOME, the admin kubeconfig, no proxies."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "KUBECONFIG": str(stack.kubeconfig_path), "LANG": "C.UTF-8", "NO_PROXY": "127.0.0.1,localhost"}


@pytest.fixture(scope="session")
def client_binaries() -> tuple[Path, Path]:
    return kubectl_and_helm()


@pytest.fixture
def kubectl(stack: Stack, client_binaries: tuple[Path, Path], tmp_path: Path) -> Runner:
    """Run the real kubectl against the stack: `kubectl("get", "ns", "-o", "json")` → CompletedProcess."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return _runner([str(client_binaries[0])], _client_env(stack, home))


@pytest.fixture
def helm(stack: Stack, client_binaries: tuple[Path, Path], tmp_path: Path) -> Runner:
    """Run the real helm against the stack (its caches and config under a private HOME)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return _runner([str(client_binaries[1])], _client_env(stack, home))


@pytest.fixture(scope="session")
def client_python() -> Path:
    return python_client_venv()


@pytest.fixture
def pyclient(stack: Stack, client_python: Path, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run a Python snippet with the real `kubernetes` client; `KUBECONFIG` names the stack's kubeconfig.

    `pyclient(code, timeout=120, check=False, env=None)` → CompletedProcess (text)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    run = _runner([str(client_python), "-c"], _client_env(stack, home))

    def snippet(code: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return run(code, **kwargs)

    return snippet
