"""The global database behind kcpsite.dbrouter: which model lives where, which migrations run
where, and what a failure between the two databases' commits leaves usable.

The suite runs in split mode (tests/conftest.py adds the `global` alias), so these tests see two
real PostgreSQL databases."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connections, router, transaction
from guardian.models import UserObjectPermission

from kcpsite.dbrouter import GLOBAL, SHARD, GlobalRouter, is_global
from kube.authz.tokens import token_issue, user_for_token
from kube.authz.user import UserInfo
from shards.models import DirectoryEntry, ShardRecord, ShardRow
from tests.conftest import Api
from tests.factories import at, make
from workspaces.members import (
    workspace_member_grant,
    workspace_members_apply,
    workspace_members_mirrored,
    workspace_members_sync,
)
from workspaces.models import WorkspaceRow
from workspaces.selectors import workspace_get_for_user, workspaces_accessible

#: Every model of INSTALLED_APPS that belongs in the global database (kcpsite.dbrouter's list).
EXPECTED_GLOBAL = {
    "auth.permission",
    "auth.group",
    "auth.user",
    "contenttypes.contenttype",
    "sessions.session",
    "admin.logentry",
    "shards.shardrecord",
    "shards.directoryentry",
    "apis.apiexportshard",
    "guardian.userobjectpermission",
    "guardian.groupobjectpermission",
    "kube.token",
    "portal.preference",
}
CRB = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"


def _tables(alias: str) -> set[str]:
    with connections[alias].cursor() as cur:
        return set(connections[alias].introspection.table_names(cur))


def test_the_suite_runs_with_a_separate_global_database() -> None:
    assert GLOBAL in connections.databases
    assert connections[GLOBAL].settings_dict["NAME"] != connections[SHARD].settings_dict["NAME"]


def test_every_model_is_classified_and_routed() -> None:
    concrete = [m for m in apps.get_models() if not m._meta.proxy]
    routed_global = {m._meta.label_lower for m in concrete if router.db_for_write(m) == GLOBAL}
    assert routed_global == EXPECTED_GLOBAL
    for model in concrete:
        label = model._meta.label_lower
        alias = GLOBAL if label in EXPECTED_GLOBAL else SHARD
        assert router.db_for_read(model) == alias, label
        assert router.db_for_write(model) == alias, label
        assert router.allow_migrate_model(alias, model), label
        assert not router.allow_migrate_model(SHARD if alias == GLOBAL else GLOBAL, model), label
    # Storage, workspaces, apis (but which shards hold an export's bindings) and the stored Shard
    # objects stay on the shard; the shard records and the directory of logical clusters are global.
    for app in ("workspaces", "apis"):
        models = [m for m in apps.get_app_config(app).get_models() if m._meta.label_lower not in EXPECTED_GLOBAL]
        assert models and all(router.db_for_write(m) == SHARD for m in models)
    assert router.db_for_write(ShardRow) == SHARD
    assert router.db_for_write(ShardRecord) == router.db_for_write(DirectoryEntry) == GLOBAL


def test_model_less_migration_operations_follow_their_app() -> None:
    r = GlobalRouter()
    for app in ("auth", "contenttypes", "sessions", "admin", "guardian"):
        assert r.allow_migrate(GLOBAL, app) and not r.allow_migrate(SHARD, app)
    for app in ("kube", "workspaces", "apis", "shards", "portal"):  # RunSQL triggers, data migrations
        assert r.allow_migrate(SHARD, app) and not r.allow_migrate(GLOBAL, app)
    assert not r.allow_migrate("other", "kube", model_name="token")
    assert is_global("kube", "Token") and not is_global("kube", "kubeobject") and not is_global("kube")


def test_the_tables_exist_only_where_their_models_live(db: None) -> None:
    shard, global_ = _tables(SHARD), _tables(GLOBAL)
    for table in ("kube_token", "auth_user", "django_session", "guardian_userobjectpermission",
                  "portal_preference", "django_content_type", "django_admin_log", "kcp_shards", "kcp_directory"):
        assert table in global_ and table not in shard, table
    for table in ("kube_object", "tenancy_workspace", "core_logicalcluster", "shards_shard"):
        assert table in shard, table
    # The cache of what crosses shards keeps its copies under the shard tables' names (logical
    # replication matches tables by name; shards.cache.spec): there, and nothing else of a shard.
    from shards.cache.spec import TABLES

    cached = {t.table for t in TABLES}
    assert not (shard - cached - {"django_migrations"}) & global_
    assert cached <= global_


def test_relations_across_the_databases_are_refused(api: Api) -> None:
    make(api, "club")
    user = get_user_model().objects.get(username="admin")
    ws = WorkspaceRow.objects.get(name="club")
    r = GlobalRouter()
    assert r.allow_relation(user, UserObjectPermission(user=user))
    assert not r.allow_relation(user, ws)


def test_single_shard_mode_routes_everything_to_default() -> None:
    """Without KCP_GLOBAL_DATABASE_URL there is no `global` alias and the router answers default
    for every model, migrations included (`make run`: one database, as before the router)."""
    from django.db.utils import ConnectionHandler

    single = ConnectionHandler({SHARD: connections[SHARD].settings_dict})
    import kcpsite.dbrouter as dbrouter

    saved = dbrouter.connections
    dbrouter.connections = single  # type: ignore[assignment]
    try:
        r = GlobalRouter()
        for model in apps.get_models():
            assert r.db_for_write(model) == SHARD and r.db_for_read(model) == SHARD
            assert r.allow_migrate(SHARD, model._meta.app_label, model_name=model._meta.model_name)
        assert r.allow_migrate(SHARD, "auth") and r.allow_migrate(SHARD, "kube")
        assert not r.allow_migrate(GLOBAL, "auth")
        user = get_user_model()(username="x")
        assert r.allow_relation(user, WorkspaceRow())
    finally:
        dbrouter.connections = saved


def test_a_token_lives_in_the_global_database(root: None) -> None:
    token = token_issue(user_name="gina", groups=["team"])
    with connections[GLOBAL].cursor() as cur:
        cur.execute("SELECT user_name FROM kube_token WHERE user_name = 'gina'")
        assert cur.fetchall() == [("gina",)]
        cur.execute("SELECT username FROM auth_user WHERE username = 'gina'")
        assert cur.fetchall() == [("gina",)]
    user = user_for_token(token)
    assert user is not None and user.name == "gina"


# --- a failure between the two commits ------------------------------------------------------------


class Boom(Exception):
    pass


def test_mirror_written_but_shard_rolled_back_grants_nothing(api: Api, client: Any) -> None:
    """The global write commits, the shard transaction that carried the grant does not: the mirror
    then names a user RBAC never granted. That user must see and enter nothing."""
    make(api, "club")
    club = at(api, "root:club")
    lc = WorkspaceRow.objects.get(name="club").logical_cluster
    token = token_issue(user_name="mallory", groups=[])
    with pytest.raises(Boom), transaction.atomic(using=SHARD):
        r = club.post(
            CRB,
            {
                "metadata": {"name": "mallory-admin"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "mallory"}],
            },
        )
        assert r.status_code == 201, r.content
        # The scheduling step's mirror write, then a failure before the shard commits.
        workspace_members_apply(logical_cluster=lc, desired={"admin": "admin_workspace", "mallory": "admin_workspace"})
        raise Boom
    # Half written: the mirror (global) kept mallory, the binding (shard) is gone.
    assert lc in workspace_members_mirrored(username="mallory")
    assert club.get(f"{CRB}/mallory-admin").status_code == 404
    mallory = UserInfo(name="mallory", groups=("system:authenticated",))
    assert workspaces_accessible(user=mallory) == []
    with pytest.raises(Exception, match="not found"):
        workspace_get_for_user(path="root:club", user=mallory)
    assert Api(client, token, cluster="root:club").get("/api/v1/namespaces").status_code == 403
    assert Api(client, token, cluster=lc).get("/api/v1/namespaces").status_code == 403
    # The next sync drops the stale row.
    workspace_members_sync(logical_cluster=lc)
    assert workspace_members_mirrored(username="mallory") == []


def test_shard_committed_but_mirror_lost_still_grants_and_is_repaired(api: Api) -> None:
    """The other order: RBAC committed on the shard, the global mirror write lost. RBAC is the
    authority, so the grant holds (the portal finds it through the bindings themselves) and the
    next sync writes the mirror again."""
    make(api, "club")
    lc = WorkspaceRow.objects.get(name="club").logical_cluster
    admin = UserInfo(name="admin", groups=("system:authenticated",))
    workspace_member_grant(actor=admin, logical_cluster=lc, username="nina", role="view")
    workspace_members_sync(logical_cluster=lc)
    UserObjectPermission.objects.filter(user__username="nina").delete()  # the lost global write
    nina = UserInfo(name="nina", groups=("system:authenticated",))
    assert [w.path for w in workspaces_accessible(user=nina)] == ["root:club"]
    workspace_members_sync(logical_cluster=lc)
    assert workspace_members_mirrored(username="nina") == [lc]


def test_a_token_whose_grant_rolled_back_authenticates_but_is_refused(api: Api, client: Any) -> None:
    """A token is issued (global, committed) in the course of a grant whose shard write then fails:
    the token names a user, nothing more; it opens no workspace the rolled-back RBAC would have."""
    make(api, "club")
    club = at(api, "root:club")
    with pytest.raises(Boom), transaction.atomic(using=SHARD):
        token = token_issue(user_name="oscar", groups=[])
        r = club.post(
            CRB,
            {
                "metadata": {"name": "oscar-admin"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "oscar"}],
            },
        )
        assert r.status_code == 201, r.content
        raise Boom
    assert user_for_token(token) is not None  # the identity committed on its own
    assert Api(client, token, cluster="root:club").get("/api/v1/namespaces").status_code == 403
