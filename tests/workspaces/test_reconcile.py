"""The workspace reconciler's scheduling transaction: a new workspace becomes Ready in one
transaction with its built-in initializers' objects, or nothing of it is written; initializers
owned by other controllers keep it Initializing until they are removed."""

from __future__ import annotations

from typing import Any

import pytest

from kube import errors
from tests.conftest import Api

WS = "/apis/tenancy.kcp.io/v1alpha1/workspaces"
RBAC = "rbac.authorization.k8s.io"


def post_workspace(api: Api, name: str, type_: str = "") -> None:
    body: dict[str, Any] = {"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace", "metadata": {"name": name}}
    if type_:
        body["spec"] = {"type": {"name": type_, "path": "root"}}
    r = api.post(WS, body)
    assert r.status_code == 201, r.content


def stored(cluster: str, group: str, resource: str, name: str, namespace: str = "") -> dict[str, Any] | None:
    from kube.storage import backend
    from kube.storage.backend import Key

    return backend.get(Key(cluster, group, resource, namespace, name))


def test_a_new_workspace_is_ready_after_one_transaction_with_its_initial_objects(api: Api) -> None:
    from kube.storage.models import Event
    from workspaces.members import workspace_members_desired
    from workspaces.services import workspace_reconcile

    post_workspace(api, "alpha")
    before = max(Event.objects.values_list("revision", flat=True))
    assert workspace_reconcile(cluster="root", name="alpha") == "Ready"

    ws = stored("root", "tenancy.kcp.io", "workspaces", "alpha")
    assert ws is not None
    lc_name = ws["spec"]["cluster"]
    assert ws["status"]["phase"] == "Ready"
    assert ws["status"]["initializers"] == []
    conditions = {c["type"]: c["status"] for c in ws["status"]["conditions"]}
    assert conditions == {"WorkspaceScheduled": "True", "WorkspaceInitialized": "True"}
    lc = stored(lc_name, "core.kcp.io", "logicalclusters", "cluster")
    assert lc is not None
    assert (lc["status"]["phase"], lc["status"]["initializers"]) == ("Ready", [])
    assert lc["spec"]["initializers"] == ["root:universal"]
    for ns in ("default", "kube-system"):
        assert stored(lc_name, "", "namespaces", ns) is not None
    binding = stored(lc_name, RBAC, "clusterrolebindings", "workspace-admin")
    assert binding is not None
    assert binding["subjects"] == [{"apiGroup": RBAC, "kind": "User", "name": "admin"}]
    # The portal's membership mirror was written in the same transaction.
    assert workspace_members_desired(logical_cluster=lc_name) == {"admin": "admin_workspace"}
    from workspaces.members import ADMIN, workspace_members_mirrored

    assert workspace_members_mirrored(username="admin", permission=ADMIN) == [lc_name]
    # One transaction: its events are consecutive revisions, the Workspace's last.
    events = list(Event.objects.filter(revision__gt=before).order_by("revision").values_list("revision", "resource"))
    assert [r for _, r in events] == [
        "logicalclusters",
        "namespaces",
        "namespaces",
        "clusterrolebindings",
        "workspaces",
    ]
    assert [rev for rev, _ in events] == list(range(before + 1, before + 6))
    # Nothing left to do: another run changes nothing.
    assert workspace_reconcile(cluster="root", name="alpha") == "Ready"
    assert max(Event.objects.values_list("revision", flat=True)) == before + 5


