"""Store.guaranteed_update, the controllers' write: a mutate function on a copy, nothing written
when it changes nothing, a compare on resourceVersion under the row lock and the mutate run
again on what another writer left — from a stale object, and under real concurrent writers
(threads, each with its own database connection)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from kube import errors
from kube.registry import REGISTRY, ResourceInfo
from kube.registry.context import RequestContext
from kube.registry.store import STORE
from kube.registry.tables import ensure_storage_ready
from kube.storage.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

CLUSTER = "gu-test"
Obj = dict[str, Any]


def _info(resource: str) -> ResourceInfo:
    info = REGISTRY.resolve(cluster=CLUSTER, group="", version="v1", resource=resource)
    assert info is not None
    return info


@pytest.fixture
def counter() -> Obj:
    """ConfigMap `counter` in namespace `ns`, data.n = "0"."""
    ensure_storage_ready()  # transactional tests start from a flushed database
    ctx = RequestContext(cluster=CLUSTER)
    STORE.create(_info("namespaces"), ctx, "", {"metadata": {"name": "ns"}})
    body = {"metadata": {"name": "counter"}, "data": {"n": "0"}}
    return STORE.create(_info("configmaps"), ctx, "ns", body)


def _increment(calls: list[int]) -> Any:
    def mutate(cm: Obj) -> None:
        calls.append(int(cm["data"]["n"]))
        cm["data"]["n"] = str(int(cm["data"]["n"]) + 1)

    return mutate


def test_a_stale_object_costs_a_retry_never_a_lost_write(counter: Obj) -> None:
    ctx = RequestContext(cluster=CLUSTER)
    configmaps = _info("configmaps")
    # Another writer moves the object on after our caller read it.
    newer = STORE.update(configmaps, ctx, "ns", "counter", {**counter, "data": {"n": "5", "other": "kept"}})
    assert newer["metadata"]["resourceVersion"] != counter["metadata"]["resourceVersion"]

    calls: list[int] = []
    out = STORE.guaranteed_update(configmaps, ctx, "ns", "counter", _increment(calls), current=counter)

    assert out is not None
    assert calls == [0, 5]  # mutated the stale copy, refused at the compare, mutated the fresh one
    assert out["data"] == {"n": "6", "other": "kept"}
    stored = STORE.lookup(configmaps, cluster=CLUSTER, namespace="ns", name="counter")
    assert stored is not None and stored["data"] == {"n": "6", "other": "kept"}
    assert int(stored["metadata"]["resourceVersion"]) > int(newer["metadata"]["resourceVersion"])


def test_concurrent_writers_lose_no_increment() -> None:
    ensure_storage_ready()
    ctx = RequestContext(cluster=CLUSTER)
    STORE.create(_info("namespaces"), ctx, "", {"metadata": {"name": "ns"}})
    STORE.create(_info("configmaps"), ctx, "ns", {"metadata": {"name": "counter"}, "data": {"n": "0"}})
    workers, rounds = 4, 10
    calls: list[int] = []
    failures: list[BaseException] = []
    start = threading.Barrier(workers)

    def work() -> None:
        try:
            start.wait()
            for _ in range(rounds):
                STORE.guaranteed_update(
                    _info("configmaps"), RequestContext(cluster=CLUSTER), "ns", "counter", _increment(calls)
                )
        except BaseException as e:  # reported below, in the test's thread
            failures.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    stored = STORE.lookup(_info("configmaps"), cluster=CLUSTER, namespace="ns", name="counter")
    assert stored is not None
    assert stored["data"]["n"] == str(workers * rounds)
    assert len(calls) >= workers * rounds  # every retry ran the mutate again on fresh state
    writes = Event.objects.filter(cluster=CLUSTER, resource="configmaps", type="MODIFIED").count()
    assert writes == workers * rounds


def test_a_mutate_that_changes_nothing_writes_nothing(counter: Obj) -> None:
    before = Event.objects.count()
    out = STORE.guaranteed_update(
        _info("configmaps"), RequestContext(cluster=CLUSTER), "ns", "counter", lambda cm: None, current=counter
    )
    assert out is not None and out["metadata"]["resourceVersion"] == counter["metadata"]["resourceVersion"]
    assert Event.objects.count() == before


def test_the_write_is_validated_and_admitted_like_an_update(counter: Obj) -> None:
    def bad_label(cm: Obj) -> None:
        cm["metadata"]["labels"] = {"not a key!": "x"}

    before = Event.objects.count()
    with pytest.raises(errors.Invalid):
        STORE.guaranteed_update(_info("configmaps"), RequestContext(cluster=CLUSTER), "ns", "counter", bad_label)
    assert Event.objects.count() == before

    def reserved(cm: Obj) -> None:
        cm["metadata"].setdefault("annotations", {})["kcp.io/path"] = "root:elsewhere"

    tenant = RequestContext(cluster=CLUSTER, user=_tenant())
    with pytest.raises(errors.StatusError):
        STORE.guaranteed_update(_info("configmaps"), tenant, "ns", "counter", reserved)
    assert Event.objects.count() == before


def test_a_missing_object_is_none() -> None:
    ensure_storage_ready()
    out = STORE.guaranteed_update(
        _info("configmaps"), RequestContext(cluster=CLUSTER), "ns", "ghost", _increment([])
    )
    assert out is None


def _tenant() -> Any:
    from kube.authz.user import UserInfo

    return UserInfo(name="tenant", groups=("system:authenticated",))
