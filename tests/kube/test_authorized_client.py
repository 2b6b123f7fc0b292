"""The authorization client (kube.registry.authorized): every Store call it offers is refused with
the API's 403 when the user's RBAC does not allow it, before storage is touched; granted rights
open exactly the verbs they name. The portal reads and writes through it (tests/portal covers the
pages)."""

from __future__ import annotations

import pytest

from kube import errors
from kube.authz.identity import django_user_info
from kube.authz.tokens import token_issue
from kube.authz.user import UserInfo
from kube.registry import REGISTRY
from kube.registry.authorized import AuthorizedClient
from kube.registry.store import PATCH_MERGE
from tests.conftest import Api
from tests.portal.test_portal_views import CRB, bind
from tests.workspaces.test_workspaces import at, make

CM = "/api/v1/namespaces/default/configmaps"


def _configmaps(cluster: str):  # type: ignore[no-untyped-def]
    info = REGISTRY.resolve(cluster=cluster, group="", version="v1", resource="configmaps")
    assert info is not None
    return info


def _portal_user(name: str) -> UserInfo:
    """The identity a portal user signed in with a token of no groups has (as the portal builds it)."""
    from django.contrib.auth import get_user_model

    token_issue(user_name=name, groups=[])
    return django_user_info(user=get_user_model().objects.get(username=name))


@pytest.fixture
def team(api: Api) -> str:
    """A workspace with one ConfigMap; returns its logical cluster."""
    ws = make(api, "team")
    assert at(api, "root:team").post(CM, {"metadata": {"name": "settings"}, "data": {"a": "1"}}).status_code == 201
    return str(ws["spec"]["cluster"])


def test_a_user_without_rbac_rights_is_refused_every_store_call(api: Api, team: str) -> None:
    client = AuthorizedClient(user=_portal_user("nora"), cluster=team, field_manager="test")
    info = _configmaps(team)
    before = at(api, "root:team").get(f"{CM}/settings").json()
    calls = {
        "get": lambda: client.get(info, "default", "settings"),
        "list": lambda: client.list(info, "default"),
        "watch": lambda: client.watch(info, "default"),
        "get_listed": lambda: client.get_listed(info, "default", "settings"),
        "create": lambda: client.create(info, "default", {"metadata": {"name": "new"}}),
        "update": lambda: client.update(info, "default", "settings", {**before, "data": {"a": "2"}}),
        "patch": lambda: client.patch(info, "default", "settings", PATCH_MERGE, {"data": {"a": "3"}}),
        "delete": lambda: client.delete(info, "default", "settings"),
    }
    for verb, call in calls.items():
        with pytest.raises(errors.Forbidden) as refused:
            call()
        assert refused.value.code == 403, verb
        assert "access denied" in refused.value.message, verb  # kcp's workspace gate comes first
    assert not client.can("get", "configmaps", namespace="default")
    assert not client.can_path("access", "/")
    assert not client.may("list", info)
    assert at(api, "root:team").get(f"{CM}/settings").json() == before
    assert at(api, "root:team").get(f"{CM}/new").status_code == 404


def test_granted_rights_open_exactly_their_verbs(api: Api, team: str) -> None:
    bind(api, "root:team", "vera", "view")
    client = AuthorizedClient(user=_portal_user("vera"), cluster=team, field_manager="test")
    info = _configmaps(team)
    assert client.get(info, "default", "settings")["data"] == {"a": "1"}
    assert [o["metadata"]["name"] for o in client.list(info, "default").items] == ["settings"]
    revision, body = client.get_listed(info, "default", "settings")
    assert revision > 0 and body["metadata"]["name"] == "settings"
    assert client.can("list", "configmaps") and client.can_path("access", "/")
    assert not client.may("patch", info, "default", "settings")
    with pytest.raises(errors.Forbidden) as refused:
        client.patch(info, "default", "settings", PATCH_MERGE, {"data": {"a": "3"}})
    assert 'cannot patch resource "configmaps"' in refused.value.message
    assert at(api, "root:team").get(f"{CM}/settings").json()["data"] == {"a": "1"}

    edit = {
        "metadata": {"name": "vera-edit"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "vera"}],
    }
    assert at(api, "root:team").post(CRB, edit).status_code == 201
    assert client.patch(info, "default", "settings", PATCH_MERGE, {"data": {"a": "3"}})["data"] == {"a": "3"}
    stored = at(api, "root:team").get(f"{CM}/settings").json()
    assert stored["data"] == {"a": "3"}
    managers = [f["manager"] for f in stored["metadata"]["managedFields"]]
    assert "test" in managers  # written as the user, with the client's field manager


def test_a_verb_the_kind_does_not_serve_is_405_before_rbac(api: Api, root: None) -> None:
    info = REGISTRY.resolve(cluster="root", group="authorization.k8s.io", version="v1",
                            resource="selfsubjectaccessreviews")
    assert info is not None and "list" not in info.verbs
    client = AuthorizedClient(user=UserInfo(name="admin", groups=("system:masters",)), cluster="root")
    with pytest.raises(errors.MethodNotAllowed):
        client.list(info)
    assert not client.may("list", info)
