"""axe (carried offline by axe-playwright-python) on every portal page, in the light and the dark
theme: no serious or critical findings. The pages' screenshots for docs/screenshots come from here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Kcp, screenshot

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    "resultTypes": ["violations"],
}
PAGES = [
    ("workspaces", "/workspaces/"),
    ("workspace", "/workspaces/root:org-x/"),
    ("delete", "/workspaces/root:org-x:team-b/delete"),
    ("kubeconfig", "/workspaces/root:org-x/kubeconfig"),
    ("tokens", "/tokens"),
    ("apis", "/workspaces/root:org-x/apis/"),
    ("objects", "/workspaces/root:org-x/apis/core/v1/namespaces/"),
    ("object", "/workspaces/root:org-x/apis/core/v1/namespaces/-/default"),
    ("edit", "/workspaces/root:org-x/apis/core/v1/namespaces/-/default/edit"),
    ("not-found", "/workspaces/root:no-such-org/"),
]


def serious(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS)
    out = []
    for v in results.response["violations"]:
        if v.get("impact") in ("serious", "critical"):
            targets = [n.get("target") for n in v.get("nodes", [])][:5]
            out.append(f"{v['id']} ({v['impact']}): {v['help']} at {targets}")
    return out


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_passes_axe(theme: str, world: Kcp, login: Callable[..., Any], browser: Any) -> None:
    # signed out: the login page, in the browser's colour scheme ("system")
    context = browser.new_context(base_url=world.base_url, ignore_https_errors=True, color_scheme=theme)
    try:
        anonymous = context.new_page()
        anonymous.goto("/login")
        assert serious(anonymous) == [], "login"
        screenshot(anonymous, f"login-{theme}")
    finally:
        context.close()

    page = login("alice", color_scheme="light")
    page.goto("/workspaces/")
    page.get_by_label("Theme").select_option(theme)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("data-theme") == theme  # rendered by the server
    findings: dict[str, list[str]] = {}
    for name, url in PAGES:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        found = serious(page)
        if found:
            findings[name] = found
        if name in ("workspaces", "workspace", "tokens", "apis", "objects", "kubeconfig"):
            screenshot(page, f"{name}-{theme}")
    page.goto("/workspaces/")
    page.keyboard.press("Control+k")
    page.get_by_role("dialog", name="Go to").get_by_role("link").first.wait_for()
    found = serious(page)
    if found:
        findings["palette"] = found
    screenshot(page, f"palette-{theme}")
    assert findings == {}, findings
