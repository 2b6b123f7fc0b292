"""kube.storage.signature: signatures read once inside `signatures_pinned`, fresh outside it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kube.storage.models import StoredObject
from kube.storage.signature import rows_signature, signatures_pinned

pytestmark = pytest.mark.django_db


def _row(cluster: str, name: str, rv: int) -> StoredObject:
    return StoredObject(
        cluster=cluster, group="", resource="configmaps", namespace="default", name=name, uid=uuid.uuid4(),
        resource_version=rv, body={"metadata": {"name": name}}, created=timezone.now(),
    )


def test_pinned_signatures_are_read_once_per_rows_and_fresh_after_the_block(db: Any) -> None:
    StoredObject.objects.bulk_create([_row("pin-a", "x", 5), _row("pin-a", "y", 9), _row("pin-b", "z", 7)])
    with CaptureQueriesContext(connection) as queries, signatures_pinned():
        for _ in range(3):
            assert rows_signature(StoredObject, cluster="pin-a") == (2, 9)
            assert rows_signature(StoredObject, cluster="pin-b") == (1, 7)
    assert len(queries.captured_queries) == 2  # one per distinct set of rows
    StoredObject.objects.bulk_create([_row("pin-a", "w", 11)])
    assert rows_signature(StoredObject, cluster="pin-a") == (3, 11)  # outside the block: read again


def test_a_new_workspace_reads_its_binding_signature_once(api: Any) -> None:
    """The scheduling transaction admits the new cluster's namespaces and owner binding against
    its (empty) APIBindings: one signature query, not one per object."""
    from workspaces.services import workspace_reconcile

    r = api.post("/apis/tenancy.kcp.io/v1alpha1/workspaces",
                 {"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace", "metadata": {"name": "pinned"}})
    assert r.status_code == 201, r.content
    with CaptureQueriesContext(connection) as queries:
        assert workspace_reconcile(cluster="root", name="pinned") == "Ready"
    sql = [q["sql"] for q in queries.captured_queries]
    binding_signatures = [s for s in sql if '"apis_apibinding"' in s and "count(*)" in s]
    assert len(binding_signatures) == 1, sql
