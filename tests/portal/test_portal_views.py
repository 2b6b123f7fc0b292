"""Portal pages through the Django test client (the browser suite in tests/browser drives the
same pages in Chromium against a live server)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from kube.authz.tokens import token_issue
from tests.conftest import Api
from tests.workspaces.test_workspaces import at, make, reconcile_all

CRB = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"


def unmasked(html: bytes, name: str) -> str:
    """A page with its per-response CSRF masks and the requested name blanked out."""
    text = html.decode().replace(name, "X")
    text = re.sub(r'"X-CSRFToken": "[^"]+"', "", text)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)


def login(client: Client, token: str) -> Client:
    r = client.post("/login", {"token": token}, secure=True)
    assert r.status_code == 302, r.content
    return client


def bind(api: Api, path: str, user: str, role: str) -> None:
    for name, cluster_role in ((f"{user}-{role}", role), (f"{user}-access", "system:kcp:workspace:access")):
        r = at(api, path).post(
            CRB,
            {
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
            },
        )
        assert r.status_code == 201, r.content


@pytest.fixture
def tree(api: Api) -> Api:
    make(api, "org-a", "organization")
    make(at(api, "root:org-a"), "team-1", "team")
    make(at(api, "root:org-a"), "team-2", "team")
    make(api, "org-b", "organization")
    bind(api, "root:org-a:team-1", "dana", "view")
    return api


def test_login_required_and_token_login(client: Client, root: None) -> None:
    r = client.get("/workspaces/", secure=True)
    assert r.status_code == 302 and r["Location"].startswith("/login")
    assert client.post("/login", {"token": "nope"}, secure=True).status_code == 401
    login(client, token_issue(user_name="erin", groups=[]))
    assert client.get("/workspaces/", secure=True).status_code == 200


def test_deep_user_sees_only_their_workspace_and_ancestors(tree: Api, client: Client) -> None:
    login(client, token_issue(user_name="dana", groups=[]))
    body = client.get("/workspaces/", secure=True).content.decode()
    assert "team-1" in body and "org-a" in body
    assert "team-2" not in body and "org-b" not in body
    page = client.get("/workspaces/root:org-a:team-1/", secure=True)
    assert page.status_code == 200
    text = page.content.decode()
    assert "team-2" not in text and "org-b" not in text
    assert "Create workspace" not in text and "Delete workspace" not in text and "Add member" not in text
    root_page = client.get("/workspaces/root/", secure=True).content.decode()
    assert "org-b" not in root_page and "team-2" not in root_page
    hidden = client.get("/workspaces/root:org-a:team-2/", secure=True)
    missing = client.get("/workspaces/root:org-a:nope/", secure=True)
    assert hidden.status_code == missing.status_code == 404
    assert unmasked(hidden.content, "team-2") == unmasked(missing.content, "nope")


def test_create_delete_members_and_forged_writes(tree: Api, client: Client) -> None:
    login(client, token_issue(user_name="dana", groups=[]))
    r = client.post("/workspaces/root:org-a:team-1/create", {"name": "x"}, secure=True)
    assert r.status_code == 403
    r = client.post(
        "/workspaces/root:org-a:team-1/members", {"action": "grant", "name": "zed", "role": "admin"}, secure=True
    )
    assert r.status_code == 403
    r = client.post("/workspaces/root:org-a:team-1/delete", {"confirm": "team-1"}, secure=True)
    assert r.status_code == 403

    admin = Client()
    r = admin.post("/login", {"token": tree.token}, secure=True)
    r = admin.post("/workspaces/root:org-a/create", {"name": "team-3", "type": "team"}, secure=True)
    assert r.status_code == 302, r.content
    reconcile_all()
    assert "team-3" in admin.get("/workspaces/root:org-a/", secure=True).content.decode()
    r = admin.post(
        "/workspaces/root:org-a:team-3/members", {"action": "grant", "name": "dana", "role": "edit"}, secure=True
    )
    assert r.status_code == 302, r.content
    r = admin.post(
        "/workspaces/root:org-a:team-3/members",
        {"action": "revoke", "kind": "User", "name": "admin"},
        secure=True,
    )
    assert r.status_code == 403  # the last admin stays
    r = admin.post("/workspaces/root:org-a:team-3/delete", {"confirm": "wrong"}, secure=True)
    assert r.status_code == 422
    r = admin.post("/workspaces/root:org-a:team-3/delete", {"confirm": "team-3"}, secure=True)
    assert r.status_code == 302
    reconcile_all()


def test_tokens_theme_kubeconfig_and_objects(tree: Api, client: Client) -> None:
    login(client, token_issue(user_name="dana", groups=["devs"], description="ops"))
    r = client.post("/tokens", {"description": "laptop"}, secure=True)
    assert r.status_code == 200 and b"shown only this once" in r.content
    assert b"laptop" in client.get("/tokens", secure=True).content
    r = client.post("/settings/theme", {"theme": "dark", "next": "/tokens"}, secure=True)
    assert r.status_code == 302
    assert b'data-theme="dark"' in client.get("/tokens", secure=True).content
    r = client.post("/workspaces/root:org-a:team-1/kubeconfig", secure=True)
    assert r.status_code == 200 and b"/clusters/root:org-a:team-1" in r.content
    apis = client.get("/workspaces/root:org-a:team-1/apis/", secure=True)
    assert apis.status_code == 200 and b"configmaps" in apis.content
    at(tree, "root:org-a:team-1").post(
        "/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}, "stringData": {"k": "hunter2"}}
    )
    listing = client.get("/workspaces/root:org-a:team-1/apis/core/v1/configmaps/", secure=True)
    assert listing.status_code == 200
    secret = client.get("/workspaces/root:org-a:team-1/apis/core/v1/secrets/default/s", secure=True)
    assert secret.status_code == 403  # view may not read secrets
    admin = Client()
    admin.post("/login", {"token": tree.token}, secure=True)
    page: Any = admin.get("/workspaces/root:org-a:team-1/apis/core/v1/secrets/default/s", secure=True)
    assert page.status_code == 200 and b"aHVudGVyMg" not in page.content and b"managedFields:" not in page.content
    page = admin.get("/workspaces/root:org-a:team-1/apis/core/v1/secrets/default/s?reveal=1", secure=True)
    assert b"aHVudGVyMg" in page.content


def test_password_login_after_kcp_portal_password(client: Client, root: None) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("kcp_portal_password", "--user", "kcp-admin", stdout=out)
    password = out.getvalue().strip()
    assert client.post("/login", {"username": "kcp-admin", "password": "wrong"}, secure=True).status_code == 401
    r = client.post("/login", {"username": "kcp-admin", "password": password}, secure=True)
    assert r.status_code == 302 and r["Location"] == "/workspaces/"
    assert client.post("/logout", secure=True).status_code == 302
    assert client.get("/workspaces/", secure=True).status_code == 302


def test_portal_routes_leave_the_api_alone(api: Api, client: Client) -> None:
    assert client.get("/", secure=True)["Location"] == "/login"
    assert client.get("/static/portal/portal.css", secure=True).status_code == 200
    assert api.get("/api/v1/namespaces").status_code == 200
    r = client.get("/apis/nothing/here", secure=True)
    assert r.status_code in (401, 404) and r["Content-Type"].startswith("application/json")
    r = client.get("/no-such-page", secure=True)
    assert r.status_code == 404 and r.json()["kind"] == "Status"


def test_edit_patch_is_a_minimal_merge_patch_with_the_starting_resource_version() -> None:
    from portal.objects import object_edit_patch

    original = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "resourceVersion": "7", "labels": {"a": "1", "b": "2"}},
        "data": {"x": "1", "y": "2"},
    }
    edited = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "resourceVersion": "999", "labels": {"a": "1"}},
        "data": {"x": "changed", "y": "2", "z": "new"},
    }
    assert object_edit_patch(original=original, edited=edited) == {
        "metadata": {"labels": {"b": None}, "resourceVersion": "7"},
        "data": {"x": "changed", "z": "new"},
    }
    assert object_edit_patch(original=original, edited=original) == {}
    with pytest.raises(Exception, match="metadata.name"):
        object_edit_patch(original=original, edited={**original, "metadata": {"name": "other"}})


def test_the_object_browser_refuses_through_the_users_rights(tree: Api, client: Client) -> None:
    """Reads and writes of the object browser go through the user's authorization client: `view`
    may read a ConfigMap but an edit applied anyway is the API's 403 and changes nothing; a kind
    the user may not list is a 403 page, not an empty list."""
    team = at(tree, "root:org-a:team-1")
    assert team.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}, "data": {"a": "1"}}
                     ).status_code == 201
    login(client, token_issue(user_name="dana", groups=[]))
    page = "/workspaces/root:org-a:team-1/apis/core/v1/configmaps/default/c"
    shown = client.get(page, secure=True)
    assert shown.status_code == 200 and shown.context["may_edit"] is False
    original = client.get(page + "/edit", secure=True).context["original"]
    r = client.post(page + "/edit", {"original": original, "edited": original.replace("'1'", "'2'"),
                                     "action": "apply"}, secure=True)
    assert r.status_code == 403 and b"cannot patch" in r.content
    assert team.get("/api/v1/namespaces/default/configmaps/c").json()["data"] == {"a": "1"}
    secrets = client.get("/workspaces/root:org-a:team-1/apis/core/v1/secrets/", secure=True)
    assert secrets.status_code == 403
