"""The APIBinding and APIExport reconcilers step by step: each step alone on the objects it
takes, and a pass repeated over an unchanged world writes nothing (the condition rule keeps
lastTransitionTime, so the recomputed status is equal)."""

from __future__ import annotations

import copy
from typing import Any

from tests.apis.test_bindings import bind, cluster_of, provider
from tests.conftest import Api
from tests.workspaces.test_workspaces import at, make


def _conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status.get("conditions") or []}


def test_the_steps_run_in_the_documented_order() -> None:
    from apis import bindings, services

    assert [s.__name__ for s in services.EXPORT_STEPS] == [
        "apiexport_identity_step",
        "apiexport_status_step",
        "apiexport_endpoint_slice_step",
    ]

    assert [s.__name__ for s in bindings.BINDING_STEPS] == [
        "binding_export_step",
        "binding_identity_step",
        "binding_resources_step",
        "binding_claims_step",
        "binding_ready_step",
    ]


def test_the_export_step_stops_at_a_missing_export(api: Api) -> None:
    from apis.bindings import BindingPass, binding_export_step

    make(api, "lonely")
    cluster = cluster_of(api, "root:lonely")
    binding = {"metadata": {"name": "b"}, "spec": {"reference": {"export": {"path": "root:nowhere", "name": "x"}}}}
    p = BindingPass(cluster=cluster, binding=binding, status={})
    assert binding_export_step(p) is False
    conditions = _conditions(p.status)
    assert (conditions["APIExportValid"]["status"], conditions["APIExportValid"]["reason"]) == (
        "False",
        "APIExportNotFound",
    )
    assert conditions["Ready"]["status"] == "False"
    assert "apiExportClusterName" not in p.status


def test_the_identity_step_waits_for_the_export_identity() -> None:
    from apis.bindings import BindingPass, binding_identity_step

    export = {"metadata": {"name": "e"}, "status": {}}
    p = BindingPass(cluster="c", binding={"metadata": {"name": "b"}}, status={}, export_cluster="x", export=export)
    assert binding_identity_step(p) is False
    assert _conditions(p.status)["APIExportValid"]["reason"] == "APIExportNotReady"
    export["status"]["identityHash"] = "abc"
    assert binding_identity_step(p) is True
    assert (p.identity, _conditions(p.status)["APIExportValid"]["status"]) == ("abc", "True")
    assert "reason" not in _conditions(p.status)["APIExportValid"]


def test_a_waiting_binding_reconciled_again_keeps_its_conditions_and_writes_nothing(api: Api) -> None:
    from apis.bindings import apibinding_reconcile
    from kube.storage.models import Event

    make(api, "waiting")
    c = at(api, "root:waiting")
    assert bind(c, "root:nowhere").status_code == 201
    cluster = cluster_of(api, "root:waiting")
    assert apibinding_reconcile(cluster=cluster, name="wildwest") == "Binding"
    first = c.get("/apis/apis.kcp.io/v1alpha2/apibindings/wildwest").json()
    events = Event.objects.count()
    assert apibinding_reconcile(cluster=cluster, name="wildwest") == "Binding"
    assert Event.objects.count() == events
    again = c.get("/apis/apis.kcp.io/v1alpha2/apibindings/wildwest").json()
    assert again["status"] == first["status"]
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_the_export_status_step_never_replaces_an_identity_and_says_why(api: Api) -> None:
    from apis.kinds import API_EXPORTS
    from apis.services import ExportPass, apiexport_status_step
    from kube.registry.store import STORE

    provider(api)
    cluster = cluster_of(api, "root:provider")
    export = STORE.lookup(API_EXPORTS, cluster=cluster, name="wildwest.example.com")
    assert export is not None
    identity = export["status"]["identityHash"]
    p = ExportPass(cluster=cluster, export=export, identity_hash="f" * 64)
    assert apiexport_status_step(p) is True
    written = p.export
    assert written["status"]["identityHash"] == identity
    cond = _conditions(written["status"])["IdentityValid"]
    assert (cond["status"], cond["reason"]) == ("False", "IdentityVerificationFailed")
    again = ExportPass(cluster=cluster, export=copy.deepcopy(written), identity_hash="f" * 64)
    assert apiexport_status_step(again) is True
    assert again.export["metadata"]["resourceVersion"] == written["metadata"]["resourceVersion"]  # nothing written
    healed = ExportPass(cluster=cluster, export=again.export, identity_hash=identity)
    assert apiexport_status_step(healed) is True
    cond = _conditions(healed.export["status"])["IdentityValid"]
    assert cond["status"] == "True" and "reason" not in cond
