"""The single-statement write path (revision, row and event in one round trip) and the event
log's doorbell trigger: what each write leaves in the row, the log and on the LISTEN channel."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection, transaction

from kube import errors
from kube.storage import backend
from kube.storage.backend import NOTIFY_CHANNEL, Key
from kube.storage.models import Event, StoredObject
from workspaces.models import LogicalClusterRow

pytestmark = pytest.mark.django_db(transaction=True)

KEY = Key("writes-test", "", "configmaps", "ns", "one")


@pytest.fixture(autouse=True)
def _revision_row() -> None:
    backend.ensure_revision_row()  # transactional tests start from a flushed database


def _body(**data: object) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one", "namespace": "ns"}, "data": data}


def test_create_update_delete_keep_row_body_and_log_in_step() -> None:
    with transaction.atomic():
        created = backend.create(KEY, {**_body(a="1"), "metadata": {**_body()["metadata"], "labels": {"x": "1"}}})
    row = StoredObject.objects.get(cluster=KEY.cluster, name="one")
    rv1 = int(created["metadata"]["resourceVersion"])
    assert row.resource_version == rv1 == backend.current_revision()
    assert row.body["metadata"]["resourceVersion"] == str(rv1)
    assert row.labels == {"x": "1"} and str(row.uid) == created["metadata"]["uid"]
    assert row.body["metadata"]["annotations"]["kcp.io/cluster"] == KEY.cluster

    with transaction.atomic():
        current = backend.get(KEY, for_update=True)
        assert current is not None
        current["metadata"]["labels"] = {"x": "2"}
        current["data"] = {"a": "2"}
        updated = backend.update(KEY, current, prev_labels={"x": "1"})
    rv2 = int(updated["metadata"]["resourceVersion"])
    row.refresh_from_db()
    assert rv2 == rv1 + 1 and row.resource_version == rv2 and row.labels == {"x": "2"}

    with transaction.atomic():
        current = backend.get(KEY, for_update=True)
        assert current is not None
        deleted = backend.delete(KEY, current)
    rv3 = int(deleted["metadata"]["resourceVersion"])
    assert rv3 == rv2 + 1 and backend.get(KEY) is None

    events = list(Event.objects.filter(cluster=KEY.cluster).order_by("revision"))
    assert [(e.revision, e.type) for e in events] == [(rv1, "ADDED"), (rv2, "MODIFIED"), (rv3, "DELETED")]
    assert [e.object["metadata"]["resourceVersion"] for e in events] == [str(rv1), str(rv2), str(rv3)]
    assert events[1].prev_labels == {"x": "1"} and events[1].object["data"] == {"a": "2"}
    assert events[0].prev_labels is None


def test_promoted_columns_are_written_with_the_body() -> None:
    key = Key("writes-test", "core.kcp.io", "logicalclusters", "", "cluster")
    body = {
        "apiVersion": "core.kcp.io/v1alpha1",
        "kind": "LogicalCluster",
        "metadata": {"name": "cluster", "annotations": {"kcp.io/path": "root:w"}},
        "status": {"phase": "Initializing"},
    }
    with transaction.atomic():
        backend.create(key, body)
    row = LogicalClusterRow.objects.get(cluster="writes-test")
    assert (row.path, row.phase) == ("root:w", "Initializing")
    with transaction.atomic():
        current = backend.get(key, for_update=True)
        assert current is not None
        current["status"]["phase"] = "Ready"
        backend.update(key, current, prev_labels={})
    row.refresh_from_db()
    assert row.phase == "Ready" and row.body["status"]["phase"] == "Ready"


def test_integers_beyond_64_bits_survive() -> None:
    with transaction.atomic():
        backend.create(KEY, _body() | {"spec": {"huge": 2**80, "neg": -(2**70)}})
    stored = backend.get(KEY)
    assert stored is not None and stored["spec"] == {"huge": 2**80, "neg": -(2**70)}


def test_duplicate_create_is_an_integrity_error_and_leaves_no_trace() -> None:
    from django.db import IntegrityError

    with transaction.atomic():
        backend.create(KEY, _body(a="1"))
    before = backend.current_revision()
    with pytest.raises(IntegrityError), transaction.atomic():
        backend.create(KEY, _body(a="2"))
    assert backend.current_revision() == before
    assert Event.objects.filter(cluster=KEY.cluster).count() == 1
    assert backend.get(KEY)["data"] == {"a": "1"}  # type: ignore[index]


def test_update_of_a_vanished_row_fails_and_logs_nothing() -> None:
    before = backend.current_revision()
    with pytest.raises(errors.InternalError), transaction.atomic():
        backend.update(KEY, _body(a="1"), prev_labels=None)
    assert backend.current_revision() == before
    assert not Event.objects.filter(cluster=KEY.cluster).exists()


def test_every_committed_write_rings_the_doorbell_and_a_rolled_back_one_does_not() -> None:
    """The trigger on the event log sends the NOTIFY (delivered on commit); watchers' pumps wake on
    it instead of waiting for their poll."""
    params = connection.get_connection_params()
    dsn = psycopg.conninfo.make_conninfo(
        **{k: v for k, v in params.items() if k in ("host", "port", "dbname", "user", "password")}
    )
    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")

        def rings() -> int:
            return sum(1 for _ in listener.notifies(timeout=0.5, stop_after=10))

        with transaction.atomic():
            backend.create(KEY, _body(a="1"))
        assert rings() == 1
        with pytest.raises(RuntimeError), transaction.atomic():
            current = backend.get(KEY, for_update=True)
            assert current is not None
            backend.update(KEY, current, prev_labels=None)
            raise RuntimeError("roll back")
        assert rings() == 0
        with transaction.atomic():
            current = backend.get(KEY, for_update=True)
            assert current is not None
            backend.delete(KEY, current)
        assert rings() == 1
