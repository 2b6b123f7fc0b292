"""The project's kubectl plugins (`kubectl ws`, `kubectl create-workspace`) run by the REAL kubectl,
which finds them on PATH (the venv's bin dir, where `make venv` installs the console scripts), against
the live stack. Each test works on its own copy of the admin kubeconfig: the plugins rewrite it."""

from __future__ import annotations

import os
import random
import re
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kcpsite.launcher import Stack
from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e

VENV_BIN = Path(sys.prefix) / "bin"
TYPE = r"\(type root:[a-z0-9-]+\)"  # the server's default child type (kcp: universal or organization)


def uniq(prefix: str) -> str:
    return prefix + "-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=6))


class Ws:
    """The real kubectl with a private kubeconfig (a copy of the stack's) and the plugins on PATH."""

    def __init__(self, kubectl: Runner, stack: Stack, tmp_path: Path) -> None:
        assert (VENV_BIN / "kubectl-ws").exists() and (VENV_BIN / "kubectl-create_workspace").exists(), (
            f"the kubectl plugins are not installed in {VENV_BIN}: run `make venv` (pip install -e .)")
        self.kubeconfig = tmp_path / "plugins.kubeconfig"
        shutil.copyfile(stack.kubeconfig_path, self.kubeconfig)
        self.env = {"KUBECONFIG": str(self.kubeconfig), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        self.kubectl = kubectl
        self.base_url = stack.base_url

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.kubectl(*args, env=self.env, check=True, timeout=150)

    def fails(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.kubectl(*args, env=self.env, timeout=150)
        assert result.returncode == 1, f"kubectl {' '.join(args)} exited {result.returncode}:\n" \
                                       f"{result.stdout}{result.stderr}"
        return result

    def server(self) -> str:
        doc = yaml.safe_load(self.kubeconfig.read_text())
        ctx = next(c["context"] for c in doc["contexts"] if c["name"] == doc["current-context"])
        return str(next(c["cluster"]["server"] for c in doc["clusters"] if c["name"] == ctx["cluster"]))


@pytest.fixture
def ws(kubectl: Runner, stack: Stack, tmp_path: Path) -> Ws:
    return Ws(kubectl, stack, tmp_path)


def created_lines(name: str) -> str:
    """kcp's create output up to "ready": the "Waiting" line only shows if it was not Ready at once."""
    ref = rf'Workspace "{re.escape(name)}" {TYPE}'
    return rf"(?:{ref} created\. Waiting for it to be ready\.\.\.\n)?{ref} is ready to use\.\n"


def test_ws_create_enter_navigate_and_tree(ws: Ws) -> None:
    a, b = uniq("plug-a"), uniq("plug-b")
    assert ws.ok("ws", "current").stdout == "Current workspace is 'root'.\n"

    created = ws.ok("ws", "create", a, "--enter")
    assert re.fullmatch(created_lines(a) + rf"Current workspace is 'root:{a}' {TYPE}\.\n",
                        created.stdout), created.stdout
    assert ws.server() == f"{ws.base_url}/clusters/root:{a}"
    assert ws.ok("ws", "current").stdout == f"Current workspace is 'root:{a}'.\n"
    assert ws.ok("ws", "current", "--short").stdout == f"root:{a}\n"
    # kubectl itself works in the entered workspace (CA and token carried over)
    assert ws.ok("get", "namespace", "default", "-o", "name").stdout == "namespace/default\n"

    out = ws.ok("create-workspace", b).stdout
    assert re.fullmatch(created_lines(b), out), out
    assert ws.ok("ws", "current").stdout == f"Current workspace is 'root:{a}'.\n"  # not entered

    assert ws.ok("ws", "..").stdout == "Current workspace is 'root' (type root).\n"
    assert ws.ok("ws", "-").stdout == f"Current workspace is 'root:{a}'.\n"
    assert ws.ok("ws", "tree").stdout == f".\n└── {a}\n    └── {b}\n\n"

    entered = ws.ok("ws", "use", f":root:{a}:{b}").stdout
    assert re.fullmatch(rf"Current workspace is 'root:{a}:{b}' {TYPE}\.\n", entered), entered
    assert ws.ok("ws", ":root").stdout == "Current workspace is 'root' (type root).\n"
    tree = ws.ok("ws", "tree").stdout
    assert re.search(rf"^    [├└]── {a}\n    [│ ]   └── {b}$", tree, re.MULTILINE), tree
    entered = ws.ok("ws", f"{a}:{b}").stdout  # relative
    assert re.fullmatch(rf"Current workspace is 'root:{a}:{b}' {TYPE}\.\n", entered), entered


def test_ws_errors_and_ignore_existing(ws: Ws) -> None:
    a = uniq("plug-c")
    out = ws.ok("create-workspace", a).stdout
    assert re.fullmatch(created_lines(a), out), out
    again = ws.ok("create-workspace", a, "--ignore-existing").stdout
    assert re.fullmatch(rf'Workspace "{a}" {TYPE} already exists\.\nWorkspace "{a}" {TYPE} is ready to use\.\n',
                        again), again
    assert "already exists" in ws.fails("create-workspace", a).stderr

    before = ws.kubeconfig.read_bytes()
    assert ws.fails("ws", "nope-404").stderr == 'Error: workspace "root:nope-404" not found\n'
    assert ws.fails("ws", "..").stderr == "Error: cannot go up from root\n"
    assert ws.fails("ws", "Bad_Name").stderr == "Error: invalid workspace path: Bad_Name\n"
    assert ws.fails("ws", "-").stderr == "Error: no previous workspace found in kubeconfig\n"
    home = ws.fails("ws", "~")
    assert home.stdout == "" and "home workspaces" in home.stderr and "not implemented" in home.stderr
    assert ws.kubeconfig.read_bytes() == before
