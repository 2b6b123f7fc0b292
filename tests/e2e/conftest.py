"""End-to-end fixtures, driven by the REAL clients against the one live stack of the session
(`stack` and `client_binaries` live in tests/conftest.py so the e2e and browser suites share them).
* `kubectl`, `helm`: callables running the real binaries with the stack's admin kubeconfig and a
  throw-away HOME (no user configuration or discovery cache leaks in or out).
* `pyclient`: runs a Python snippet with the real `kubernetes` client (its own venv) and
  `KUBECONFIG` pointing at the stack.

Every test collected under tests/e2e is marked `e2e` (`-m "not e2e"` skips the live stack).
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pytest

from kcpsite.launcher import Stack

from .clients import python_client_venv

E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


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
