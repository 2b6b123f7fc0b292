"""The membership index across shards: keyed by logical cluster name (never a shard's row key),
written by the shard holding the cluster, read through the global directory, confirmed by the
authorizer wherever the cluster is held here.

Another shard is simulated the way it shows itself to this one: its directory entries
(`DirectoryEntry` rows naming shard "shard-1") and the index rows it writes for its clusters
(`workspace_members_apply`, the call that shard makes after its RBAC changes). Nothing of it is
in this shard's database."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from guardian.models import UserObjectPermission

from kube import errors
from kube.authz.tokens import token_issue
from kube.authz.user import UserInfo
from shards.models import PHASE_DELETING, PHASE_READY, PHASE_SCHEDULING, DirectoryEntry
from shards.selectors import local_shard_name
from tests.conftest import Api
from tests.factories import WS, at, make, reconcile_all
from workspaces.addressing import new_cluster_name
from workspaces.members import (
    ADMIN,
    OLD_VIEW,
    VIEW,
    workspace_member_grant,
    workspace_member_revoke,
    workspace_members_apply,
    workspace_members_reindex,
    workspace_members_sync,
)
from workspaces.models import LogicalClusterRow, WorkspaceRow
from workspaces.selectors import (
    workspace_breadcrumb,
    workspace_children_visible,
    workspace_get_for_user,
    workspaces_accessible,
)

CRB = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
REMOTE = "shard-1"


def user(name: str) -> UserInfo:
    return UserInfo(name=name, groups=("system:authenticated",))


def lc(workspace: str) -> str:
    return WorkspaceRow.objects.get(name=workspace).logical_cluster


def index(username: str) -> dict[str, set[str]]:
    """logical cluster name → the index's permissions of `username` there."""
    out: dict[str, set[str]] = {}
    rows = UserObjectPermission.objects.filter(
        user__username=username, content_type=ContentType.objects.get_for_model(LogicalClusterRow)
    ).values_list("object_pk", "permission__codename")
    for name, codename in rows:
        out.setdefault(name, set()).add(codename)
    return out


def entry(name: str, path: str, *, parent: str = "root", shard: str = REMOTE, phase: str = PHASE_READY) -> None:
    """A directory entry as the placing shard writes it."""
    DirectoryEntry.objects.create(
        name=name,
        path=path,
        parent=parent,
        workspace=path.rsplit(":", 1)[-1],
        shard=shard,
        phase=phase,
        type="root:universal",
    )


def remote(path: str, *, parent: str = "root", phase: str = PHASE_READY, members: dict[str, str]) -> str:
    """A workspace on shard-1: its directory entry and the index rows shard-1 writes for it."""
    name = new_cluster_name()
    entry(name, path, parent=parent, phase=phase)
    workspace_members_apply(logical_cluster=name, desired=members)
    return name


def bind(api: Api, path: str, username: str, role: str) -> None:
    for binding, cluster_role in ((f"{username}-{role}", role), (f"{username}-access", "system:kcp:workspace:access")):
        r = at(api, path).post(
            CRB,
            {
                "metadata": {"name": binding},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": username}],
            },
        )
        assert r.status_code == 201, r.content


@pytest.fixture
def eager() -> Iterator[None]:
    from kcpsite.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = saved


# --- the key ----------------------------------------------------------------------------------------


def test_grant_and_revoke_through_rbac_update_the_index_keyed_by_name(
    api: Api, eager: None, django_capture_on_commit_callbacks: Any
) -> None:
    """A ClusterRoleBinding written through the API syncs the index after commit (the on_change
    hook enqueues `sync_workspace_members(<logical cluster>)`), and removing it revokes."""
    make(api, "club")
    with django_capture_on_commit_callbacks(execute=True):
        bind(api, "root:club", "bob", "edit")
    assert index("bob") == {lc("club"): {VIEW}}
    with django_capture_on_commit_callbacks(execute=True):
        assert at(api, "root:club").delete(f"{CRB}/bob-edit").status_code == 200
        assert at(api, "root:club").delete(f"{CRB}/bob-access").status_code == 200
    assert index("bob") == {}
    with django_capture_on_commit_callbacks(execute=True):
        workspace_member_grant(actor=user("admin"), logical_cluster=lc("club"), username="carol", role="admin")
    assert index("carol") == {lc("club"): {ADMIN, VIEW}}
    with django_capture_on_commit_callbacks(execute=True):
        workspace_member_revoke(actor=user("admin"), logical_cluster=lc("club"), username="carol")
    assert index("carol") == {}


