"""Claim grants: the claim label's value follows the verbs a consumer accepted, changes with them,
and labels written before it carried a value are relabelled by the data migration."""

from __future__ import annotations

import copy
import importlib

from django.apps import apps as django_apps
from django.db import transaction

from tests.apis.test_bindings import BINDINGS, CONFIGMAPS, cluster_of, consumer, provider, reconcile, vw
from tests.conftest import Api


def claim_value(c: Api, name: str) -> str | None:
    labels = c.get(f"{CONFIGMAPS}/{name}").json()["metadata"].get("labels") or {}
    return next((v for k, v in labels.items() if k.startswith("claimed.")), None)


def accepted(verbs: list[str]) -> list[dict[str, object]]:
    return [{"group": "", "resource": "configmaps", "verbs": verbs, "state": "Accepted"}]


def test_the_claim_label_value_says_which_of_list_and_watch_are_granted(api: Api) -> None:
    provider(api, claims=[{"group": "", "resource": "configmaps", "verbs": ["get", "list", "watch", "patch"]}])
    c = consumer(api, "c", claims=accepted(["*"]))
    assert c.post(CONFIGMAPS, {"metadata": {"name": "x"}}).status_code == 201
    assert claim_value(c, "x") == "list.watch"  # admission
    for verbs, value in ((["get", "watch"], "watch"), (["list"], "list"), (["get", "patch"], "none")):
        binding = c.get(f"{BINDINGS}/wildwest").json()
        binding["spec"]["permissionClaims"][0]["verbs"] = verbs
        assert c.put(f"{BINDINGS}/wildwest", binding).status_code == 200
        reconcile(api, "root:c")  # the claims sync relabels what exists
        assert claim_value(c, "x") == value, verbs


def test_the_migration_relabels_claim_labels_written_without_a_value(api: Api) -> None:
    from kube.storage import backend
    from kube.storage.backend import Key

    provider(api, claims=[{"group": "", "resource": "configmaps", "verbs": ["*"]}])
    c = consumer(api, "old", claims=accepted(["get", "list"]))
    assert c.post(CONFIGMAPS, {"metadata": {"name": "x"}}).status_code == 201
    key = Key(cluster_of(api, "root:old"), "", "configmaps", "default", "x")
    with transaction.atomic():  # as the code before wrote it
        stored = backend.get(key, for_update=True)
        assert stored is not None
        legacy = copy.deepcopy(stored)
        label = next(k for k in legacy["metadata"]["labels"] if k.startswith("claimed."))
        legacy["metadata"]["labels"][label] = ""
        backend.update(key, legacy, prev_labels=stored["metadata"]["labels"])
    assert vw(api).get("*", "/api/v1/configmaps").json()["items"] == []
    importlib.import_module("apis.migrations.0003_claim_label_grants").relabel(django_apps, None)
    assert claim_value(c, "x") == "list"
    assert [i["metadata"]["name"] for i in vw(api).get("*", "/api/v1/configmaps").json()["items"]] == ["x"]


def test_a_rejection_holds_for_writes_before_the_reconciler_ran(api: Api) -> None:
    """The consumer rejects: its next write of a claimed object drops the claim label at once (the
    provider's watch gets DELETED with the previous version), without waiting for the relabel."""
    provider(api, claims=[{"group": "", "resource": "configmaps", "verbs": ["*"]}])
    c = consumer(api, "r", claims=accepted(["*"]))
    assert c.post(CONFIGMAPS, {"metadata": {"name": "x"}, "data": {"v": "1"}}).status_code == 201
    assert claim_value(c, "x") == "list.watch"
    binding = c.get(f"{BINDINGS}/wildwest").json()
    binding["spec"]["permissionClaims"][0]["state"] = "Rejected"
    assert c.put(f"{BINDINGS}/wildwest", binding).status_code == 200
    assert c.patch(f"{CONFIGMAPS}/x", {"data": {"v": "private now"}}).status_code == 200
    assert claim_value(c, "x") is None
    assert c.post(CONFIGMAPS, {"metadata": {"name": "y"}}).json()["metadata"].get("labels") in (None, {})
