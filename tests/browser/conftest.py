"""Browser fixtures: Debian's Chromium driven by Playwright against the live e2e stack.

* `stack`: the e2e stack (daphne + Celery + PostgreSQL on a free port; tests/conftest.py).
* `browser`: Chromium from `/usr/bin/chromium` (or `$KCP_CHROMIUM`). Playwright's own browser
  download is not used. A missing Chromium is a failure with the install command, never a skip:
  CI (`.ci/run`) installs it with apt-get.
* `kcp`: set-up through the real API as the admin (workspaces, RBAC, objects) and user tokens
  issued with `manage.py kcp_token` in the stack's environment.
* `login(context_user)`: a fresh browser context (its own cookies) signed in as one user.

Every test here is marked `e2e` (it needs the live stack).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kcpsite.launcher import PROJECT_DIR, Stack
from tests.stack_api import StackApi

BROWSER_DIR = Path(__file__).resolve().parent
SCREENSHOTS = PROJECT_DIR / "docs" / "screenshots"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
WS = "/apis/tenancy.kcp.io/v1alpha1/workspaces"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def chromium_path() -> str:
    candidates = [os.environ.get("KCP_CHROMIUM", ""), "/usr/bin/chromium", shutil.which("chromium") or ""]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    pytest.fail(
        "Chromium is needed for the browser tests and was not found at /usr/bin/chromium "
        "(install it with `apt-get install -y chromium`, as .ci/run does, or set KCP_CHROMIUM)",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield b
        finally:
            b.close()


class Kcp(StackApi):
    """The live stack as the admin sees it through the API, plus user tokens."""

    def __init__(self, stack: Stack) -> None:  # noqa: F811
        super().__init__(stack)
        self.tokens: dict[str, str] = {}

    # --- set-up helpers ------------------------------------------------------------------------
    def token(self, user: str, *groups: str) -> str:
        """A bearer token for `user` (issued once per user and test session)."""
        if user not in self.tokens:
            args = [sys.executable, str(PROJECT_DIR / "manage.py"), "kcp_token", "--user", user]
            for g in groups:
                args += ["--group", g]
            out = subprocess.run(args, env=self.stack.child_env(), capture_output=True, text=True, timeout=120,
                                 cwd=str(self.stack.data_dir), check=True)
            self.tokens[user] = out.stdout.strip().splitlines()[-1]
        return self.tokens[user]

    def workspace(self, parent: str, name: str, type_: str = "", *, token: str | None = None) -> dict[str, Any]:
        """Create `parent:name` (if missing) and wait until it is Ready."""
        body: dict[str, Any] = {"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace",
                                "metadata": {"name": name}}
        if type_:
            body["spec"] = {"type": {"name": type_, "path": "root"}}
        status, out = self.call("POST", f"/clusters/{parent}{WS}", body, token=token)
        assert status in (201, 409), out
        return self.wait_ready(parent, name)

    def wait_ready(self, parent: str, name: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status, ws = self.call("GET", f"/clusters/{parent}{WS}/{name}")
            if status == 200 and (ws.get("status") or {}).get("phase") == "Ready":
                return ws
            assert time.monotonic() < deadline, f"{parent}:{name} not Ready: {ws}"
            time.sleep(0.2)

    def bind(self, path: str, subject: str, cluster_role: str, *, kind: str = "User", name: str = "") -> None:
        """A ClusterRoleBinding in workspace `path` (and kcp's access, so the subject may enter)."""
        for binding, role in ((name or f"test-{subject}-{cluster_role}", cluster_role),
                              (f"test-{subject}-access", "system:kcp:workspace:access")):
            status, out = self.call("POST", f"/clusters/{path}{RBAC}/clusterrolebindings", {
                "metadata": {"name": binding.replace(":", "-")},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": subject}],
            })
            assert status in (201, 409), out

    def wait_until(self, check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            got = check()
            if got:
                return got
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.2)


@pytest.fixture(scope="session")
def kcp(stack: Stack) -> Kcp:  # noqa: F811
    return Kcp(stack)


@pytest.fixture
def login(browser: Any, kcp: Kcp) -> Iterator[Callable[..., Any]]:
    """`login(user, *groups)` → a Page in a new browser context signed in as `user` (token login)."""
    contexts: list[Any] = []

    def sign_in(user: str, *groups: str, color_scheme: str = "light") -> Any:
        token = kcp.stack.admin_token if user == "kcp-admin" else kcp.token(user, *groups)
        context = browser.new_context(base_url=kcp.base_url, ignore_https_errors=True, color_scheme=color_scheme,
                                      viewport={"width": 1280, "height": 860})
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Bearer token").fill(token)
        page.get_by_role("button", name="Sign in with token").click()
        page.wait_for_url("**/workspaces/")
        return page

    yield sign_in
    for c in contexts:
        c.close()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session")
def world(kcp: Kcp) -> Kcp:
    kcp.workspace("root", "org-x", "organization")
    kcp.workspace("root", "org-y", "organization")
    kcp.workspace("root:org-x", "team-a", "team")
    kcp.workspace("root:org-x", "team-b", "team")
    kcp.bind("root:org-x", "alice", "cluster-admin")
    kcp.bind("root:org-x", "bob", "view")
    kcp.bind("root:org-x:team-a", "dora", "view")
    kcp.ok("POST", f"/clusters/root:org-x{RBAC}/clusterroles", {
        "metadata": {"name": "member-manager"},
        "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterrolebindings"],
                   "verbs": ["get", "list", "create", "delete"]}],
    })
    kcp.bind("root:org-x", "eve", "member-manager")
    kcp.bind("root:org-x", "eve", "view", name="test-eve-view")
    for user in ("alice", "bob", "dora", "eve"):
        kcp.token(user)
    return kcp
