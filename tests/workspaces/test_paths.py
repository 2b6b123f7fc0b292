"""Workspace paths resolve through the directory of logical clusters (workspaces.addressing,
shards.directory): `root:a:b` is Workspace `b` in the logical cluster behind Workspace `a` of
root, entered by placement; a cluster's path is read back from its entry; a workspace's subtree
is every entry below it. None of it reads `kcp.io/path`."""

from __future__ import annotations

from tests.conftest import Api
from tests.factories import WS, at, make, reconcile_all


def _tree(api: Api) -> dict[str, str]:
    """root:a, root:a:b, root:a:b:c, root:a:d, root:e → their logical clusters."""
    from workspaces.models import WorkspaceRow

    make(api, "a")
    make(api, "e")
    at(api, "root:a").post(WS, {"metadata": {"name": "b"}})
    at(api, "root:a").post(WS, {"metadata": {"name": "d"}})
    reconcile_all()
    at(api, "root:a:b").post(WS, {"metadata": {"name": "c"}})
    reconcile_all()
    out = {}
    for path in ("root:a", "root:a:b", "root:a:b:c", "root:a:d", "root:e"):
        parent_path, _, name = path.rpartition(":")
        parent = "root" if parent_path == "root" else out[parent_path]
        out[path] = WorkspaceRow.objects.get(cluster=parent, name=name).logical_cluster
    return out


def test_resolution_walks_the_workspaces(api: Api) -> None:
    from workspaces.services import cluster_at_path, cluster_path, cluster_paths, cluster_resolve

    tree = _tree(api)
    for path, cluster in tree.items():
        assert cluster_resolve(path) == cluster
        assert cluster_at_path(path) == cluster
        assert cluster_path(cluster) == path
    assert cluster_paths([*tree.values(), "root", "nonexistent0000"]) == {
        **{c: p for p, c in tree.items()},
        "root": "root",
    }
    for missing in ("root:a:x", "root:e:b", "root:b", "other:a", "root::a", "root:A", "system:admin"):
        assert cluster_resolve(missing) is None, missing
    assert cluster_resolve("root:" + ":".join(["a"] * 200)) is None  # deeper than any tree: not walked


def test_a_scheduling_workspace_has_no_cluster_yet(api: Api) -> None:
    from workspaces.services import cluster_at_path, cluster_resolve

    make(api, "a")
    assert at(api, "root:a").post(WS, {"metadata": {"name": "pending"}}).status_code == 201  # not reconciled
    assert cluster_resolve("root:a:pending") is None and cluster_at_path("root:a:pending") is None


def test_the_subtree_is_every_entry_below(api: Api) -> None:
    from shards.directory import directory_mark_deleting
    from workspaces.services import cluster_resolve

    tree = _tree(api)
    assert directory_mark_deleting(name=tree["root:a:b:c"]) == [(tree["root:a:b:c"], "root")]
    marked = directory_mark_deleting(name=tree["root:a"])
    assert sorted(marked) == sorted((tree[p], "root") for p in ("root:a", "root:a:b", "root:a:b:c", "root:a:d"))
    # marked entries no longer resolve; the sibling does
    assert cluster_resolve("root:a") is None and cluster_resolve("root:a:d") is None
    assert cluster_resolve("root:e") == tree["root:e"]
    assert directory_mark_deleting(name="nonexistent0000") == []


def test_the_unique_path_migration_names_duplicates_instead_of_failing_blindly(api: Api) -> None:
    """A database already holding two live logical clusters with one path (a forged annotation
    from before the fix) stops the migration with the path and both clusters named."""
    import importlib

    import pytest
    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("workspaces.migrations.0003_logicalcluster_live_path_unique")
    tree = _tree(api)
    migration.refuse_duplicate_paths(apps, None)  # nothing to complain about
    with connection.cursor() as cur:  # as the database was before the index (rolled back with the test)
        cur.execute("DROP INDEX core_lc_live_path")
        cur.execute("UPDATE core_logicalcluster SET path = 'root:a' WHERE cluster = %s", [tree["root:e"]])
    with pytest.raises(RuntimeError, match="root:a: ") as refused:
        migration.refuse_duplicate_paths(apps, None)
    assert tree["root:a"] in str(refused.value) and tree["root:e"] in str(refused.value)