def test_index_rows_of_two_clusters_never_collide(api: Api) -> None:
    """Two workspaces on two shards could share a WorkspaceRow primary key; their index rows are
    keyed by their logical cluster names, so neither shard's sync touches the other's rows and
    neither user gets the other's workspace as a candidate."""
    make(api, "club")
    far = remote("root:far", members={"dora": ADMIN})
    bind(api, "root:club", "erin", "view")
    workspace_members_sync(logical_cluster=lc("club"))
    assert index("dora") == {far: {ADMIN, VIEW}}
    assert index("erin") == {lc("club"): {VIEW}}
    # This shard's sync of its own cluster leaves shard-1's rows alone...
    bind(api, "root:club", "dora", "view")
    workspace_members_sync(logical_cluster=lc("club"))
    assert index("dora") == {far: {ADMIN, VIEW}, lc("club"): {VIEW}}
    assert at(api, "root:club").delete(f"{CRB}/dora-view").status_code == 200
    assert at(api, "root:club").delete(f"{CRB}/dora-access").status_code == 200
    workspace_members_sync(logical_cluster=lc("club"))
    assert index("dora") == {far: {ADMIN, VIEW}}
    # ...and it never syncs a cluster it does not hold (reading "no bindings" here would revoke all).
    assert workspace_members_sync(logical_cluster=far) == {}
    assert index("dora") == {far: {ADMIN, VIEW}}
    assert [w.path for w in workspaces_accessible(user=user("dora"))] == ["root:far"]
    assert [w.path for w in workspaces_accessible(user=user("erin"))] == ["root:club"]


# --- "my workspaces" across shards ----------------------------------------------------------------


def test_my_workspaces_list_local_and_remote_workspaces(api: Api, client: Client) -> None:
    make(api, "club")
    workspace_member_grant(actor=user("admin"), logical_cluster=lc("club"), username="uma", role="view")
    workspace_members_sync(logical_cluster=lc("club"))
    far = remote("root:far", members={"uma": VIEW})
    deep = remote("root:club:deep", parent=lc("club"), members={"uma": ADMIN})

    views = {w.path: w for w in workspaces_accessible(user=user("uma"))}
    assert sorted(views) == ["root:club", "root:club:deep", "root:far"]
    assert (views["root:club"].cluster, views["root:club"].shard) == (lc("club"), local_shard_name())
    assert (views["root:far"].cluster, views["root:far"].shard, views["root:far"].name) == (far, REMOTE, "far")
    assert (views["root:club:deep"].cluster, views["root:club:deep"].parent_cluster) == (deep, lc("club"))
    # A child on another shard is a visible child of its parent here.
    assert workspace_children_visible(user=user("uma"), cluster=lc("club")) == {"deep"}
    assert [w.path for w in workspaces_accessible(user=user("uma"), cluster=lc("club"))] == ["root:club:deep"]

    client.post("/login", {"token": token_issue(user_name="uma", groups=[])}, secure=True)
    page = client.get("/workspaces/", secure=True).content.decode()
    for path in ("root:club", "root:far", "root:club:deep"):
        assert f'href="/workspaces/{path}/"' in page
    assert f"on {REMOTE}" in page
    palette = orjson.loads(client.get("/palette.json", secure=True).content)
    assert {"label": "root:far", "url": "/workspaces/root:far/"} in palette["items"]
    # Its pages are served by its own shard (the proxy routes /workspaces/root:far/ there): here,
    # as for any cluster this shard does not hold, the answer is 404.
    assert client.get("/workspaces/root:far/", secure=True).status_code == 404
    assert client.get("/workspaces/root:club/", secure=True).status_code == 200


def test_a_remote_workspace_is_listed_only_when_the_index_names_it_and_the_proxy_routes_it(api: Api) -> None:
    remote("root:far", members={"uma": VIEW})
    remote("root:coming", phase=PHASE_SCHEDULING, members={"uma": VIEW})
    remote("root:leaving", phase=PHASE_DELETING, members={"uma": VIEW})
    workspace_members_apply(logical_cluster=new_cluster_name(), desired={"uma": VIEW})  # no directory entry
    assert [w.path for w in workspaces_accessible(user=user("uma"))] == ["root:far"]
    # Routed, but the index does not name them for this user: never shown, whatever RBAC says.
    assert workspaces_accessible(user=user("vic")) == []
    assert workspaces_accessible(user=UserInfo(name="admin", groups=("system:masters",))) == []


