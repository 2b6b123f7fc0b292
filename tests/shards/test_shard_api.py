"""The Shard API as kcp 0.34 has it, now a view of the shard records: labels at registration,
heartbeat → Ready, cordon and limits applied to the record and acknowledged, the used count, and
who may write what (clients only cordon and set limits)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Api
from tests.factories import make, workspace_admin
from tests.shards.conftest import committed

SHARDS = "/apis/core.kcp.io/v1alpha1/shards"
CORDON = "experimental.core.kcp.io/unschedulable"
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}


def conditions(shard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in shard.get("status", {}).get("conditions", [])}


def cells(api: Api, name: str) -> dict[str, Any]:
    table = api.get(f"{SHARDS}/{name}", headers=TABLE).json()
    names = [c["name"] for c in table["columnDefinitions"]]
    return dict(zip(names, table["rows"][0]["cells"], strict=True))


def record(name: str) -> Any:
    from shards.models import ShardRecord

    return ShardRecord.objects.get(name=name)


def test_registration_with_labels_keeps_what_operators_set(api: Api) -> None:
    from shards.mirror import shard_mirror
    from shards.services import shard_labels_parse, shard_register_self

    labels = shard_labels_parse(value="region=eu, tier=gold")
    assert labels == {"region": "eu", "tier": "gold"}
    with pytest.raises(ValueError):
        shard_labels_parse(value="region")
    registered = shard_register_self(name="beta", base_url="https://beta.example", labels=labels)
    assert registered.labels == {"name": "beta", "region": "eu", "tier": "gold"}
    shard_mirror()
    assert api.get(f"{SHARDS}/beta").json()["metadata"]["labels"] == {"name": "beta", "region": "eu", "tier": "gold"}
    with committed():
        assert api.patch(f"{SHARDS}/beta", {"metadata": {"annotations": {CORDON: "true"}}}).status_code == 200
        limits = {"spec": {"resourceLimits": {"hard": {"workspaces": 5}}}}
        assert api.patch(f"{SHARDS}/beta", limits).status_code == 200
    assert api.patch(f"{SHARDS}/beta", {"metadata": {"labels": {"team": "ops"}}}).status_code == 200
    # restarted with other labels: the old registered one goes, the operator's stay
    again = shard_register_self(name="beta", base_url="https://beta.example", labels={"region": "us"})
    assert again.labels == {"name": "beta", "region": "us"}
    assert (again.cordoned, again.hard_limit) == (True, 5)
    shard_mirror()
    shard = api.get(f"{SHARDS}/beta").json()
    assert shard["metadata"]["labels"] == {"name": "beta", "region": "us", "team": "ops"}
    assert shard["metadata"]["annotations"][CORDON] == "true"
    assert shard["spec"]["resourceLimits"] == {"hard": {"workspaces": 5}}
    assert cells(api, "beta")["Region"] == "us"


def test_heartbeat_makes_a_shard_ready_and_beats_are_not_mirrored_one_by_one(api: Api) -> None:
    from django.utils import timezone

    from kube.storage.models import Event
    from kube.timefmt import format_rfc3339
    from shards.kinds import STALE_SECONDS
    from shards.mirror import shard_mirror
    from shards.models import ShardRecord
    from shards.services import shard_heartbeat, shard_register_self

    shard_register_self(name="beta", base_url="https://beta.example")
    shard_mirror()
    assert cells(api, "beta")["Ready"] == "Unknown"  # never beat
    assert conditions(api.get(f"{SHARDS}/beta").json())["Ready"]["reason"] == "NoHeartbeat"
    assert shard_heartbeat(name="beta") is True
    assert record("beta").heartbeat is not None and timezone.now() - record("beta").heartbeat < timedelta(seconds=5)
    first = timezone.now() - timedelta(seconds=STALE_SECONDS - 5)  # as if it beat a while ago
    ShardRecord.objects.filter(name="beta").update(heartbeat=first)
    assert shard_mirror() == 1
    shard = api.get(f"{SHARDS}/beta").json()
    ready = conditions(shard)["Ready"]
    assert ready["status"] == "True" and ready["lastHeartbeatTime"] == format_rfc3339(first)
    assert cells(api, "beta")["Ready"] == "True"
    # more beats, seconds apart: the record moves, the object stays (no write, no event per beat)
    events = Event.objects.count()
    for _ in range(3):
        assert shard_heartbeat(name="beta") is True
        assert shard_mirror() == 0
    assert record("beta").heartbeat > first + timedelta(seconds=5)
    assert Event.objects.count() == events
    assert api.get(f"{SHARDS}/beta").json()["metadata"]["resourceVersion"] == shard["metadata"]["resourceVersion"]


def test_cordon_and_uncordon_are_applied_and_acknowledged_as_schedulable(api: Api) -> None:
    assert conditions(api.get(f"{SHARDS}/root").json())["Schedulable"]["status"] == "True"
    with committed():  # the Shard's trigger after commit: the record, then the acknowledgement
        r = api.patch(f"{SHARDS}/root", {"metadata": {"annotations": {CORDON: "true"}}})
    assert r.status_code == 200, r.content
    assert record("root").cordoned is True
    schedulable = conditions(api.get(f"{SHARDS}/root").json())["Schedulable"]
    assert (schedulable["status"], schedulable["reason"]) == ("False", "Cordoned")
    assert cells(api, "root")["Schedulable"] == "False"
    with committed():
        assert api.patch(f"{SHARDS}/root", {"metadata": {"annotations": {CORDON: None}}}).status_code == 200
    assert record("root").cordoned is False
    assert conditions(api.get(f"{SHARDS}/root").json())["Schedulable"]["status"] == "True"


@pytest.mark.parametrize(
    ("limits", "status", "reason", "message", "applied"),
    [
        (
            {"soft": {"workspaces": 3}, "hard": {"workspaces": 5}},
            "True",
            "Applied",
            "soft/hard: workspaces=3/5",
            (3, 5),
        ),
        ({"hard": {"workspaces": 5}}, "True", "Applied", "soft/hard: workspaces=0/5", (0, 5)),
        ({}, "True", "Applied", "soft/hard: workspaces=0/0", (0, 0)),
        (
            {"soft": {"workspaces": 5}, "hard": {"workspaces": 5}},
            "False",
            "InvalidResourceLimits",
            "must be below",
            (0, 0),
        ),
        ({"soft": {"workspaces": -1}}, "False", "InvalidResourceLimits", "must not be negative", (0, 0)),
    ],
)
def test_resource_limits_condition(
    api: Api, limits: Any, status: str, reason: str, message: str, applied: tuple[int, int]
) -> None:
    with committed():
        r = api.patch(
            f"{SHARDS}/root", {"spec": {"resourceLimits": {"soft": {"workspaces": 1}, "hard": {"workspaces": 9}}}}
        )
        assert r.status_code == 200, r.content
    assert (record("root").soft_limit, record("root").hard_limit) == (1, 9)
    replace = [{"op": "replace", "path": "/spec/resourceLimits", "value": limits}]
    with committed():
        r = api.patch(f"{SHARDS}/root", replace, content_type="application/json-patch+json")
    assert r.status_code == 200, r.content
    condition = conditions(api.get(f"{SHARDS}/root").json())["ResourceLimitsApplied"]
    assert (condition["status"], condition["reason"]) == (status, reason)
    assert message in condition["message"]
    # what placement obeys: an invalid pair limits nothing
    assert (record("root").soft_limit, record("root").hard_limit) == applied


def test_ill_typed_limits_are_invalid(api: Api) -> None:
    r = api.patch(f"{SHARDS}/root", {"spec": {"resourceLimits": {"hard": {"workspaces": "many"}}}})
    assert r.status_code == 422, r.content
    assert r.json()["reason"] == "Invalid"
    assert "spec.resourceLimits.hard.workspaces in body must be of type integer" in r.json()["message"]


def test_used_workspaces_is_reported(api: Api) -> None:
    from shards.mirror import shard_mirror
    from shards.services import shard_heartbeat

    shard_heartbeat()
    shard_mirror()
    before = api.get(f"{SHARDS}/root").json()["status"]["used"]["workspaces"]
    assert before == record("root").used_workspaces
    make(api, "one")
    make(api, "two")
    shard_heartbeat()
    assert record("root").used_workspaces == before + 2
    assert shard_mirror() == 1
    assert api.get(f"{SHARDS}/root").json()["status"]["used"]["workspaces"] == before + 2
    assert cells(api, "root")["Workspaces"] == str(before + 2)


def test_clients_may_only_cordon_and_set_limits(api: Api) -> None:
    """Root's admin (system:masters) and a root workspace admin alike: every other Shard field is
    the system's (403), nothing is written; deletes are refused too."""
    from shards.mirror import shard_mirror
    from shards.services import shard_register_self

    shard_register_self(name="beta", base_url="https://beta.example", labels={"region": "eu"})
    shard_mirror()
    tenant_admin = workspace_admin(api, "root")
    for client in (api, tenant_admin):
        before = client.get(f"{SHARDS}/beta").json()
        refusals = [
            client.patch(f"{SHARDS}/beta", {"spec": {"baseURL": "https://evil.example"}}),
            client.patch(f"{SHARDS}/beta", {"metadata": {"labels": {"region": "us"}}}),
            client.patch(f"{SHARDS}/beta", {"metadata": {"labels": {"name": None}}}),
            client.patch(f"{SHARDS}/beta/status", {"status": {"used": {"workspaces": 99}}}),
            client.patch(f"{SHARDS}/beta/status", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            client.delete(f"{SHARDS}/beta"),
        ]
        for r in refusals:
            assert r.status_code == 403, r.content
            assert r.json()["reason"] == "Forbidden"
        after = client.get(f"{SHARDS}/beta").json()
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert record("beta").base_url == "https://beta.example"
    r = tenant_admin.patch(f"{SHARDS}/beta", {"metadata": {"annotations": {"core.kcp.io/shard-labels": "name"}}})
    assert r.status_code == 403
    r = api.patch(f"{SHARDS}/beta", {"metadata": {"annotations": {"core.kcp.io/shard-labels": "name"}}})
    assert r.status_code == 403  # the admin may write kcp.io metadata, but not unprotect the labels
    with committed():
        r = tenant_admin.patch(f"{SHARDS}/beta", {"metadata": {"annotations": {CORDON: "true"}}})
        assert r.status_code == 200, r.content
        r = tenant_admin.patch(f"{SHARDS}/beta", {"spec": {"resourceLimits": {"soft": {"workspaces": 2}}}})
        assert r.status_code == 200, r.content
    assert r.json()["spec"]["baseURL"] == "https://beta.example"
    assert (record("beta").cordoned, record("beta").soft_limit) == (True, 2)


def test_a_silent_shard_turns_ready_unknown(api: Api) -> None:
    from django.utils import timezone

    from kube.storage.models import Event
    from shards.kinds import STALE_SECONDS
    from shards.models import ShardRecord
    from shards.services import shard_heartbeat, shard_register_self
    from shards.tasks import heartbeat_shard, mirror_shards

    shard_register_self(name="beta", base_url="https://beta.example")
    shard_heartbeat(name="beta")
    mirror_shards()
    assert conditions(api.get(f"{SHARDS}/beta").json())["Ready"]["status"] == "True"
    # what time does to a shard that stopped beating: its last heartbeat recedes
    old = timezone.now() - timedelta(seconds=STALE_SECONDS + 1)
    ShardRecord.objects.filter(name="beta").update(heartbeat=old)
    assert heartbeat_shard() is True  # this shard (root) beats ...
    assert mirror_shards() == 1  # ... and its mirror marks the silent one
    ready = conditions(api.get(f"{SHARDS}/beta").json())["Ready"]
    assert (ready["status"], ready["reason"]) == ("Unknown", "HeartbeatStale")
    assert ready["lastHeartbeatTime"] == old.strftime("%Y-%m-%dT%H:%M:%SZ")  # the last heartbeat seen
    assert cells(api, "beta")["Ready"] == "Unknown"
    events = Event.objects.count()
    assert mirror_shards() == 0  # written once
    assert Event.objects.count() == events
    assert conditions(api.get(f"{SHARDS}/root").json())["Ready"]["status"] == "True"
    shard_heartbeat(name="beta")  # it comes back
    assert mirror_shards() == 1
    assert cells(api, "beta")["Ready"] == "True"
