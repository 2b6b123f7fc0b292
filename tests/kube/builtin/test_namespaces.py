"""Namespace lifecycle through the real views: a deleted namespace shows Terminating while it
empties, and while it does no create of any kind (POST, server-side apply, custom and bound
resources, the Store's batch) puts anything in it; the immortal namespaces are not deleted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.apis.test_bindings import consumer as bound_consumer
from tests.apis.test_bindings import cowboy, provider
from tests.conftest import Api
from tests.kube.test_crds import CRDS, widget, widget_crd

NAMESPACES = "/api/v1/namespaces"
CM = "/api/v1/namespaces/doomed/configmaps"


def terminating(api: Api, name: str = "doomed") -> dict[str, Any]:
    """Namespace `name`, deleted while it holds an object with a finalizer: it stays Terminating."""
    assert api.post(NAMESPACES, {"metadata": {"name": name}}).status_code == 201
    held = {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    assert api.post(f"/api/v1/namespaces/{name}/configmaps", held).status_code == 201
    r = api.delete(f"{NAMESPACES}/{name}")
    assert r.status_code == 200, r.content
    return dict(r.json())


def assert_refused_as_terminating(r: Any, resource: str, name: str, namespace: str = "doomed") -> None:
    """The apiserver's NamespaceLifecycle answer, with the cause clients test for."""
    assert r.status_code == 403, r.content
    status = r.json()
    assert status["reason"] == "Forbidden"
    assert status["message"] == (
        f'{resource} "{name}" is forbidden: unable to create new content in namespace {namespace} '
        "because it is being terminated"
    )
    assert status["details"]["name"] == name
    assert {"reason": "NamespaceTerminating", "message": f"namespace {namespace} is being terminated",
            "field": "metadata.namespace"} in status["details"]["causes"]


def test_a_deleted_namespace_is_terminating_until_it_is_empty(api: Api) -> None:
    from kube.builtin.namespaces import namespace_cleanup

    deleted = terminating(api)
    assert deleted["status"]["phase"] == "Terminating" and deleted["metadata"]["deletionTimestamp"]
    assert namespace_cleanup(cluster="root", name="doomed") is False  # the finalizer holds it
    assert api.get(f"{NAMESPACES}/doomed").json()["status"]["phase"] == "Terminating"
    assert api.get(f"{CM}/held").json()["metadata"]["deletionTimestamp"]
    r = api.patch(f"{CM}/held", [{"op": "remove", "path": "/metadata/finalizers"}],
                  content_type="application/json-patch+json")
    assert r.status_code == 200, r.content
    assert namespace_cleanup(cluster="root", name="doomed") is True
    assert api.get(f"{NAMESPACES}/doomed").status_code == 404


def test_creates_in_a_terminating_namespace_are_refused_on_every_path(api: Api) -> None:
    terminating(api)
    assert_refused_as_terminating(api.post(CM, {"metadata": {"name": "new"}}), "configmaps", "new")
    assert_refused_as_terminating(api.post(f"{CM}?dryRun=All", {"metadata": {"name": "dry"}}), "configmaps", "dry")
    r = api.post(CM, {"metadata": {"generateName": "gen-"}})
    assert_refused_as_terminating(r, "configmaps", r.json()["details"]["name"])  # the generated name
    assert r.json()["details"]["name"].startswith("gen-")
    applied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}}
    r = api.patch(f"{CM}/applied?fieldManager=me", applied, content_type="application/apply-patch+yaml")
    assert_refused_as_terminating(r, "configmaps", "applied")
    r = api.post("/apis/rbac.authorization.k8s.io/v1/namespaces/doomed/roles", {"metadata": {"name": "r"}})
    assert_refused_as_terminating(r, "roles.rbac.authorization.k8s.io", "r")
    # What is there may still change (the apiserver refuses creates only).
    held = api.get(f"{CM}/held").json()
    held["data"] = {"still": "writable"}
    assert api.put(f"{CM}/held", held).status_code == 200
    assert [o["metadata"]["name"] for o in api.get(CM).json()["items"]] == ["held"]


def test_custom_resources_are_refused_in_a_terminating_namespace(api: Api) -> None:
    assert api.post(CRDS, widget_crd()).status_code == 201
    terminating(api)
    r = api.post("/apis/example.com/v1/namespaces/doomed/widgets", widget("w"))
    assert_refused_as_terminating(r, "widgets.example.com", "w")
    r = api.patch("/apis/example.com/v1/namespaces/doomed/widgets/w?fieldManager=me", widget("w"),
                  content_type="application/apply-patch+yaml")
    assert_refused_as_terminating(r, "widgets.example.com", "w")


def test_bound_resources_are_refused_in_a_terminating_namespace(api: Api) -> None:
    provider(api)
    c = bound_consumer(api, "consumer")
    terminating(c)
    r = c.post("/apis/wildwest.example.com/v1alpha1/namespaces/doomed/cowboys", cowboy("billy"))
    assert_refused_as_terminating(r, "cowboys.wildwest.example.com", "billy")


def test_the_stores_batch_create_is_refused_in_a_terminating_namespace(api: Api) -> None:
    from django.db import transaction

    from kube import errors
    from kube.registry import REGISTRY
    from kube.registry.context import RequestContext
    from kube.registry.store import STORE

    terminating(api)
    info = REGISTRY.resolve(cluster="root", group="", version="v1", resource="configmaps")
    assert info is not None
    with pytest.raises(errors.Forbidden, match="because it is being terminated"), transaction.atomic():
        STORE.prepare_creates(RequestContext(cluster="root"), [(info, "doomed", {"metadata": {"name": "batched"}})])
    assert api.get(f"{CM}/batched").status_code == 404


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_immortal_namespaces_stay(api: Api, name: str) -> None:
    r = api.delete(f"{NAMESPACES}/{name}")
    assert r.status_code == 403
    assert r.json()["message"] == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
    assert api.get(f"{NAMESPACES}/{name}").json()["status"]["phase"] == "Active"
    assert "deletecollection" not in next(
        res["verbs"] for res in api.get("/api/v1").json()["resources"] if res["name"] == "namespaces"
    )
