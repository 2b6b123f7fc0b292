"""Shards (core.kcp.io/v1alpha1, in root) and the operators' Django admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import Api
from tests.factories import at, make

SHARDS = "/apis/core.kcp.io/v1alpha1/shards"


def test_the_root_shard_registers_itself_and_workspaces_are_placed_on_it(api: Api, settings: Any) -> None:
    shard = api.get(f"{SHARDS}/root").json()
    assert shard["metadata"]["labels"] == {"name": "root"}
    assert shard["spec"]["baseURL"] == settings.KCP_EXTERNAL_URL
    assert shard["spec"]["externalURL"] == shard["spec"]["virtualWorkspaceURL"] == settings.KCP_EXTERNAL_URL
    table = api.get(SHARDS, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
    assert [c["name"] + ("*" if c.get("priority") else "") for c in table["columnDefinitions"]] == [
        "Name",
        "Region",
        "URL",
        "Ready",
        "Schedulable",
        "Workspaces",
        "External URL*",
        "Limits*",
        "Age",
    ]
    # Workspaces: root's own logical cluster, counted by the heartbeat bootstrap runs after creating it
    assert table["rows"][0]["cells"][1:6] == ["", settings.KCP_EXTERNAL_URL, "True", "True", "1"]
    make(api, "placed")
    lc = at(api, "root:placed").get("/apis/core.kcp.io/v1alpha1/logicalclusters/cluster").json()
    assert lc["metadata"]["annotations"]["core.kcp.io/shard"] == "root"


def test_shard_validation_and_defaults(api: Api) -> None:
    """The strategy validates what the system writes (422 in kube's wording); clients, root's
    admin included, create no Shard (kcp 0.34: shards register themselves)."""
    from kube import errors
    from shards.mirror import shard_mirror
    from shards.services import shard_register_self

    with pytest.raises(errors.Invalid):
        shard_register_self(name="bad", base_url="not a url")
    with pytest.raises(errors.Invalid):
        shard_register_self(name="Not_A_Name", base_url="https://x.example")
    with pytest.raises(errors.Invalid):
        shard_register_self(name="labelled", base_url="https://x.example", labels={"region": "not a value!"})
    beta = shard_register_self(name="beta", base_url="https://beta.example:6443")
    assert beta.external_url == beta.virtual_workspace_url == "https://beta.example:6443"
    shard_mirror()
    assert api.get(f"{SHARDS}/beta").json()["spec"]["externalURL"] == "https://beta.example:6443"
    r = api.post(SHARDS, {"metadata": {"name": "gamma"}, "spec": {"baseURL": "https://gamma.example:6443"}})
    assert r.status_code == 403 and "shards register themselves" in r.json()["message"]
    assert api.post(SHARDS, {"metadata": {"name": "nourl"}, "spec": {}}).status_code == 422
    assert api.post(SHARDS, {"metadata": {"name": "bad"}, "spec": {"baseURL": "not a url"}}).status_code == 422
    make(api, "elsewhere")
    r = at(api, "root:elsewhere").post(SHARDS, {"metadata": {"name": "x"}, "spec": {"baseURL": "https://x.example"}})
    assert r.status_code == 403 and "root workspace" in r.json()["message"]


def test_operators_admin_lists_and_deletes_through_the_services(api: Api, client: Client) -> None:
    from django.contrib.auth import get_user_model

    from workspaces.models import WorkspaceRow
    from workspaces.services import workspace_reconcile

    make(api, "doomed")
    operator = get_user_model().objects.get(username="kcp-admin")
    assert operator.is_staff and operator.is_superuser
    client.force_login(operator)
    assert client.get("/admin/shards/shardrow/").status_code == 200
    page = client.get("/admin/workspaces/workspacerow/")
    assert page.status_code == 200 and b"doomed" in page.content
    assert client.get("/admin/workspaces/workspacerow/add/").status_code == 403
    assert client.get("/admin/kube/token/").status_code == 200
    row = WorkspaceRow.objects.get(cluster="root", name="doomed")
    action = {"action": "delete_workspaces", "_selected_action": [str(row.pk)]}
    # the operator acts as their API identity: without an admin token they are a plain user
    r = client.post("/admin/workspaces/workspacerow/", action, follow=True)
    assert b"forbidden" in r.content
    assert not api.get("/apis/tenancy.kcp.io/v1alpha1/workspaces/doomed").json()["metadata"].get("deletionTimestamp")
    from kcpsite.bootstrap import ADMIN_GROUPS, ADMIN_USER
    from kube.authz.tokens import token_issue

    token_issue(user_name=ADMIN_USER, groups=ADMIN_GROUPS)
    r = client.post("/admin/workspaces/workspacerow/", action)
    assert r.status_code == 302
    assert api.get("/apis/tenancy.kcp.io/v1alpha1/workspaces/doomed").json()["metadata"].get("deletionTimestamp")
    workspace_reconcile(cluster="root", name="doomed")
    assert api.get("/apis/tenancy.kcp.io/v1alpha1/workspaces/doomed").status_code == 404


def test_a_non_staff_user_gets_no_admin(client: Client, root: None) -> None:
    from django.contrib.auth import get_user_model

    mallory = get_user_model().objects.create_user("mallory", password="x")
    client.force_login(mallory)
    assert client.get("/admin/workspaces/workspacerow/").status_code == 302  # to the admin login


def test_registering_again_updates_the_spec_once_through_the_mirror(api: Api) -> None:
    from kube import errors
    from kube.storage.models import Event
    from shards.mirror import shard_mirror
    from shards.models import ShardRecord
    from shards.services import shard_register_self

    shard_register_self(name="root", base_url="https://moved.example:6443")
    assert shard_mirror() == 1
    moved = api.get(f"{SHARDS}/root").json()
    assert moved["spec"] == {
        "baseURL": "https://moved.example:6443",
        "externalURL": "https://moved.example:6443",
        "virtualWorkspaceURL": "https://moved.example:6443",
    }
    events = Event.objects.count()
    shard_register_self(name="root", base_url="https://moved.example:6443")
    assert shard_mirror() == 0
    assert api.get(f"{SHARDS}/root").json()["metadata"]["resourceVersion"] == moved["metadata"]["resourceVersion"]
    assert Event.objects.count() == events
    with pytest.raises(errors.Invalid):
        shard_register_self(name="root", base_url="not a url")
    assert ShardRecord.objects.get(name="root").base_url == "https://moved.example:6443"
    assert shard_mirror() == 0
    assert Event.objects.count() == events
