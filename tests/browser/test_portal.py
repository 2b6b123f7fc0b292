"""The tenant portal in a real Chromium against the live stack, one browser context per user.

World (the `world` fixture of conftest.py, built once through the API as the admin):
  root:org-x (organization): alice is cluster-admin, bob has view, eve may manage bindings and view
    team-a (team): dora has view (the only workspace dora may open: a "deep" user)
    team-b (team), and later team-c: siblings dora must never see
  root:org-y (organization): nobody but the admin
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import RBAC, Kcp, screenshot

SIBLINGS = ("team-b", "team-c", "org-y", "org-z")


def frames_of(page: Any) -> list[str]:
    """Every websocket frame the page receives from now on."""
    frames: list[str] = []

    def on_socket(ws: Any) -> None:
        ws.on("framereceived", lambda payload: frames.append(payload if isinstance(payload, str) else str(payload)))

    page.on("websocket", on_socket)
    return frames


def bodies_of(page: Any) -> list[str]:
    """The text of every HTML/JSON response the page receives from now on (pages and fragments)."""
    bodies: list[str] = []

    def on_response(response: Any) -> None:
        kind = response.headers.get("content-type", "")
        if "html" in kind or "json" in kind:
            try:
                bodies.append(response.text())
            except Exception:  # a navigated-away response has no body any more
                pass

    page.on("response", on_response)
    return bodies


def children_rows(page: Any) -> list[str]:
    return page.locator("#children tr").evaluate_all("rows => rows.map(r => r.dataset.key)")


def test_deep_user_sees_no_sibling_names(world: Kcp, login: Callable[..., Any]) -> None:
    page = login("dora")
    frames = frames_of(page)
    seen: list[str] = []
    page.goto("/workspaces/")
    seen.append(page.content())
    tree = page.get_by_role("navigation", name="Workspace tree")
    assert tree.get_by_role("link", name="team-a").is_visible()
    assert tree.get_by_text("org-x").is_visible()
    assert tree.get_by_role("link", name="org-x").count() == 0  # an ancestor as plain text
    screenshot(page, "workspaces-deep-user")
    tree.get_by_role("link", name="team-a").click()
    page.wait_for_url("**/workspaces/root:org-x:team-a/")
    seen.append(page.content())
    assert page.get_by_role("heading", level=1).inner_text().startswith("team-a")
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    assert crumbs.get_by_role("link", name="org-x").count() == 0
    page.goto("/workspaces/root/")
    page.wait_for_function("window.kcpPortal && window.kcpPortal.stats.connects > 0")
    # siblings appear while dora watches root: neither the page nor the socket may name them
    world.workspace("root", "org-z", "organization")
    world.workspace("root:org-x", "team-c", "team")
    page.wait_for_timeout(1500)
    seen.append(page.content())
    for url in ("/workspaces/root/children.json", "/workspaces/root:org-x:team-a/children.json",
                "/workspaces/root:org-x:team-a/apis/core/v1/configmaps/list.json"):
        response = page.request.get(url)
        assert response.status == 200
        seen.append(response.text())
    for url in ("/workspaces/root:org-x:team-a/apis/", "/workspaces/root:org-x:team-a/apis/core/v1/configmaps/",
                "/workspaces/root:org-x/"):
        page.goto(url)
        seen.append(page.content())
    assert page.get_by_role("heading", level=1).inner_text() == "Not found"
    screenshot(page, "not-found")
    text = "\n".join(seen + frames)
    for name in SIBLINGS:
        assert name not in text, f"{name} leaked to dora"


def test_create_and_delete_live_in_a_second_tab(world: Kcp, login: Callable[..., Any]) -> None:
    tab_a = login("alice")
    tab_b = tab_a.context.new_page()
    frames = frames_of(tab_b)
    tab_b.goto("/workspaces/root:org-x/")
    tab_b.wait_for_function("window.kcpPortal && window.kcpPortal.stats.connects > 0")
    tab_b.evaluate("window.__noReload = true")

    tab_a.goto("/workspaces/root:org-x/")
    assert tab_a.get_by_label("Workspace type").locator("option").all_inner_texts() == ["universal", "team"]
    tab_a.get_by_label("Workspace name").fill("live-1")
    tab_a.get_by_label("Workspace type").select_option("team")
    tab_a.get_by_role("button", name="Create workspace").click()
    tab_a.get_by_text("Workspace live-1 is being created.").wait_for()

    row = tab_b.locator('#children tr[data-key="live-1"]')
    row.get_by_text("Ready").wait_for(timeout=30_000)
    assert tab_b.evaluate("window.__noReload") is True
    assert children_rows(tab_b).count("live-1") == 1
    phases = [p for p in re.findall(r'"name": ?"live-1"[^}]*"phase": ?"(\w+)"', "\n".join(frames))]
    assert phases[0] == "Scheduling" and phases[-1] == "Ready", phases
    screenshot(tab_b, "workspace-live")

    tab_a.goto("/workspaces/root:org-x:live-1/")
    tab_a.get_by_role("link", name="Delete workspace").click()
    tab_a.get_by_label("Type live-1 to confirm").fill("live-")
    tab_a.get_by_role("button", name="Delete workspace").click()
    assert tab_a.get_by_role("alert").inner_text().startswith("Type the workspace name")
    screenshot(tab_a, "delete-confirmation")
    tab_a.get_by_label("Type live-1 to confirm").fill("live-1")
    tab_a.get_by_role("button", name="Delete workspace").click()
    tab_a.wait_for_url("**/workspaces/root:org-x/")

    row.wait_for(state="detached", timeout=30_000)
    assert tab_b.evaluate("window.__noReload") is True
    text = "\n".join(frames)
    assert re.search(r'"name": ?"live-1"[^}]*"phase": ?"Terminating"', text), "no Terminating update"
    assert '"type": "DELETED"' in text or '"type":"DELETED"' in text


def test_members_add_remove_with_guards(world: Kcp, login: Callable[..., Any]) -> None:
    alice_token = world.token("alice")
    world.workspace("root:org-x", "alice-ws", "team", token=alice_token)  # alice is its only admin
    page = login("alice")
    page.goto("/workspaces/root:org-x:alice-ws/")
    members = page.locator("#members")
    assert members.locator('tr[data-member="User:alice"]').get_by_text("admin").is_visible()

    members.get_by_label("Member name").fill("bob")
    members.get_by_label("Role").select_option("view")
    members.get_by_role("button", name="Add member").click()
    members.locator('tr[data-member="User:bob"]').wait_for()
    members = page.locator("#members")
    members.get_by_label("Kind").select_option("Group")
    members.get_by_label("Member name").fill("qa")
    members.get_by_label("Role").select_option("edit")
    members.get_by_role("button", name="Add member").click()
    page.locator('#members tr[data-member="Group:qa"]').wait_for()
    screenshot(page, "members")

    # the last admin cannot be removed
    page.locator("#members").get_by_role("button", name="Remove user alice").click()
    page.locator("#members").get_by_role("alert").get_by_text("last admin").wait_for()
    assert page.locator('#members tr[data-member="User:alice"]').is_visible()

    page.locator("#members").get_by_role("button", name="Remove user bob").click()
    page.locator('#members tr[data-member="User:bob"]').wait_for(state="detached")
    status, _ = world.call("GET", "/clusters/root:org-x:alice-ws/api/v1/namespaces", token=world.token("bob"))
    assert status == 403

    # eve may manage bindings and holds view, but not edit or admin: no escalation
    eve = login("eve")
    eve.goto("/workspaces/root:org-x/")
    m = eve.locator("#members")
    m.get_by_label("Member name").fill("mallory")
    m.get_by_label("Role").select_option("admin")
    m.get_by_role("button", name="Add member").click()
    eve.locator("#members").get_by_role("alert").wait_for()
    assert eve.locator('#members tr[data-member="User:mallory"]').count() == 0
    m = eve.locator("#members")
    m.get_by_label("Member name").fill("mallory")
    m.get_by_label("Role").select_option("edit")
    m.get_by_role("button", name="Add member").click()
    eve.locator("#members").get_by_role("alert").get_by_text("needs every permission").wait_for()
    m = eve.locator("#members")
    m.get_by_label("Member name").fill("frank")
    m.get_by_label("Role").select_option("view")
    m.get_by_role("button", name="Add member").click()
    eve.locator('#members tr[data-member="User:frank"]').wait_for()
    assert eve.locator('#members tr[data-member="User:mallory"]').count() == 0


def _csrf(page: Any) -> str:
    headers = page.locator("body").get_attribute("hx-headers")
    return re.search(r'"X-CSRFToken": "([^"]+)"', headers or "").group(1)  # type: ignore[union-attr]


def test_read_only_user_has_no_write_controls_and_replays_get_403(world: Kcp, login: Callable[..., Any]) -> None:
    page = login("bob")
    page.goto("/workspaces/root:org-x/")
    assert page.get_by_role("heading", name="Members").is_visible()
    for name in ("Create workspace", "Add member", "Delete workspace"):
        assert page.get_by_role("button", name=name).count() == 0
        assert page.get_by_role("link", name=name).count() == 0
    assert page.get_by_role("button", name=re.compile("^Remove")).count() == 0
    token = _csrf(page)
    headers = {"X-CSRFToken": token, "Referer": world.base_url + "/workspaces/root:org-x/"}
    replays = [
        ("/workspaces/root:org-x/create", {"name": "sneaky", "type": "team"}),
        ("/workspaces/root:org-x/members", {"action": "grant", "kind": "User", "name": "bob", "role": "admin"}),
        ("/workspaces/root:org-x/members", {"action": "revoke", "kind": "User", "name": "alice"}),
        ("/workspaces/root:org-x/delete", {"confirm": "org-x"}),
    ]
    for url, form in replays:
        response = page.request.post(url, form=form, headers=headers)
        assert response.status == 403, (url, response.status)
        forged = page.request.post(url, form=form)  # no CSRF token at all
        assert forged.status == 403
    status, _ = world.call("GET", f"/clusters/root:org-x{RBAC}/clusterrolebindings/kcp-member-admin-bob")
    assert status == 404
    assert world.call("GET", "/clusters/root:org-x/apis/tenancy.kcp.io/v1alpha1/workspaces/sneaky")[0] == 404


def _configmaps(kcp: Kcp, token: str) -> list[str]:
    out = kcp.ok("GET", "/clusters/root:org-x/api/v1/namespaces/default/configmaps", token=token)
    return sorted(i["metadata"]["name"] for i in out["items"])


def test_live_object_list_matches_the_api(world: Kcp, login: Callable[..., Any]) -> None:
    token = world.token("alice")
    cms = "/clusters/root:org-x/api/v1/namespaces/default/configmaps"
    world.ok("POST", cms, {"metadata": {"name": "before"}, "data": {"a": "1"}}, token=token)
    world.ok("POST", "/clusters/root:org-x/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]},
    })
    page = login("alice")
    page.goto("/workspaces/root:org-x/")
    page.get_by_role("link", name="Browse objects").click()
    assert page.get_by_role("row", name=re.compile(r"^widgets ")).get_by_text("CRD").is_visible()
    assert page.get_by_role("row", name=re.compile(r"^configmaps ")).get_by_text("built-in").is_visible()
    screenshot(page, "apis")
    page.get_by_role("link", name="configmaps", exact=True).click()
    page.get_by_label("Namespace").fill("default")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function("window.kcpPortal && window.kcpPortal.stats.connects > 0")
    for i in range(5):
        world.ok("POST", cms, {"metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}}, token=token)
    world.ok("PATCH", f"{cms}/cm-2", {"data": {"i": "changed"}}, token=token,
             content_type="application/merge-patch+json")
    world.ok("DELETE", f"{cms}/cm-3", token=token)
    world.ok("DELETE", f"{cms}/before", token=token)
    expected = _configmaps(world, token)

    def rows() -> list[str]:
        return page.locator("#objects tr").evaluate_all("rows => rows.map(r => r.dataset.key)")

    world.wait_until(lambda: sorted(k.split("/", 1)[1] for k in rows()) == expected, "the live list to match")
    page.wait_for_timeout(1000)
    keys = rows()
    assert len(keys) == len(set(keys)) and sorted(k.split("/", 1)[1] for k in keys) == expected
    screenshot(page, "objects-live")
    page.get_by_role("link", name="cm-2").click()
    yaml_text = page.locator("pre.yaml").inner_text()
    assert "changed" in yaml_text and "managedFields" not in yaml_text
    screenshot(page, "object")


def test_secrets_hidden_until_revealed(world: Kcp, login: Callable[..., Any]) -> None:
    world.ok("POST", "/clusters/root:org-x/api/v1/namespaces/default/secrets",
             {"metadata": {"name": "db"}, "stringData": {"password": "hunter2"}}, token=world.token("alice"))
    page = login("alice")
    page.goto("/workspaces/root:org-x/apis/core/v1/secrets/default/db")
    assert "aHVudGVyMg" not in page.content()
    page.get_by_role("link", name="Reveal values").click()
    assert "aHVudGVyMg" in page.locator("pre.yaml").inner_text()


def test_websocket_drop_shows_reconnecting_and_relists_once(world: Kcp, login: Callable[..., Any]) -> None:
    token = world.token("alice")
    cms = "/clusters/root:org-x/api/v1/namespaces/kube-system/configmaps"
    page = login("alice")
    lists: list[str] = []
    page.on("request", lambda r: lists.append(r.url) if "/list.json" in r.url else None)
    page.goto("/workspaces/root:org-x/apis/core/v1/configmaps/?namespace=kube-system")
    page.wait_for_function("window.kcpPortal && window.kcpPortal.stats.connects === 1")
    page.evaluate("window.kcpPortal.drop()")
    page.get_by_text("Reconnecting").wait_for()
    world.ok("POST", cms, {"metadata": {"name": "while-away"}}, token=token)
    page.wait_for_function("window.kcpPortal.stats.connects === 2", timeout=20_000)
    page.locator('#objects tr[data-key="kube-system/while-away"]').wait_for()
    assert page.locator("#connection").is_hidden()
    world.ok("POST", cms, {"metadata": {"name": "after"}}, token=token)
    page.locator('#objects tr[data-key="kube-system/after"]').wait_for()
    assert len(lists) == 1, lists
    assert page.evaluate("window.kcpPortal.stats.relists") == 1


def test_kubeconfig_works_with_real_kubectl(world: Kcp, login: Callable[..., Any], client_binaries: Any,
                                            tmp_path: Path) -> None:
    page = login("alice")
    page.goto("/workspaces/root:org-x/kubeconfig")
    assert "token" not in page.locator("main").inner_text().split("Credentials")[0]
    screenshot(page, "kubeconfig")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download kubeconfig").click()
    path = tmp_path / "portal.kubeconfig"
    info.value.save_as(path)
    text = path.read_text()
    assert f"server: {world.base_url}/clusters/root:org-x" in text and "certificate-authority-data" in text
    kubectl = str(client_binaries[0])
    env = {"HOME": str(tmp_path), "KUBECONFIG": str(path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([kubectl, "get", "namespaces", "-o", "name"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "namespace/default" in out.stdout
    who = subprocess.run([kubectl, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert who.stdout.strip() == "alice", who.stderr
    page.goto("/tokens")
    assert page.get_by_text("kubeconfig for root:org-x").first.is_visible()


def test_no_access_same_answer_for_existing_and_missing(world: Kcp, login: Callable[..., Any]) -> None:
    page = login("bob")
    answers = []
    for path in ("root:org-y", "root:no-such-org"):
        for suffix in ("/", "/apis/", "/kubeconfig", "/apis/core/v1/configmaps/"):
            response = page.goto(f"/workspaces/{path}{suffix}")
            assert response is not None
            answers.append((suffix, response.status, page.locator("main").inner_text().replace(path, "P")))
    assert answers[:4] == answers[4:]
    assert all(status == 404 for _, status, _ in answers)


def test_tokens_create_list_revoke(world: Kcp, login: Callable[..., Any]) -> None:
    page = login("dora")
    page.goto("/tokens")
    page.get_by_label("Description", exact=True).fill("laptop")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    status, _ = world.call("GET", "/clusters/root:org-x:team-a/api/v1/namespaces", token=token)
    assert status == 200
    screenshot(page, "tokens")
    page.reload()
    assert page.locator("#new-token").count() == 0  # shown once
    page.get_by_role("button", name="Revoke token laptop").click()
    page.get_by_role("button", name="Revoke token laptop").wait_for(state="detached")
    time.sleep(6)  # the API's token cache forgets within 5 s in other processes
    status, _ = world.call("GET", "/clusters/root:org-x:team-a/api/v1/namespaces", token=token)
    assert status == 401


def test_palette_keyboard_only(world: Kcp, login: Callable[..., Any]) -> None:
    page = login("dora")
    page.goto("/workspaces/")
    opener = page.get_by_role("button", name="Go to…")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Go to")
    dialog.wait_for()
    assert page.evaluate("document.activeElement.id") == "palette-filter"
    page.keyboard.type("team")
    dialog.get_by_role("link", name="root:org-x:team-a", exact=True).wait_for()
    labels = dialog.get_by_role("link").all_inner_texts()
    assert labels and all("team-a" in label for label in labels), labels
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.id") == "palette-open"  # focus returns to the opener
    page.keyboard.press("Control+k")
    dialog.wait_for()
    page.keyboard.type("objects")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent") == "root:org-x:team-a · objects"
    page.keyboard.press("Enter")
    page.wait_for_url("**/workspaces/root:org-x:team-a/apis/")
    all_items = page.request.get("/palette.json").text()
    for name in SIBLINGS:
        assert name not in all_items


def test_yaml_edit_with_review_and_conflict_banner(world: Kcp, login: Callable[..., Any]) -> None:
    token = world.token("alice")
    cms = "/clusters/root:org-x/api/v1/namespaces/default/configmaps"
    world.ok("POST", cms, {"metadata": {"name": "edit-me"}, "data": {"color": "blue"}}, token=token)
    page = login("alice")
    page.goto("/workspaces/root:org-x/apis/core/v1/configmaps/default/edit-me")
    page.get_by_role("link", name="Edit YAML").click()
    editor = page.get_by_label("YAML")
    assert "managedFields" not in editor.input_value()
    editor.fill(editor.input_value().replace("color: blue", "color: green"))
    page.get_by_role("button", name="Review changes").click()
    changes = page.get_by_label("Changes").inner_text()
    assert "-  color: blue" in changes and "+  color: green" in changes
    screenshot(page, "edit-review")
    page.get_by_role("button", name="Apply changes").click()
    page.get_by_text("Your changes were applied.").wait_for()
    assert world.ok("GET", f"{cms}/edit-me", token=token)["data"] == {"color": "green"}

    # someone else changes the object while the user edits: a conflict banner, nothing overwritten
    page.get_by_role("link", name="Edit YAML").click()
    editor = page.get_by_label("YAML")
    editor.fill(editor.input_value().replace("color: green", "color: red"))
    world.ok("PATCH", f"{cms}/edit-me", {"data": {"color": "purple"}}, token=token,
             content_type="application/merge-patch+json")
    page.get_by_role("button", name="Review changes").click()
    page.get_by_role("button", name="Apply changes").click()
    banner = page.get_by_role("alert")
    assert "was changed by someone else" in banner.inner_text()
    screenshot(page, "edit-conflict")
    assert world.ok("GET", f"{cms}/edit-me", token=token)["data"] == {"color": "purple"}


def test_read_only_user_cannot_edit_yaml(world: Kcp, login: Callable[..., Any]) -> None:
    world.ok("POST", "/clusters/root:org-x/api/v1/namespaces/default/configmaps",
             {"metadata": {"name": "ro"}, "data": {"a": "1"}}, token=world.token("alice"))
    page = login("bob")
    page.goto("/workspaces/root:org-x/apis/core/v1/configmaps/default/ro")
    assert page.get_by_role("link", name="Edit YAML").count() == 0
    headers = {"X-CSRFToken": _csrf(page)}
    original = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ro\n  namespace: default\ndata:\n  a: '1'\n"
    response = page.request.post("/workspaces/root:org-x/apis/core/v1/configmaps/default/ro/edit",
                                 form={"action": "apply", "original": original,
                                       "edited": original.replace("'1'", "'2'")}, headers=headers)
    assert response.status == 403
