"""Placement among eligible shards (kcp 0.34's rules): Ready (a fresh heartbeat), not cordoned,
labels matching the Workspace's spec.location.selector, under the hard limit; soft-limited shards
only when no other is eligible. Placement reads the shard records (global database): other shards
are records registered and heartbeating as a second shard's processes would (no Shard object
needed); cordon and limits are set on the Shard objects in root, as operators do, and reach the
records through the Shard's trigger. A workspace placed on another shard is recorded and left to
that shard."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from tests.conftest import Api
from tests.factories import WS, reconcile_all
from tests.shards.conftest import committed

SHARDS = "/apis/core.kcp.io/v1alpha1/shards"
CORDON = "experimental.core.kcp.io/unschedulable"


def shard(name: str, *, beat: bool = True, **labels: str) -> None:
    from shards.services import shard_heartbeat, shard_register_self

    shard_register_self(name=name, base_url=f"https://{name}.example", labels=labels)
    if beat:
        shard_heartbeat(name=name)


def cordon(api: Api, name: str, on: bool = True) -> None:
    with committed():  # the Shard's trigger applies it to the record after commit
        r = api.patch(f"{SHARDS}/{name}", {"metadata": {"annotations": {CORDON: "true" if on else None}}})
    assert r.status_code == 200, r.content


def limit(api: Api, name: str, limits: dict[str, Any] | None) -> None:
    with committed():
        r = api.patch(f"{SHARDS}/{name}", {"spec": {"resourceLimits": limits}})
    assert r.status_code == 200, r.content


def used(name: str) -> int:
    from shards.models import ShardRecord

    return int(ShardRecord.objects.get(name=name).used_workspaces)


def create(api: Api, name: str, selector: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": name}}
    if selector is not None:
        body["spec"] = {"location": {"selector": selector}}
    r = api.post(WS, body)
    assert r.status_code == 201, r.content
    reconcile_all()
    return dict(api.get(f"{WS}/{name}").json())


def scheduled(ws: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in ws["status"].get("conditions", []) if c["type"] == "WorkspaceScheduled")


def test_a_selector_places_on_the_matching_shard_and_leaves_it_the_logical_cluster(api: Api) -> None:
    from workspaces.models import LogicalClusterRow

    shard("beta", region="eu", tier="gold")
    shard("gamma", region="us")
    ws = create(api, "in-eu", {"matchLabels": {"region": "eu"}})
    assert ws["metadata"]["annotations"]["core.kcp.io/shard"] == "beta"
    assert ws["spec"]["cluster"] and ws["status"]["phase"] == "Scheduling"
    assert scheduled(ws)["status"] == "True" and "beta" in scheduled(ws)["message"]
    # beta creates it (the pull protocol): nothing of it is written here
    assert not LogicalClusterRow.objects.filter(cluster=ws["spec"]["cluster"]).exists()
    ws = create(api, "in-us", {"matchExpressions": [{"key": "region", "operator": "In", "values": ["us"]}]})
    assert ws["metadata"]["annotations"]["core.kcp.io/shard"] == "gamma"
    ws = create(api, "not-us", {"matchExpressions": [{"key": "region", "operator": "NotIn", "values": ["us"]}]})
    assert ws["metadata"]["annotations"]["core.kcp.io/shard"] in ("root", "beta")


def test_cordoned_and_stale_shards_are_skipped_then_unschedulable(api: Api) -> None:
    from workspaces.tasks import resync_workspaces

    shard("stale", beat=False)
    cordon(api, "root")
    ws = create(api, "waiting")
    assert ws["status"]["phase"] == "Scheduling" and not ws["spec"].get("cluster")
    condition = scheduled(ws)
    assert (condition["status"], condition["reason"]) == ("False", "Unschedulable")
    assert "cordoned: root" in condition["message"] and "not ready: stale" in condition["message"]
    # another pass with nothing new writes nothing
    rv = ws["metadata"]["resourceVersion"]
    reconcile_all()
    assert api.get(f"{WS}/waiting").json()["metadata"]["resourceVersion"] == rv
    cordon(api, "root", on=False)
    resync_workspaces()  # the periodic resync (a Shard change enqueues it too)
    ws = api.get(f"{WS}/waiting").json()
    assert ws["status"]["phase"] == "Ready" and ws["spec"]["cluster"]
    assert scheduled(ws)["status"] == "True"


def test_a_new_shard_schedules_the_waiting_workspace_through_its_trigger(
    api: Api, django_capture_on_commit_callbacks: Any
) -> None:
    from kcpsite.celery import app
    from shards.tasks import mirror_shards

    cordon(api, "root")
    assert create(api, "waiting", {"matchLabels": {"region": "eu"}})["status"]["phase"] == "Scheduling"
    shard("beta", region="eu")  # registered on its own shard: a record, no Shard object yet
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            mirror_shards()  # root's next beat: beta's Shard object appears, and its trigger retries
    finally:
        app.conf.task_always_eager = eager
    ws = api.get(f"{WS}/waiting").json()
    assert ws["metadata"]["annotations"]["core.kcp.io/shard"] == "beta" and ws["spec"]["cluster"]


def test_hard_limit_refuses_and_lifting_it_schedules(api: Api) -> None:
    from shards.services import shard_heartbeat
    from workspaces.tasks import resync_workspaces

    shard_heartbeat()
    assert used("root") >= 1  # root itself
    limit(api, "root", {"hard": {"workspaces": used("root")}})
    ws = create(api, "full")
    assert scheduled(ws)["reason"] == "Unschedulable" and "at the hard limit: root" in scheduled(ws)["message"]
    limit(api, "root", None)
    resync_workspaces()
    assert api.get(f"{WS}/full").json()["status"]["phase"] == "Ready"


def test_a_shard_past_its_soft_limit_is_chosen_only_when_no_other_is(api: Api) -> None:
    from shards.services import shard_choose, shard_heartbeat

    shard_heartbeat()
    limit(api, "root", {"soft": {"workspaces": used("root")}})
    assert shard_choose(cluster="root") == "root"  # the only one: deprioritised, not refused
    shard("beta")
    assert {shard_choose(cluster="root") for _ in range(20)} == {"beta"}
    limit(api, "root", None)
    assert {shard_choose(cluster="root") for _ in range(60)} == {"root", "beta"}


@pytest.mark.parametrize("with_selector", [False, True])
def test_scheduling_one_workspace_costs_one_statement_for_placement(api: Api, with_selector: bool) -> None:
    """The placement query is one statement on the shard records (the global database), none on
    the Shard objects' table."""
    from workspaces.services import workspace_reconcile

    body: dict[str, Any] = {"metadata": {"name": "counted"}}
    if with_selector:
        body["spec"] = {"location": {"selector": {"matchLabels": {"name": "root"}}}}
    assert api.post(WS, body).status_code == 201
    with CaptureQueriesContext(connections["global"]) as on_global, CaptureQueriesContext(connection) as on_shard:
        assert workspace_reconcile(cluster="root", name="counted") == "Ready"
    on_records = [q["sql"] for q in on_global.captured_queries if "kcp_shards" in q["sql"]]
    assert len(on_records) == 1, on_records
    assert not [q["sql"] for q in on_shard.captured_queries if "shards_shard" in q["sql"] or "kcp_shards" in q["sql"]]


@pytest.mark.parametrize(
    "selector",
    [
        {"matchExpressions": [{"key": "region", "operator": "Near", "values": ["eu"]}]},
        {"matchExpressions": [{"key": "region", "operator": "In"}]},
        {"matchExpressions": [{"key": "region", "operator": "Exists", "values": ["eu"]}]},
        {"matchLabels": {"region": "not a label value!"}},
        {"matchLabels": ["region"]},
    ],
)
def test_a_selector_no_shard_could_ever_match_is_refused_not_left_unschedulable(
    api: Api, selector: dict[str, Any]
) -> None:
    r = api.post(WS, {"metadata": {"name": "nowhere"}, "spec": {"location": {"selector": selector}}})
    assert r.status_code == 422, r.content
    status = r.json()
    assert status["reason"] == "Invalid" and status["details"]["causes"][0]["field"] == "spec.location.selector"
    assert api.get(f"{WS}/nowhere").status_code == 404
