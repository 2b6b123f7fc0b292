"""The shard records (global database) as the authority: registration is an idempotent upsert,
a heartbeat is one UPDATE and no event, placement reads the records, the shard hosting root
mirrors them into Shard objects (and only it), operators' writes on those objects flow back, and
deleting one de-registers its shard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import Api
from tests.shards.conftest import committed

SHARDS = "/apis/core.kcp.io/v1alpha1/shards"
CORDON = "experimental.core.kcp.io/unschedulable"


def record(name: str) -> Any:
    from shards.models import ShardRecord

    return ShardRecord.objects.filter(name=name).first()


def events() -> int:
    from kube.storage.models import Event

    return int(Event.objects.count())


def conditions(shard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in shard.get("status", {}).get("conditions", [])}


def test_registration_is_an_upsert_that_keeps_operators_settings(api: Api) -> None:
    from shards.models import ShardRecord
    from shards.services import shard_register_self

    first = shard_register_self(name="beta", base_url="https://beta.example", labels={"region": "eu"})
    assert shard_register_self(name="beta", base_url="https://beta.example", labels={"region": "eu"}) == first
    ShardRecord.objects.filter(name="beta").update(cordoned=True, soft_limit=3, hard_limit=7)
    moved = shard_register_self(
        name="beta",
        base_url="https://beta-2.example",
        external_url="https://beta.public.example",
        labels={"region": "us"},
    )
    assert ShardRecord.objects.filter(name="beta").count() == 1
    again = record("beta")
    assert (again.base_url, again.external_url, again.virtual_workspace_url) == (
        "https://beta-2.example",
        "https://beta.public.example",
        "https://beta-2.example",
    )
    assert again.labels == moved.labels == {"name": "beta", "region": "us"}
    assert (again.cordoned, again.soft_limit, again.hard_limit) == (True, 3, 7)
    assert again.registered_at == first.registered_at
    assert again.heartbeat is None  # registering is not a heartbeat


def test_a_heartbeat_is_one_update_of_the_record_and_no_event(api: Api) -> None:
    from shards.services import shard_heartbeat

    before = record("root").heartbeat
    count = events()
    with CaptureQueriesContext(connections["global"]) as on_global, CaptureQueriesContext(connection) as on_shard:
        assert shard_heartbeat() is True
    writes = [q["sql"] for q in on_global.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(writes) == 1 and writes[0].startswith('UPDATE "kcp_shards"'), writes
    assert [q["sql"].lstrip()[:6].upper() for q in on_shard.captured_queries] == ["SELECT"]  # the count
    assert events() == count
    assert record("root").heartbeat > before
    assert record("root").used_workspaces == 1  # root's logical cluster


def test_a_deregistered_shard_is_not_brought_back_by_its_heartbeat(api: Api) -> None:
    from shards.services import shard_deregister, shard_heartbeat, shard_register_self
    from shards.tasks import heartbeat_shard

    shard_register_self(name="beta", base_url="https://beta.example")
    assert shard_deregister(name="beta") is True
    assert shard_heartbeat(name="beta") is False
    assert record("beta") is None
    assert shard_deregister(name="root") is True
    assert heartbeat_shard() is False  # this shard: warned, not re-registered
    assert record("root") is None


def test_placement_reads_the_records(api: Api) -> None:
    """Two records besides root's and no Shard object for them: selectors, cordon, hard and soft
    limits and a stale heartbeat, all decided on the records."""
    from shards.kinds import STALE_SECONDS
    from shards.models import ShardRecord
    from shards.services import shard_choose, shard_heartbeat, shard_register_self, shard_unschedulable_reason

    for name, region in (("beta", "eu"), ("gamma", "us")):
        shard_register_self(name=name, base_url=f"https://{name}.example", labels={"region": region})
        shard_heartbeat(name=name)
    assert api.get(f"{SHARDS}/beta").status_code == 404  # nothing mirrored: records alone
    eu = {"matchLabels": {"region": "eu"}}
    assert shard_choose(cluster="root", selector=eu) == "beta"
    assert {shard_choose(cluster="root") for _ in range(60)} == {"root", "beta", "gamma"}
    not_us = {"matchExpressions": [{"key": "region", "operator": "NotIn", "values": ["us"]}]}
    assert {shard_choose(cluster="root", selector=not_us) for _ in range(30)} == {"root", "beta"}
    ShardRecord.objects.filter(name="beta").update(cordoned=True)
    assert shard_choose(cluster="root", selector=eu) is None
    assert "cordoned: beta" in shard_unschedulable_reason(selector=eu)
    ShardRecord.objects.filter(name="beta").update(cordoned=False, hard_limit=1, used_workspaces=1)
    assert shard_choose(cluster="root", selector=eu) is None
    assert "at the hard limit: beta" in shard_unschedulable_reason(selector=eu)
    ShardRecord.objects.filter(name="beta").update(hard_limit=0, soft_limit=1)
    assert shard_choose(cluster="root", selector=eu) == "beta"  # past its soft limit, but alone
    ShardRecord.objects.filter(name="root").update(cordoned=True)
    assert {shard_choose(cluster="root") for _ in range(20)} == {"gamma"}  # beta deprioritised
    stale = timezone.now() - timedelta(seconds=STALE_SECONDS + 1)
    ShardRecord.objects.filter(name="gamma").update(heartbeat=stale)
    assert {shard_choose(cluster="root") for _ in range(20)} == {"beta"}
    assert "not ready: gamma" in shard_unschedulable_reason(selector={"matchLabels": {"region": "us"}})


def test_the_local_shard_is_a_candidate_without_a_fresh_heartbeat_but_not_without_a_record(api: Api) -> None:
    from shards.models import ShardRecord
    from shards.services import shard_choose, shard_deregister

    ShardRecord.objects.filter(name="root").update(heartbeat=None)
    assert shard_choose(cluster="root") == "root"  # it is running this very code
    shard_deregister(name="root")
    assert shard_choose(cluster="root") is None


def test_the_mirror_creates_updates_and_otherwise_writes_nothing(api: Api) -> None:
    from shards.mirror import shard_mirror
    from shards.services import shard_heartbeat, shard_register_self

    assert shard_mirror() == 0  # bootstrap mirrored root already
    count = events()
    assert shard_mirror() == 0 and events() == count
    # a second shard registers in the global database: its Shard object appears in root
    shard_register_self(name="beta", base_url="https://beta.example", labels={"region": "eu"})
    shard_heartbeat(name="beta")
    assert shard_mirror() == 1
    assert events() == count + 1  # created with its status: one event
    beta = api.get(f"{SHARDS}/beta").json()
    assert beta["metadata"]["labels"] == {"name": "beta", "region": "eu"}
    assert beta["spec"]["baseURL"] == "https://beta.example"
    ready = conditions(beta)
    assert ready["Ready"]["status"] == ready["Schedulable"]["status"] == "True"
    assert beta["status"]["used"] == {"workspaces": 0}
    # it restarts elsewhere: the spec follows, once
    shard_register_self(name="beta", base_url="https://beta-2.example", labels={"region": "eu"})
    assert shard_mirror() == 1
    assert api.get(f"{SHARDS}/beta").json()["spec"]["baseURL"] == "https://beta-2.example"
    count = events()
    assert shard_mirror() == 0 and events() == count


def test_a_record_keeps_the_operators_settings_for_a_new_object(api: Api) -> None:
    from shards.mirror import shard_mirror
    from shards.models import ShardRecord
    from shards.services import shard_register_self

    shard_register_self(name="beta", base_url="https://beta.example")
    ShardRecord.objects.filter(name="beta").update(cordoned=True, soft_limit=2, hard_limit=4)
    shard_mirror()
    beta = api.get(f"{SHARDS}/beta").json()
    assert CORDON in beta["metadata"]["annotations"]
    assert beta["spec"]["resourceLimits"] == {"soft": {"workspaces": 2}, "hard": {"workspaces": 4}}
    assert conditions(beta)["Schedulable"]["reason"] == "Cordoned"
    assert conditions(beta)["ResourceLimitsApplied"]["message"] == "soft/hard: workspaces=2/4"


def test_a_cordon_reaches_the_record_and_stops_placement(api: Api) -> None:
    from shards.services import shard_choose, shard_heartbeat, shard_register_self
    from shards.tasks import mirror_shards

    shard_register_self(name="beta", base_url="https://beta.example", labels={"region": "eu"})
    shard_heartbeat(name="beta")
    mirror_shards()
    eu = {"matchLabels": {"region": "eu"}}
    assert shard_choose(cluster="root", selector=eu) == "beta"
    with committed():
        r = api.patch(f"{SHARDS}/beta", {"metadata": {"annotations": {CORDON: ""}}})
        assert r.status_code == 200, r.content
    assert record("beta").cordoned is True
    assert shard_choose(cluster="root", selector=eu) is None
    assert conditions(api.get(f"{SHARDS}/beta").json())["Schedulable"]["reason"] == "Cordoned"


def test_a_lost_trigger_is_healed_by_the_mirror_pass(api: Api) -> None:
    """The Shard write commits but its trigger never runs (a crash right after the commit, here
    the test's transaction that never commits): the next pass applies the cordon and the limits,
    then acknowledges them."""
    from shards.services import shard_choose
    from shards.tasks import mirror_shards

    r = api.patch(
        f"{SHARDS}/root",
        {"metadata": {"annotations": {CORDON: "true"}}, "spec": {"resourceLimits": {"hard": {"workspaces": 50}}}},
    )
    assert r.status_code == 200, r.content
    assert record("root").cordoned is False
    assert mirror_shards() == 1
    assert (record("root").cordoned, record("root").hard_limit) == (True, 50)
    assert shard_choose(cluster="root") is None
    root = conditions(api.get(f"{SHARDS}/root").json())
    assert root["Schedulable"]["reason"] == "Cordoned"
    assert root["ResourceLimitsApplied"]["message"] == "soft/hard: workspaces=0/50"


def test_a_stale_read_never_undoes_a_newer_cordon(api: Api) -> None:
    """The settings are applied from the object as stored when the record is locked, never from
    what a pass read earlier."""
    from kube.registry.store import STORE
    from shards.kinds import SHARDS as INFO
    from shards.mirror import shard_mirror
    from shards.services import shard_settings_apply

    before = STORE.lookup(INFO, cluster="root", name="root")
    assert api.patch(f"{SHARDS}/root", {"metadata": {"annotations": {CORDON: "true"}}}).status_code == 200
    assert before is not None and CORDON not in (before["metadata"].get("annotations") or {})
    assert shard_settings_apply(name="root") is True  # reads the stored object, not `before`
    assert record("root").cordoned is True
    assert shard_settings_apply(name="root") is False
    shard_mirror()
    assert record("root").cordoned is True


def test_deleting_a_shard_object_deregisters_and_the_mirror_follows_deleted_records(api: Api) -> None:
    from kube.registry.context import RequestContext
    from kube.registry.store import STORE
    from shards.kinds import SHARDS as INFO
    from shards.mirror import shard_mirror
    from shards.services import shard_deregister, shard_heartbeat, shard_register_self

    for name in ("beta", "gamma"):
        shard_register_self(name=name, base_url=f"https://{name}.example")
        shard_heartbeat(name=name)
    shard_mirror()
    # the system deletes beta's object (clients may not: 403, tested with the API's rules)
    with committed():
        STORE.delete(INFO, RequestContext(cluster="root"), "", "beta")
    assert record("beta") is None
    assert shard_heartbeat(name="beta") is False
    assert shard_mirror() == 0
    assert api.get(f"{SHARDS}/beta").status_code == 404
    # gamma's record is deleted (an operator de-registers it): its object goes at the next pass
    shard_deregister(name="gamma")
    with committed():
        assert shard_mirror() == 1
    assert api.get(f"{SHARDS}/gamma").status_code == 404
    # registering again (a restart) brings it back
    shard_register_self(name="gamma", base_url="https://gamma.example")
    assert shard_mirror() == 1
    assert api.get(f"{SHARDS}/gamma").status_code == 200


def test_an_object_older_than_a_new_registration_does_not_deregister_it(api: Api) -> None:
    """A shard that registered again after its object was made keeps its record when that old
    object is deleted (by a mirror pass that saw no record in between)."""
    from shards.models import ShardRecord
    from shards.services import shard_deregister

    made = timezone.now() - timedelta(minutes=5)
    ShardRecord.objects.create(name="beta", base_url="https://beta.example")
    assert shard_deregister(name="beta", registered_before=made) is False
    assert record("beta") is not None
    assert shard_deregister(name="beta", registered_before=timezone.now()) is True


@pytest.mark.django_db(databases=["default", "global"])
def test_a_shard_that_does_not_host_root_registers_without_writing_shard_objects(settings: Any) -> None:
    """Split mode, a second shard with its own database (no root logical cluster in it): its
    registration, heartbeat and mirror pass write its record in the global database and nothing
    into its own."""
    from kube.registry.tables import ensure_storage_ready
    from shards.mirror import shard_mirror
    from shards.models import ShardRecord, ShardRow
    from shards.selectors import shard_hosts_root
    from shards.services import shard_heartbeat, shard_register_self
    from shards.tasks import mirror_shards

    assert "kcp_shards" not in connections["default"].introspection.table_names()  # truly two databases
    ensure_storage_ready()
    settings.KCP_SHARD_NAME = "beta"
    count = events()
    shard_register_self(name="beta", base_url="https://beta.example", labels={"region": "eu"})
    assert shard_heartbeat() is True
    assert shard_hosts_root() is False
    assert shard_mirror() == 0 and mirror_shards() == 0
    assert not ShardRow.objects.exists()
    assert events() == count
    assert ShardRecord.objects.using("global").get(name="beta").labels == {"name": "beta", "region": "eu"}


def test_an_operator_deregisters_a_shard_with_a_command(api: Api) -> None:
    from django.core.management import CommandError, call_command

    from shards.mirror import shard_mirror
    from shards.services import shard_register_self

    shard_register_self(name="beta", base_url="https://beta.example")
    shard_mirror()
    assert api.get(f"{SHARDS}/beta").status_code == 200
    call_command("kcp_shard_deregister", "beta")
    assert record("beta") is None
    assert api.get(f"{SHARDS}/beta").status_code == 404
    with pytest.raises(CommandError, match="not registered"):
        call_command("kcp_shard_deregister", "beta")