def test_a_forged_index_row_shows_nothing_the_authorizer_can_refuse(api: Api, client: Client) -> None:
    """Index rows naming mallory for a cluster this shard holds, where RBAC grants her nothing:
    never listed, never opened. For a cluster another shard holds (no RBAC here to ask), the index
    is believed for the listing: the name and path show until that shard's next sync rewrites its
    rows; opening it reaches that shard, which refuses as this one does here."""
    make(api, "club")
    workspace_members_apply(logical_cluster=lc("club"), desired={"mallory": ADMIN})
    mallory = user("mallory")
    assert workspaces_accessible(user=mallory) == []
    with pytest.raises(errors.NotFound):
        workspace_get_for_user(path="root:club", user=mallory)
    client.post("/login", {"token": token_issue(user_name="mallory", groups=[])}, secure=True)
    assert "root:club" not in client.get("/workspaces/", secure=True).content.decode()
    assert client.get("/workspaces/root:club/", secure=True).status_code == 404
    # The remote case, as stated above.
    far = remote("root:far", members={"mallory": VIEW})
    assert [w.cluster for w in workspaces_accessible(user=mallory)] == [far]


def test_pages_find_their_workspace_through_the_directory(api: Api) -> None:
    """The directory names the cluster at a path; this shard serves it only if it holds it."""
    make(api, "club")
    admin = UserInfo(name="admin", groups=("system:masters",))
    ws = workspace_get_for_user(path="root:club", user=admin)
    assert (ws.cluster, ws.parent_cluster, ws.name, ws.shard) == (lc("club"), "root", "club", local_shard_name())
    remote("root:far", members={"admin": ADMIN})
    with pytest.raises(errors.NotFound):
        workspace_get_for_user(path="root:far", user=admin)  # not held here, whoever asks
    # The breadcrumb links a remote ancestor the index names for the user (its shard decides).
    remote("root:far:deep", members={"uma": VIEW})
    assert workspace_breadcrumb(user=user("uma"), path="root:far:deep")[1:] == [
        ("far", "root:far", False),
        ("deep", "root:far:deep", True),
    ]


# --- the owning shard writes the rows ------------------------------------------------------------


@contextlib.contextmanager
def as_shard(name: str) -> Iterator[None]:
    """This process playing another shard (as tests/workspaces/test_pull.py does): same test
    database, but it acts only on what the protocol gives that shard."""
    before = settings.KCP_SHARD_NAME
    settings.KCP_SHARD_NAME = name
    try:
        yield
    finally:
        settings.KCP_SHARD_NAME = before


def test_the_shard_that_pulls_a_cluster_indexes_it_and_the_parents_shard_lists_it(
    api: Api, client: Client, eager: None, django_capture_on_commit_callbacks: Any
) -> None:
    from shards.services import shard_heartbeat, shard_register_self
    from workspaces.logicalclusters import logicalclusters_pull

    shard_register_self(name=REMOTE, base_url=f"https://{REMOTE}.example", labels={"where": "remote"})
    shard_heartbeat(name=REMOTE)
    body = {"metadata": {"name": "far"}, "spec": {"location": {"selector": {"matchLabels": {"where": "remote"}}}}}
    assert api.post(WS, body).status_code == 201
    reconcile_all()
    far = lc("far")
    assert index("admin") == {}  # placed, not made: the parent's shard writes nothing of it
    with as_shard(REMOTE):
        assert logicalclusters_pull() == 1
        assert index("admin") == {far: {ADMIN, VIEW}}  # the owner's binding, indexed by its shard
        with django_capture_on_commit_callbacks(execute=True):
            workspace_member_grant(actor=user("admin"), logical_cluster=far, username="bob", role="view")
        assert index("bob") == {far: {VIEW}}
        assert workspace_get_for_user(path="root:far", user=user("bob")).cluster == far
    # On the parent's shard: listed from the index with its shard, not served here.
    reconcile_all()
    assert [(w.path, w.shard) for w in workspaces_accessible(user=user("bob"))] == [("root:far", REMOTE)]
    client.post("/login", {"token": token_issue(user_name="bob", groups=[])}, secure=True)
    assert 'href="/workspaces/root:far/"' in client.get("/workspaces/", secure=True).content.decode()
    assert client.get("/workspaces/root:far/", secure=True).status_code == 404


