"""The Shard API as kcp 0.34 has it: labels at registration, heartbeat → Ready, cordon and limits
acknowledged by the owning shard, the used count, and who may write what (clients only cordon
and set limits)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Api
from tests.factories import make, workspace_admin

SHARDS = "/apis/core.kcp.io/v1alpha1/shards"
CORDON = "experimental.core.kcp.io/unschedulable"
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}


def conditions(shard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in shard.get("status", {}).get("conditions", [])}


def cells(api: Api, name: str) -> dict[str, Any]:
    table = api.get(f"{SHARDS}/{name}", headers=TABLE).json()
    names = [c["name"] for c in table["columnDefinitions"]]
    return dict(zip(names, table["rows"][0]["cells"], strict=True))


def test_registration_with_labels_keeps_what_operators_set(api: Api) -> None:
    from shards.services import shard_labels_parse, shard_register_self

    labels = shard_labels_parse(value="region=eu, tier=gold")
    assert labels == {"region": "eu", "tier": "gold"}
    with pytest.raises(ValueError):
        shard_labels_parse(value="region")
    shard = shard_register_self(name="beta", base_url="https://beta.example", labels=labels)
    assert shard["metadata"]["labels"] == {"name": "beta", "region": "eu", "tier": "gold"}
    assert api.patch(f"{SHARDS}/beta", {"metadata": {"annotations": {CORDON: "true"}}}).status_code == 200
    limits = {"spec": {"resourceLimits": {"hard": {"workspaces": 5}}}}
    assert api.patch(f"{SHARDS}/beta", limits).status_code == 200
    assert api.patch(f"{SHARDS}/beta", {"metadata": {"labels": {"team": "ops"}}}).status_code == 200
    # restarted with other labels: the old registered one goes, the operator's stay
    again = shard_register_self(name="beta", base_url="https://beta.example", labels={"region": "us"})
    assert again["metadata"]["labels"] == {"name": "beta", "region": "us", "team": "ops"}
    assert again["metadata"]["annotations"][CORDON] == "true"
    assert again["spec"]["resourceLimits"] == {"hard": {"workspaces": 5}}
    assert cells(api, "beta")["Region"] == "us"


def test_heartbeat_makes_a_shard_ready_and_a_stale_one_is_not(api: Api) -> None:
    from django.utils import timezone

    from kube.storage.models import Event
    from shards.kinds import ready_cell
    from shards.models import ShardRow
    from shards.services import shard_heartbeat, shard_register_self

    shard_register_self(name="beta", base_url="https://beta.example")
    assert cells(api, "beta")["Ready"] == "Unknown"  # never beat
    shard_heartbeat(name="beta")
    shard = api.get(f"{SHARDS}/beta").json()
    ready = conditions(shard)["Ready"]
    assert ready["status"] == "True" and ready["lastHeartbeatTime"]
    assert cells(api, "beta")["Ready"] == "True"
    row = ShardRow.objects.get(cluster="root", name="beta")
    assert row.heartbeat is not None and timezone.now() - row.heartbeat < timedelta(seconds=5)
    later = timezone.now() + timedelta(seconds=120)
    assert ready_cell(shard, later) == "Unknown"
    # an acknowledgement with nothing to acknowledge writes nothing
    events = Event.objects.count()
    shard_heartbeat(name="beta", beat=False)
    assert Event.objects.count() == events


def test_cordon_and_uncordon_are_acknowledged_as_schedulable(api: Api) -> None:
    from shards.services import shard_heartbeat

    assert conditions(api.get(f"{SHARDS}/root").json())["Schedulable"]["status"] == "True"
    r = api.patch(f"{SHARDS}/root", {"metadata": {"annotations": {CORDON: "true"}}})
    assert r.status_code == 200, r.content
    shard_heartbeat(beat=False)  # what the shard's trigger runs after commit
    schedulable = conditions(api.get(f"{SHARDS}/root").json())["Schedulable"]
    assert (schedulable["status"], schedulable["reason"]) == ("False", "Cordoned")
    assert cells(api, "root")["Schedulable"] == "False"
    assert api.patch(f"{SHARDS}/root", {"metadata": {"annotations": {CORDON: None}}}).status_code == 200
    shard_heartbeat(beat=False)
    assert conditions(api.get(f"{SHARDS}/root").json())["Schedulable"]["status"] == "True"


@pytest.mark.parametrize(
    ("limits", "status", "reason", "message"),
    [
        ({"soft": {"workspaces": 3}, "hard": {"workspaces": 5}}, "True", "Applied", "soft/hard: workspaces=3/5"),
        ({"hard": {"workspaces": 5}}, "True", "Applied", "soft/hard: workspaces=0/5"),
        ({}, "True", "Applied", "soft/hard: workspaces=0/0"),
        ({"soft": {"workspaces": 5}, "hard": {"workspaces": 5}}, "False", "InvalidResourceLimits", "must be below"),
        ({"soft": {"workspaces": -1}}, "False", "InvalidResourceLimits", "must not be negative"),
    ],
)
def test_resource_limits_condition(api: Api, limits: Any, status: str, reason: str, message: str) -> None:
    from shards.models import ShardRow
    from shards.services import shard_heartbeat

    r = api.patch(f"{SHARDS}/root", {"spec": {"resourceLimits": limits}})
    assert r.status_code == 200, r.content
    shard_heartbeat(beat=False)
    applied = conditions(api.get(f"{SHARDS}/root").json())["ResourceLimitsApplied"]
    assert (applied["status"], applied["reason"]) == (status, reason)
    assert message in applied["message"]
    row = ShardRow.objects.get(cluster="root", name="root")
    if status == "False":  # an invalid pair limits nothing
        assert (row.soft_limit, row.hard_limit) == (0, 0)


def test_ill_typed_limits_are_invalid(api: Api) -> None:
    r = api.patch(f"{SHARDS}/root", {"spec": {"resourceLimits": {"hard": {"workspaces": "many"}}}})
    assert r.status_code == 422, r.content
    assert r.json()["reason"] == "Invalid"
    assert "spec.resourceLimits.hard.workspaces in body must be of type integer" in r.json()["message"]


def test_used_workspaces_is_reported(api: Api) -> None:
    from shards.services import shard_heartbeat

    shard_heartbeat()
    before = api.get(f"{SHARDS}/root").json()["status"]["used"]["workspaces"]
    make(api, "one")
    make(api, "two")
    shard_heartbeat()
    assert api.get(f"{SHARDS}/root").json()["status"]["used"]["workspaces"] == before + 2
    assert cells(api, "root")["Workspaces"] == str(before + 2)


def test_clients_may_only_cordon_and_set_limits(api: Api) -> None:
    """Root's admin (system:masters) and a root workspace admin alike: every other Shard field is
    the shard's (403), nothing is written; deletes are refused too."""
    from shards.services import shard_register_self

    shard_register_self(name="beta", base_url="https://beta.example", labels={"region": "eu"})
    tenant_admin = workspace_admin(api, "root")
    for client in (api, tenant_admin):
        before = client.get(f"{SHARDS}/beta").json()
        refusals = [
            client.patch(f"{SHARDS}/beta", {"spec": {"baseURL": "https://evil.example"}}),
            client.patch(f"{SHARDS}/beta", {"metadata": {"labels": {"region": "us"}}}),
            client.patch(f"{SHARDS}/beta", {"metadata": {"labels": {"name": None}}}),
            client.patch(f"{SHARDS}/beta/status", {"status": {"used": {"workspaces": 0}}}),
            client.patch(f"{SHARDS}/beta/status", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            client.delete(f"{SHARDS}/beta"),
        ]
        for r in refusals:
            assert r.status_code == 403, r.content
            assert r.json()["reason"] == "Forbidden"
        after = client.get(f"{SHARDS}/beta").json()
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    r = tenant_admin.patch(f"{SHARDS}/beta", {"metadata": {"annotations": {"core.kcp.io/shard-labels": "name"}}})
    assert r.status_code == 403
    r = api.patch(f"{SHARDS}/beta", {"metadata": {"annotations": {"core.kcp.io/shard-labels": "name"}}})
    assert r.status_code == 403  # the admin may write kcp.io metadata, but not unprotect the labels
    r = tenant_admin.patch(f"{SHARDS}/beta", {"metadata": {"annotations": {CORDON: "true"}}})
    assert r.status_code == 200, r.content
    r = tenant_admin.patch(f"{SHARDS}/beta", {"spec": {"resourceLimits": {"soft": {"workspaces": 2}}}})
    assert r.status_code == 200, r.content
    assert r.json()["spec"]["baseURL"] == "https://beta.example"


def test_a_silent_shard_turns_ready_unknown(api: Api) -> None:
    from django.utils import timezone

    from kube.registry.context import RequestContext
    from kube.registry.store import STORE
    from kube.timefmt import format_rfc3339
    from shards.kinds import HEARTBEAT_SECONDS
    from shards.kinds import SHARDS as INFO
    from shards.models import ShardRow
    from shards.services import shard_heartbeat, shard_mark_stale, shard_register_self
    from shards.tasks import heartbeat_shard

    shard_register_self(name="beta", base_url="https://beta.example")
    shard_heartbeat(name="beta")
    assert shard_mark_stale() == []
    # what time does to a shard that stopped beating: its last heartbeat recedes
    old = timezone.now() - timedelta(seconds=10 * HEARTBEAT_SECONDS)
    status = api.get(f"{SHARDS}/beta").json()["status"]
    for c in status["conditions"]:
        if c["type"] == "Ready":
            c["lastHeartbeatTime"] = format_rfc3339(old)
    STORE.guaranteed_update(
        INFO, RequestContext(cluster="root"), "", "beta", lambda s: s.update(status=status), subresource="status"
    )
    assert ShardRow.objects.get(cluster="root", name="beta").heartbeat == old.replace(microsecond=0)
    assert heartbeat_shard() is True  # this shard beats and marks the silent one
    ready = conditions(api.get(f"{SHARDS}/beta").json())["Ready"]
    assert (ready["status"], ready["reason"]) == ("Unknown", "HeartbeatStale")
    assert cells(api, "beta")["Ready"] == "Unknown"
    assert shard_mark_stale() == []  # written once
    assert conditions(api.get(f"{SHARDS}/root").json())["Ready"]["status"] == "True"
