"""Placement is pulled (workspaces.logicalclusters, shards.directory): the parent's shard commits
a directory entry naming the chosen shard and writes nothing of the logical cluster; the chosen
shard pulls the entry, creates the LogicalCluster and moves the entry on; the parent's shard then
completes the Workspace. Interrupted at any point, the next pass finishes the job with exactly one
logical cluster.

The other shard is played by this process under another shard name (`as_shard`): what it writes
goes to the same test database, but it reads and writes only what the protocol lets it — the
directory and its own logical clusters — so the steps and their order are what is tested."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import IntegrityError

from tests.conftest import Api
from tests.factories import WS, make, reconcile_all

REMOTE = "shard-1"


def register_remote(**labels: str) -> None:
    from shards.services import shard_heartbeat, shard_register_self

    shard_register_self(name=REMOTE, base_url=f"https://{REMOTE}.example", labels={"where": "remote", **labels})
    shard_heartbeat(name=REMOTE)


@contextlib.contextmanager
def as_shard(name: str) -> Iterator[None]:
    before = settings.KCP_SHARD_NAME
    settings.KCP_SHARD_NAME = name
    try:
        yield
    finally:
        settings.KCP_SHARD_NAME = before


def create_remote(api: Api, name: str) -> dict[str, Any]:
    register_remote()
    body = {"metadata": {"name": name}, "spec": {"location": {"selector": {"matchLabels": {"where": "remote"}}}}}
    assert api.post(WS, body).status_code == 201
    reconcile_all()
    return dict(api.get(f"{WS}/{name}").json())


def entry(name: str) -> Any:
    from shards.directory import directory_get

    return directory_get(name=name)


def logical_clusters(name: str) -> int:
    from workspaces.models import LogicalClusterRow

    return LogicalClusterRow.objects.filter(cluster=name, name="cluster").count()


def test_a_remote_placement_is_an_entry_and_nothing_else_until_the_shard_pulls(api: Api) -> None:
    from workspaces.logicalclusters import logicalclusters_pull
    from workspaces.services import cluster_resolve, workspace_reconcile

    ws = create_remote(api, "far")
    lc = ws["spec"]["cluster"]
    assert ws["status"]["phase"] == "Scheduling" and ws["metadata"]["annotations"]["core.kcp.io/shard"] == REMOTE
    placed = entry(lc)
    assert (placed.shard, placed.phase, placed.path, placed.parent, placed.workspace) == (
        REMOTE,
        "Scheduling",
        "root:far",
        "root",
        "far",
    )
    assert placed.owner_uid == ws["metadata"]["uid"] and placed.spec["initializers"] == ["root:universal"]
    assert logical_clusters(lc) == 0  # the parent's shard wrote nothing of it
    # The target shard was down between placement and Ready: repeated passes place nothing new.
    for _ in range(3):
        assert workspace_reconcile(cluster="root", name="far") == "Scheduling"
    from shards.models import DirectoryEntry

    assert DirectoryEntry.objects.filter(owner_uid=ws["metadata"]["uid"]).count() == 1
    # The shard comes back and pulls (twice: a notification and the resync): one LogicalCluster.
    with as_shard(REMOTE):
        assert logicalclusters_pull() == 1
        assert logicalclusters_pull() == 0
        assert cluster_resolve("root:far") == lc
    assert logical_clusters(lc) == 1 and entry(lc).phase == "Ready"
    # Served by its shard only: here (root) the path does not resolve to another shard's cluster.
    assert cluster_resolve("root:far") is None
    # The parent's shard completes the Workspace from the entry.
    assert workspace_reconcile(cluster="root", name="far") == "Ready"
    done = api.get(f"{WS}/far").json()
    assert done["status"]["phase"] == "Ready" and done["spec"]["URL"].endswith("/clusters/root:far")


def test_a_pull_interrupted_after_the_cluster_was_made_moves_the_entry_next_time(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workspaces import logicalclusters

    lc = create_remote(api, "halfway")["spec"]["cluster"]

    def crash(**kwargs: Any) -> bool:
        raise RuntimeError("killed before the directory heard of it")

    with as_shard(REMOTE):
        monkeypatch.setattr(logicalclusters, "directory_set_phase", crash)
        with pytest.raises(RuntimeError):
            logicalclusters.logicalclusters_pull()
        monkeypatch.undo()
        assert logical_clusters(lc) == 1 and entry(lc).phase == "Scheduling"
        assert logicalclusters.logicalclusters_pull() == 1
    assert logical_clusters(lc) == 1 and entry(lc).phase == "Ready"


def test_deleting_a_remote_workspace_marks_its_entry_and_its_shard_purges_it(
    api: Api, django_capture_on_commit_callbacks: Any
) -> None:
    from workspaces.logicalclusters import logicalclusters_pull
    from workspaces.models import LogicalClusterRow

    lc = create_remote(api, "gone")["spec"]["cluster"]
    with as_shard(REMOTE):
        logicalclusters_pull()
    reconcile_all()
    assert api.delete(f"{WS}/gone").status_code == 200
    reconcile_all()
    assert api.get(f"{WS}/gone").status_code == 404
    assert entry(lc).phase == "Deleting" and logical_clusters(lc) == 1  # the other shard's to purge
    with as_shard(REMOTE), django_capture_on_commit_callbacks(execute=True):
        assert logicalclusters_pull() == 1  # the entry goes once the purge committed
    assert entry(lc) is None
    assert not LogicalClusterRow.objects.filter(cluster=lc).exists()


def test_an_entry_deleted_while_its_cluster_was_made_gets_the_cluster_purged(
    api: Api, django_capture_on_commit_callbacks: Any
) -> None:
    """The Workspace is deleted on its shard while the target shard creates the logical cluster:
    the entry is Deleting when the target moves it, which refuses, and the target purges."""
    from shards import directory
    from workspaces import logicalclusters

    lc = create_remote(api, "race")["spec"]["cluster"]
    real = logicalclusters.logicalcluster_materialize

    def materialize_then_deleted(**kwargs: Any) -> Any:
        made = real(**kwargs)
        directory.directory_mark_deleting(name=lc)
        return made

    with as_shard(REMOTE), django_capture_on_commit_callbacks(execute=True):
        logicalclusters.logicalcluster_materialize = materialize_then_deleted  # type: ignore[assignment]
        try:
            logicalclusters.logicalclusters_pull()
        finally:
            logicalclusters.logicalcluster_materialize = real  # type: ignore[assignment]
    assert logical_clusters(lc) == 0 and entry(lc) is None


def test_a_name_clash_rolls_the_placement_back_and_the_retry_draws_another(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shards.models import DirectoryEntry
    from workspaces import services

    assert api.post(WS, {"metadata": {"name": "first"}}).status_code == 201
    reconcile_all()
    taken = api.get(f"{WS}/first").json()["spec"]["cluster"]
    assert api.post(WS, {"metadata": {"name": "second"}}).status_code == 201
    monkeypatch.setattr(services, "new_cluster_name", lambda: taken)
    with pytest.raises(IntegrityError):
        services.workspace_reconcile(cluster="root", name="second")
    monkeypatch.undo()
    second = api.get(f"{WS}/second").json()
    assert not second["spec"].get("cluster") and second["status"]["phase"] == "Scheduling"
    assert services.workspace_reconcile(cluster="root", name="second") == "Ready"
    lc = api.get(f"{WS}/second").json()["spec"]["cluster"]
    assert lc != taken and logical_clusters(lc) == 1 and logical_clusters(taken) == 1
    assert DirectoryEntry.objects.get(name=taken).workspace == "first"


def test_the_directory_is_republished_from_the_shards_own_clusters(api: Api) -> None:
    """A data dir from before the directory (or a lost global database): the shard enters what it
    holds, with paths by ownership, and resolution works again."""
    from shards.models import DirectoryEntry
    from workspaces.logicalclusters import logicalclusters_publish
    from workspaces.services import cluster_resolve

    for name in ("a", "b"):
        assert api.post(WS, {"metadata": {"name": name}}).status_code == 201
    reconcile_all()
    from tests.factories import at

    assert at(api, "root:a").post(WS, {"metadata": {"name": "inner"}}).status_code == 201
    reconcile_all()
    inner = cluster_resolve("root:a:inner")
    assert inner
    DirectoryEntry.objects.exclude(name="root").delete()
    assert cluster_resolve("root:a:inner") is None
    assert logicalclusters_publish() == 3
    assert logicalclusters_publish() == 0
    assert cluster_resolve("root:a:inner") == inner
    restored = DirectoryEntry.objects.get(name=inner)
    assert (restored.path, restored.workspace, restored.phase) == ("root:a:inner", "inner", "Ready")


def test_the_follower_turns_notifications_into_this_shards_work(api: Api) -> None:
    import json

    from workspaces.follower import follower_dispatch

    calls: list[Any] = []

    def dispatch(**note: Any) -> str:
        return follower_dispatch(
            payload=json.dumps(note),
            shard="root",
            pull=lambda: calls.append("pull"),
            reconcile=lambda c, w: calls.append((c, w)),
        )

    assert dispatch(op="INSERT", shard="root", phase="Scheduling", name="x", parent="2elsewhere") == "pull"
    # placed here by this shard's own scheduler (the parent is here): its transaction makes it
    assert dispatch(op="INSERT", shard="root", phase="Scheduling", name="x", parent="root") == ""
    assert dispatch(op="UPDATE", shard="root", phase="Deleting", name="x") == "pull"
    assert dispatch(op="INSERT", shard="other", phase="Scheduling", name="x") == ""
    assert dispatch(op="DELETE", shard="root", phase="Deleting", name="x") == ""
    # Ready on another shard, parent here (root is local in the test database): the parent reconciles.
    make(api, "w")
    assert dispatch(op="UPDATE", shard="other", phase="Ready", parent="root", workspace="w", name="2x") == "reconcile"
    assert dispatch(op="UPDATE", shard="other", phase="Ready", parent="nowhere0000", workspace="w") == ""
    assert dispatch(op="UPDATE", shard="other", phase="Ready", parent="root", workspace="absent", name="2x") == ""
    # a Workspace that already shows the phase (made Ready where it was scheduled): no task
    ready = make(api, "shown")
    lc = ready["spec"]["cluster"]
    assert dispatch(op="UPDATE", shard="root", phase="Ready", parent="root", workspace="shown", name=lc) == ""
    assert dispatch(op="UPDATE", shard="root", phase="Initializing", parent="root", workspace="shown", name=lc) == (
        "reconcile"
    )
    calls.pop()
    assert follower_dispatch(payload="{not json", shard="root", pull=lambda: None, reconcile=lambda c, w: None) == ""
    assert follower_dispatch(payload="[1]", shard="root", pull=lambda: None, reconcile=lambda c, w: None) == ""
    assert calls == ["pull", "pull", ("root", "w")]


def test_a_batch_of_notifications_costs_one_pull_and_one_reconcile_per_workspace(api: Api) -> None:
    import json

    from workspaces.follower import follower_batch

    make(api, "b1")
    make(api, "b2")
    placed = [json.dumps({"op": "INSERT", "shard": "root", "phase": "Scheduling", "name": f"n{i}",
                          "parent": "2elsewhere"}) for i in range(5)]  # fmt: skip
    ready = [json.dumps({"op": "UPDATE", "shard": "other", "phase": "Ready", "name": "2x", "parent": "root",
                         "workspace": w}) for w in ("b1", "b2", "b1")]  # fmt: skip
    pull, keys = follower_batch(notes=[("kcp_directory", p) for p in [*placed, *ready]], shard="root")
    assert pull is True and keys == [("root", "b1"), ("root", "b2")]
    assert follower_batch(notes=[], shard="root") == (False, [])
