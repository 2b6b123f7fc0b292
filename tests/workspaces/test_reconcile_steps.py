"""The workspace reconciler step by step: each step hands over or finishes the pass as its
docstring says, and the scheduler's LogicalCluster is written through LogicalClusterStrategy."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.workspaces.test_reconcile import post_workspace, stored


def _pass(cluster: str, name: str) -> Any:
    from workspaces.services import WorkspacePass

    ws = stored(cluster, "tenancy.kcp.io", "workspaces", name)
    assert ws is not None
    return WorkspacePass(cluster=cluster, name=name, workspace=ws)


def test_the_steps_run_in_the_documented_order() -> None:
    from workspaces import services

    assert [s.__name__ for s in services.WORKSPACE_STEPS] == [
        "workspace_delete_step",
        "workspace_schedule_step",
        "workspace_initialize_step",
    ]


def test_the_delete_step_hands_over_a_workspace_not_being_deleted(api: Api) -> None:
    from kube.storage.models import Event
    from workspaces.services import workspace_delete_step

    post_workspace(api, "kept")
    events = Event.objects.count()
    assert workspace_delete_step(_pass("root", "kept")) is True
    assert Event.objects.count() == events


def test_the_schedule_step_finishes_a_new_workspace_and_hands_over_a_scheduled_one(api: Api) -> None:
    from workspaces.services import workspace_schedule_step

    post_workspace(api, "fresh")
    p = _pass("root", "fresh")
    assert workspace_schedule_step(p) is False
    assert p.phase == "Ready"
    assert p.workspace["spec"]["cluster"]
    conditions = {c["type"]: c for c in p.workspace["status"]["conditions"]}
    assert conditions["WorkspaceScheduled"]["lastTransitionTime"] == conditions["WorkspaceInitialized"][
        "lastTransitionTime"
    ]
    lc = stored(p.workspace["spec"]["cluster"], "core.kcp.io", "logicalclusters", "cluster")
    assert lc is not None
    # Through the strategy and the Store: the cluster annotation, the birth status kept, no
    # managedFields (nobody applies a LogicalCluster), the server's own uid and timestamps.
    assert lc["metadata"]["annotations"]["kcp.io/cluster"] == p.workspace["spec"]["cluster"]
    assert lc["status"]["phase"] == "Ready" and lc["status"]["initializers"] == []
    assert "managedFields" not in lc["metadata"]
    assert lc["metadata"]["uid"] and lc["metadata"]["creationTimestamp"]
    again = _pass("root", "fresh")
    assert workspace_schedule_step(again) is True  # already scheduled: the next step's turn


def test_the_initialize_step_writes_nothing_for_a_ready_workspace(api: Api) -> None:
    from kube.storage.models import Event
    from workspaces.services import workspace_initialize_step, workspace_reconcile

    post_workspace(api, "settled")
    assert workspace_reconcile(cluster="root", name="settled") == "Ready"
    events = Event.objects.count()
    p = _pass("root", "settled")
    assert workspace_initialize_step(p) is False
    assert p.phase == "Ready"
    assert Event.objects.count() == events