def test_an_initializer_that_fails_leaves_nothing_of_the_workspace_behind(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workspaces import services
    from workspaces.models import LogicalClusterRow

    post_workspace(api, "broken")
    from kube.registry import REGISTRY

    resolve = REGISTRY.resolve

    def bad_objects(lc_name: str, lc: dict[str, Any]) -> list[Any]:
        namespaces = resolve(cluster=lc_name, group="", version="v1", resource="namespaces")
        return [(namespaces, "", {"metadata": {"name": "ok"}}), (namespaces, "", {"metadata": {"name": "Not_Valid"}})]

    monkeypatch.setitem(services.BUILTIN_INITIALIZERS, services.UNIVERSAL_INITIALIZER, bad_objects)
    lcs_before = LogicalClusterRow.objects.count()
    with pytest.raises(errors.Invalid):
        services.workspace_reconcile(cluster="root", name="broken")
    ws = stored("root", "tenancy.kcp.io", "workspaces", "broken")
    assert ws is not None
    assert not (ws.get("spec") or {}).get("cluster")
    assert (ws.get("status") or {}).get("phase") == "Scheduling"
    assert LogicalClusterRow.objects.count() == lcs_before
    # Fixed, the next run (Celery retries the task) schedules it.
    monkeypatch.undo()
    assert services.workspace_reconcile(cluster="root", name="broken") == "Ready"


def test_an_initializer_of_another_controller_keeps_the_workspace_initializing(api: Api) -> None:
    from workspaces.members import workspace_members_desired
    from workspaces.services import workspace_reconcile

    r = api.post(
        "/apis/tenancy.kcp.io/v1alpha1/workspacetypes",
        {
            "apiVersion": "tenancy.kcp.io/v1alpha1",
            "kind": "WorkspaceType",
            "metadata": {"name": "gated"},
            "spec": {"initializer": True, "extend": {"with": [{"name": "universal", "path": "root"}]}},
        },
    )
    assert r.status_code == 201, r.content
    post_workspace(api, "held", "gated")
    assert workspace_reconcile(cluster="root", name="held") == "Initializing"
    ws = stored("root", "tenancy.kcp.io", "workspaces", "held")
    assert ws is not None
    lc_name = ws["spec"]["cluster"]
    assert ws["status"]["initializers"] == ["root:gated"]
    lc = stored(lc_name, "core.kcp.io", "logicalclusters", "cluster")
    assert lc is not None
    assert (lc["status"]["phase"], lc["status"]["initializers"]) == ("Initializing", ["root:gated"])
    # the built-in part is done already
    assert stored(lc_name, "", "namespaces", "default") is not None
    assert workspace_reconcile(cluster="root", name="held") == "Initializing"

    # The other controller finishes: it removes its initializer from the LogicalCluster's status.
    in_cluster = Api(api.client, api.token, cluster=lc_name)
    lc["status"]["initializers"] = []
    r = in_cluster.put("/apis/core.kcp.io/v1alpha1/logicalclusters/cluster/status", lc)
    assert r.status_code == 200, r.content
    assert workspace_reconcile(cluster="root", name="held") == "Ready"
    lc = stored(lc_name, "core.kcp.io", "logicalclusters", "cluster")
    assert lc is not None
    assert lc["status"]["phase"] == "Ready"
    assert workspace_members_desired(logical_cluster=lc_name) == {"admin": "admin_workspace"}


def test_a_built_in_initializer_left_pending_is_run_by_the_initialize_step(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A logical cluster whose built-in initializer did not run while it was scheduled (scheduled
    by an earlier version) gets it run later, and then becomes Ready."""
    from workspaces import services

    post_workspace(api, "later")
    from workspaces import logicalclusters

    monkeypatch.setattr(logicalclusters, "BUILTIN_INITIALIZERS", {})
    assert services.workspace_reconcile(cluster="root", name="later") == "Initializing"
    ws = stored("root", "tenancy.kcp.io", "workspaces", "later")
    assert ws is not None
    lc_name = ws["spec"]["cluster"]
    assert stored(lc_name, "", "namespaces", "default") is None
    monkeypatch.undo()
    assert services.workspace_reconcile(cluster="root", name="later") == "Ready"
    assert stored(lc_name, "", "namespaces", "kube-system") is not None
    assert stored(lc_name, RBAC, "clusterrolebindings", "workspace-admin") is not None


@pytest.mark.parametrize(
    ("phase", "scheduled", "deleting", "event_type", "expected"),
    [
        ("", False, False, "ADDED", True),  # new: schedule it
        ("Scheduling", False, False, "MODIFIED", True),
        ("Initializing", True, False, "MODIFIED", True),  # initializers pending
        ("Ready", True, False, "MODIFIED", False),  # settled: the scheduler's own last write
        ("Ready", True, False, "ADDED", False),
        ("Ready", True, True, "MODIFIED", True),  # being deleted
        ("Ready", False, False, "MODIFIED", True),  # a Ready phase without a cluster is not settled
        ("Ready", True, False, "DELETED", False),
        ("Initializing", True, True, "DELETED", False),
    ],
)
def test_only_workspaces_with_something_to_do_are_reconciled(
    phase: str, scheduled: bool, deleting: bool, event_type: str, expected: bool
) -> None:
    from workspaces.services import workspace_needs_reconcile

    ws: dict[str, Any] = {"metadata": {"name": "w"}, "spec": {}, "status": {"phase": phase} if phase else {}}
    if scheduled:
        ws["spec"]["cluster"] = "abc"
    if deleting:
        ws["metadata"]["deletionTimestamp"] = "2026-11-24T00:00:00Z"
    assert workspace_needs_reconcile(obj=ws, event_type=event_type) is expected


def test_reconciling_a_ready_workspace_writes_nothing(api: Api) -> None:
    """Why a settled workspace's changes enqueue no task (workspace_needs_reconcile)."""
    from kube.storage.models import Event
    from workspaces.services import workspace_needs_reconcile, workspace_reconcile

    post_workspace(api, "settled")
    assert workspace_reconcile(cluster="root", name="settled") == "Ready"
    ws = stored("root", "tenancy.kcp.io", "workspaces", "settled")
    assert ws is not None and not workspace_needs_reconcile(obj=ws, event_type="MODIFIED")
    before = max(Event.objects.values_list("revision", flat=True))
    assert workspace_reconcile(cluster="root", name="settled") == "Ready"
    assert max(Event.objects.values_list("revision", flat=True)) == before
