"""APIExportEndpointSlice URLs: this shard's provider virtual workspace first, then one per other
shard holding a binding of the export (apis.presence). Another shard is played by writing as it
(`as_shard`): its rows in the global table are what that shard would write."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.factories import BINDINGS, COWBOY_GROUP, apibinding_body, at, cowboys_exported, logical_cluster, make
from tests.workspaces.test_pull import as_shard

pytestmark = pytest.mark.django_db(databases="__all__")

SLICE = f"/apis/apis.kcp.io/v1alpha1/apiexportendpointslices/{COWBOY_GROUP}"
SERVICES = f"/services/apiexport/root:provider/{COWBOY_GROUP}"


def _provider(api: Api) -> tuple[Api, str]:
    make(api, "provider")
    p = at(api, "root:provider")
    cluster = logical_cluster(api, "root:provider")
    cowboys_exported(p, cluster=cluster)
    return p, cluster


def _urls(p: Api) -> list[str]:
    return [e["url"] for e in p.get(SLICE).json()["status"]["endpoints"]]


def _register(name: str) -> None:
    from shards.services import shard_register_self

    shard_register_self(name=name, base_url=f"https://{name}.internal:6443",
                        virtual_workspace_url=f"https://proxy.example:6443/shards/{name}")  # fmt: skip


def _reconcile(cluster: str) -> None:
    from apis.services import apiexport_reconcile

    apiexport_reconcile(cluster=cluster, name=COWBOY_GROUP)


def _rows() -> list[tuple[str, str, str]]:
    from apis.models import APIExportShard

    return sorted(APIExportShard.objects.values_list("export_cluster", "export_name", "shard"))


def test_the_slice_lists_this_shard_before_any_binding_and_once_with_bindings_here(api: Api) -> None:
    from apis.bindings import apibinding_reconcile
    from apis.tasks import sync_apiexport_shard

    p, cluster = _provider(api)
    assert _urls(p) == [_here()]  # a URL to start a controller on
    make(api, "consumer")
    c = at(api, "root:consumer")
    consumer = logical_cluster(api, "root:consumer")
    assert c.post(BINDINGS, apibinding_body(name="w", path="root:provider", export=COWBOY_GROUP)).status_code == 201
    apibinding_reconcile(cluster=consumer, name="w")
    assert sync_apiexport_shard(cluster, COWBOY_GROUP) is True
    assert _rows() == [(cluster, COWBOY_GROUP, "root")]
    assert sync_apiexport_shard(cluster, COWBOY_GROUP) is False  # already right: nothing written
    _reconcile(cluster)
    assert _urls(p) == [_here()]


def test_another_shards_first_binding_adds_its_url_and_its_last_removal_takes_it_out(api: Api) -> None:
    from apis.models import APIExportShard

    p, cluster = _provider(api)
    _register("shard-b")
    _register("shard-a")
    for shard in ("shard-b", "shard-a", "shard-gone"):  # shard-gone: a row of a shard no longer registered
        APIExportShard.objects.create(export_cluster=cluster, export_name=COWBOY_GROUP, shard=shard)
    _reconcile(cluster)
    here = _here()
    assert _urls(p) == [
        here,
        f"https://proxy.example:6443/shards/shard-a{SERVICES}",
        f"https://proxy.example:6443/shards/shard-b{SERVICES}",
    ]
    APIExportShard.objects.filter(shard="shard-a").delete()
    _reconcile(cluster)
    assert _urls(p) == [here, f"https://proxy.example:6443/shards/shard-b{SERVICES}"]


def test_a_shards_row_follows_its_bindings_and_the_resync_heals_missed_changes(api: Api) -> None:
    from apis.bindings import apibinding_reconcile
    from apis.models import APIExportShard
    from apis.presence import apiexport_shard_presence_sync, apiexport_shards_resync

    _, cluster = _provider(api)
    reconciled: list[tuple[str, str]] = []
    make(api, "consumer")
    c, consumer = at(api, "root:consumer"), logical_cluster(api, "root:consumer")
    with as_shard("shard-b"):
        # no binding here: nothing to record
        assert apiexport_shard_presence_sync(export_cluster=cluster, export_name=COWBOY_GROUP) is False
    assert c.post(BINDINGS, apibinding_body(name="w", path="root:provider", export=COWBOY_GROUP)).status_code == 201
    assert apibinding_reconcile(cluster=consumer, name="w") == "Bound"
    with as_shard("shard-b"):
        # the follow-up was missed (a crash between the two databases): the resync records it
        seen: dict[tuple[str, str], frozenset[str]] = {}
        assert apiexport_shards_resync(reconcile=lambda c, n: reconciled.append((c, n)), seen=seen) == 1
        assert _rows() == [(cluster, COWBOY_GROUP, "shard-b")]
        assert reconciled == [(cluster, COWBOY_GROUP)]  # the export is here: its slice follows
        assert apiexport_shards_resync(reconcile=lambda c, n: reconciled.append((c, n)), seen=seen) == 0
        assert reconciled == [(cluster, COWBOY_GROUP)]  # nothing changed since: no reconcile
    assert c.delete(f"{BINDINGS}/w").status_code == 200
    while apibinding_reconcile(cluster=consumer, name="w"):
        pass
    with as_shard("shard-b"):
        assert apiexport_shard_presence_sync(export_cluster=cluster, export_name=COWBOY_GROUP) is True
        assert _rows() == []
        # a row left behind (the binding went while this shard could not reach the global database)
        APIExportShard.objects.create(export_cluster=cluster, export_name=COWBOY_GROUP, shard="shard-b")
        APIExportShard.objects.create(export_cluster=cluster, export_name=COWBOY_GROUP, shard="shard-c")
        assert apiexport_shards_resync(reconcile=lambda c, n: reconciled.append((c, n)), seen=seen) == 1
        assert reconciled[-1] == (cluster, COWBOY_GROUP)  # shard-c's row appeared: the slice follows
    assert _rows() == [(cluster, COWBOY_GROUP, "shard-c")]  # another shard's row is not ours to fix


def test_a_notification_reconciles_an_export_held_here_and_nothing_else(api: Api) -> None:
    from apis.presence import presence_notification_handle

    _, cluster = _provider(api)
    calls: list[tuple[str, str]] = []

    def handle(payload: str) -> bool:
        return presence_notification_handle(payload=payload, reconcile=lambda c, n: calls.append((c, n)))

    note = '{"op": "INSERT", "export_cluster": "%s", "export_name": "%s", "shard": "shard-b"}'
    assert handle(note % (cluster, COWBOY_GROUP)) is True
    assert handle(note % ("2elsewhere", COWBOY_GROUP)) is False  # the export's shard is another one
    assert handle(note % (cluster, "other.example.com")) is False
    for malformed in ("", "not json", "[]", '{"export_cluster": 1, "export_name": null}', "{}"):
        assert handle(malformed) is False
    assert calls == [(cluster, COWBOY_GROUP)]


def test_a_binding_task_records_this_shard_and_its_deletion_removes_it(api: Api) -> None:
    from apis.tasks import reconcile_apibinding

    _, cluster = _provider(api)
    make(api, "consumer")
    c = at(api, "root:consumer")
    consumer = logical_cluster(api, "root:consumer")
    assert c.post(BINDINGS, apibinding_body(name="w", path="root:provider", export=COWBOY_GROUP)).status_code == 201
    assert reconcile_apibinding(consumer, "w") == "Bound"
    assert _rows() == [(cluster, COWBOY_GROUP, "root")]
    assert c.delete(f"{BINDINGS}/w").status_code == 200
    for _ in range(5):  # unbinding purges in rounds, then the finalizer goes
        if reconcile_apibinding(consumer, "w") == "":
            break
    assert c.get(f"{BINDINGS}/w").status_code == 404
    assert _rows() == []


def _here() -> str:
    """This shard's provider virtual workspace of the export (one shard: the external URL)."""
    from django.conf import settings

    return f"{settings.KCP_EXTERNAL_URL}{SERVICES}"