def test_a_cluster_that_finishes_initializing_has_its_members_indexed(
    api: Api, django_capture_on_commit_callbacks: Any
) -> None:
    """Bindings written while a cluster initializes are not synced one by one (workspace_owner_of);
    the Ready transition on the shard holding the cluster syncs them all after commit."""
    from workspaces.services import workspace_reconcile

    gated = {"initializer": True, "extend": {"with": [{"name": "universal", "path": "root"}]}}
    r = api.post("/apis/tenancy.kcp.io/v1alpha1/workspacetypes", {"metadata": {"name": "gated"}, "spec": gated})
    assert r.status_code == 201, r.content
    body = {"metadata": {"name": "held"}, "spec": {"type": {"name": "gated", "path": "root"}}}
    assert api.post(WS, body).status_code == 201
    assert workspace_reconcile(cluster="root", name="held") == "Initializing"
    held = lc("held")
    bind(api, held, "bob", "edit")
    assert index("bob") == {}
    inside = Api(api.client, api.token, cluster=held)
    current = inside.get("/apis/core.kcp.io/v1alpha1/logicalclusters/cluster").json()
    current["status"]["initializers"] = []
    assert inside.put("/apis/core.kcp.io/v1alpha1/logicalclusters/cluster/status", current).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert workspace_reconcile(cluster="root", name="held") == "Ready"
    assert index("bob") == {held: {VIEW}}
    assert index("admin") == {held: {ADMIN, VIEW}}


# --- from the former key ---------------------------------------------------------------------------


def test_reindex_replaces_rows_keyed_by_workspace_row_pk(api: Api) -> None:
    """What migration 0004 does to an existing data dir: the rows keyed by a WorkspaceRow pk are
    dropped, and this shard's clusters are indexed by name from their RBAC (a stale old row is
    not carried over: RBAC, not the old index, is the source)."""
    make(api, "club")
    make(api, "pub")
    bind(api, "root:club", "bob", "view")
    old_ct = ContentType.objects.get_for_model(WorkspaceRow)
    old_admin, _ = Permission.objects.get_or_create(
        content_type=old_ct, codename=ADMIN, defaults={"name": "Administer the workspace"}
    )
    old_view = Permission.objects.get(content_type=old_ct, codename=OLD_VIEW)
    UserObjectPermission.objects.all().delete()  # the state before: only rows of the former key
    club_pk, pub_pk = str(WorkspaceRow.objects.get(name="club").pk), str(WorkspaceRow.objects.get(name="pub").pk)
    from django.contrib.auth import get_user_model

    users = get_user_model()
    for username, pk, perms in (
        ("admin", club_pk, (old_admin, old_view)),
        ("admin", pub_pk, (old_admin, old_view)),
        ("bob", club_pk, (old_view,)),
        ("mallory", pub_pk, (old_admin, old_view)),  # stale: RBAC never granted her
    ):
        who, _ = users.objects.get_or_create(username=username)
        UserObjectPermission.objects.bulk_create(  # as the former sync wrote them: plain rows
            [UserObjectPermission(user=who, permission=p, content_type=old_ct, object_pk=pk) for p in perms]
        )

    migration = importlib.import_module("workspaces.migrations.0004_membership_index_by_logical_cluster")
    from django.apps import apps

    migration.reindex(apps, None)
    assert not UserObjectPermission.objects.filter(content_type=old_ct).exists()
    assert index("admin") == {lc("club"): {ADMIN, VIEW}, lc("pub"): {ADMIN, VIEW}}
    assert index("bob") == {lc("club"): {VIEW}}
    assert index("mallory") == {}
    assert workspace_members_reindex() == 2  # idempotent
    assert index("bob") == {lc("club"): {VIEW}}
    assert [w.path for w in workspaces_accessible(user=user("bob"))] == ["root:club"]


def test_reindex_of_a_shard_without_workspaces_leaves_the_global_database_alone(root: None) -> None:
    """A fresh shard database (in split mode migrated before the global one): nothing to do and
    not one statement on the global database."""
    with CaptureQueriesContext(connections["global"]) as queries:
        assert workspace_members_reindex() == 0
    assert len(queries) == 0
