"""Server-side apply and managedFields bookkeeping (KEP-555), scenario by scenario."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kube import errors
from kube.patch.apply import (
    LAST_APPLIED,
    decode_managed_fields,
    encode_managed_fields,
    server_side_apply,
    update_managed_fields,
)
from kube.patch.fieldpath import path_string
from kube.schema.core import Schema, schema_for_gvk

CM = schema_for_gvk("", "v1", "ConfigMap")
POD = schema_for_gvk("", "v1", "Pod")
NAMESPACE = schema_for_gvk("", "v1", "Namespace")
T = [f"2026-11-23T10:00:{i:02d}Z" for i in range(60)]

# A CRD's structural schema: no list-type markers, so every list is atomic.
WIDGET = Schema(
    {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "properties": {
                    "size": {"type": "integer"},
                    "color": {"type": "string"},
                    "ports": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"port": {"type": "integer"}}},
                    },
                    "env": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name"],
                        "items": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
                        },
                    },
                    "selector": {
                        "type": "object",
                        "x-kubernetes-map-type": "atomic",
                        "additionalProperties": {"type": "string"},
                    },
                },
            },
        },
    },
    {},
)


def cm(data: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "default", **metadata},
    }
    if data is not None:
        obj["data"] = data
    return obj


def widget(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}


def apply(
    live: dict[str, Any] | None,
    config: dict[str, Any],
    manager: str,
    *,
    now: str = T[1],
    force: bool = False,
    schema: Schema | None = CM,
    api_version: str = "v1",
    **kw: Any,
) -> dict[str, Any]:
    return server_side_apply(
        copy.deepcopy(live), config, manager=manager, api_version=api_version, force=force, schema=schema, now=now, **kw
    )


def update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    *,
    now: str = T[2],
    schema: Schema | None = CM,
    api_version: str = "v1",
    **kw: Any,
) -> dict[str, Any]:
    """A create/update/patch as the store does it: managedFields computed and set on `new`."""
    new = copy.deepcopy(new)
    managed = update_managed_fields(old, new, manager=manager, api_version=api_version, schema=schema, now=now, **kw)
    new.setdefault("metadata", {})["managedFields"] = managed
    if not managed:
        new["metadata"].pop("managedFields")
    return new


def owners(obj: dict[str, Any]) -> dict[str, set[str]]:
    """{"manager/Operation": {".data.a", ...}} of an object's managedFields."""
    managed = decode_managed_fields(obj["metadata"].get("managedFields"))
    return {f"{e.manager}/{e.operation}": {path_string(p) for p in e.fields} for e in managed.values()}


def body(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"].pop("managedFields", None)
    return out


# --- apply: create, re-apply, removal ------------------------------------------------------------
def test_apply_creates_the_object() -> None:
    obj = apply(None, cm({"a": "1"}, labels={"app": "web"}), "helm", now=T[1])
    assert body(obj) == cm({"a": "1"}, labels={"app": "web"})
    assert obj["metadata"]["managedFields"] == [
        {
            "manager": "helm",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": T[1],
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:app": {}}}},
        }
    ]


def test_reapply_unchanged_is_a_no_op() -> None:
    first = apply(None, cm({"a": "1"}), "helm", now=T[1])
    again = apply(first, cm({"a": "1"}), "helm", now=T[9])
    assert again == first, "nothing changes, not even the time"


def test_reapply_changes_value_and_time() -> None:
    first = apply(None, cm({"a": "1"}), "helm", now=T[1])
    second = apply(first, cm({"a": "2"}), "helm", now=T[9])
    assert second["data"] == {"a": "2"}
    assert second["metadata"]["managedFields"][0]["time"] == T[9]


def test_field_dropped_from_config_is_removed() -> None:
    first = apply(None, cm({"a": "1", "b": "2"}, labels={"x": "1", "y": "2"}), "helm")
    second = apply(first, cm({"a": "1"}, labels={"x": "1"}), "helm")
    assert body(second) == cm({"a": "1"}, labels={"x": "1"})
    assert owners(second) == {"helm/Apply": {".data.a", ".metadata.labels.x"}}
    third = apply(second, cm(), "helm")
    assert body(third) == cm(), "emptied maps go away"
    assert "managedFields" not in third["metadata"], "an empty set leaves no entry"


def test_dropped_field_owned_by_someone_else_stays() -> None:
    first = apply(None, cm({"a": "1", "b": "2"}), "helm")
    shared = apply(first, cm({"b": "2"}), "other")
    assert owners(shared) == {"helm/Apply": {".data.a", ".data.b"}, "other/Apply": {".data.b"}}
    released = apply(shared, cm({"a": "1"}), "helm")
    assert released["data"] == {"a": "1", "b": "2"}
    assert owners(released) == {"helm/Apply": {".data.a"}, "other/Apply": {".data.b"}}


def test_identity_fields_are_never_recorded() -> None:
    config = cm({"a": "1"})
    config["metadata"].update(uid="u", resourceVersion="5", generation=3, creationTimestamp="2026-01-01T00:00:00Z")
    assert owners(apply(None, config, "helm")) == {"helm/Apply": {".data.a"}}


# --- apply: sharing, conflicts, force ------------------------------------------------------------
def test_two_appliers_with_the_same_value_share_ownership() -> None:
    first = apply(None, cm({"a": "1"}), "one")
    second = apply(first, cm({"a": "1"}), "two", now=T[5])
    assert second["data"] == {"a": "1"}
    assert owners(second) == {"one/Apply": {".data.a"}, "two/Apply": {".data.a"}}
    assert [e["time"] for e in second["metadata"]["managedFields"]] == [T[1], T[5]]


def test_conflict_with_another_applier() -> None:
    live = apply(None, cm({"size": "1"}), "helm")
    with pytest.raises(errors.Conflict) as info:
        apply(live, cm({"size": "2"}), "kubectl")
    err = info.value
    assert err.code == 409 and err.reason == "Conflict"
    assert err.message == 'Apply failed with 1 conflict: conflict with "helm": .data.size'
    assert [c.as_dict() for c in err.causes] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "helm"', "field": ".data.size"}
    ]


def test_conflict_with_an_updater_names_its_version() -> None:
    live = update(None, cm({"size": "1"}), "helm")
    with pytest.raises(errors.Conflict) as info:
        apply(live, cm({"size": "2"}), "kubectl")
    assert info.value.message == 'Apply failed with 1 conflict: conflict with "helm" using v1: .data.size'
    assert info.value.causes[0].message == 'conflict with "helm" using v1'


def test_many_conflicts_are_grouped_by_manager() -> None:
    live = update(None, cm({"a": "1", "b": "1"}), "helm")
    live = apply(live, cm({"c": "1"}, labels={"x": "1"}), "argo", now=T[3])
    with pytest.raises(errors.Conflict) as info:
        apply(live, cm({"a": "2", "b": "2", "c": "2"}, labels={"x": "2"}), "kubectl")
    assert info.value.message == (
        'Apply failed with 4 conflicts: conflicts with "argo":\n- .data.c\n- .metadata.labels.x\n'
        'conflicts with "helm" using v1:\n- .data.a\n- .data.b'
    )
    assert [(c.message, c.field) for c in info.value.causes] == [
        ('conflict with "argo"', ".data.c"),
        ('conflict with "argo"', ".metadata.labels.x"),
        ('conflict with "helm" using v1', ".data.a"),
        ('conflict with "helm" using v1', ".data.b"),
    ]


def test_force_takes_ownership() -> None:
    live = apply(None, cm({"size": "1", "keep": "1"}), "helm")
    forced = apply(live, cm({"size": "2"}), "kubectl", force=True, now=T[7])
    assert forced["data"] == {"size": "2", "keep": "1"}
    assert owners(forced) == {"helm/Apply": {".data.keep"}, "kubectl/Apply": {".data.size"}}
    # the previous owner re-applying its old value now conflicts in turn
    with pytest.raises(errors.Conflict, match='conflict with "kubectl": .data.size'):
        apply(forced, cm({"size": "1", "keep": "1"}), "helm")


def test_apply_after_an_update_manager_wrote_the_field() -> None:
    live = apply(None, cm({"replicas": "1", "image": "a"}), "helm", now=T[1])
    edited = copy.deepcopy(live)
    edited["data"]["replicas"] = "5"
    edited = update(live, edited, "kubectl-edit", now=T[2])
    assert owners(edited) == {"helm/Apply": {".data.image"}, "kubectl-edit/Update": {".data.replicas"}}
    with pytest.raises(errors.Conflict, match='conflict with "kubectl-edit" using v1: .data.replicas'):
        apply(edited, cm({"replicas": "1", "image": "b"}), "helm", now=T[3])
    # leaving the field out is fine: the edit survives and helm still updates the rest
    result = apply(edited, cm({"image": "b"}), "helm", now=T[3])
    assert result["data"] == {"replicas": "5", "image": "b"}


def test_apply_to_an_object_without_managed_fields() -> None:
    live = cm({"a": "1", "b": "1"})
    with pytest.raises(errors.Conflict, match='conflict with "before-first-apply" using v1: .data.a'):
        apply(live, cm({"a": "2"}), "helm")
    same = apply(live, cm({"a": "1"}), "helm", now=T[4])
    everything = {".data", ".data.a", ".data.b"}
    assert owners(same) == {"helm/Apply": {".data.a"}, "before-first-apply/Update": everything}
    forced = apply(live, cm({"a": "2"}), "helm", force=True)
    assert owners(forced) == {"helm/Apply": {".data.a"}, "before-first-apply/Update": everything - {".data.a"}}


# --- apply: schema-driven merging ------------------------------------------------------------------
POD_CONFIG: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {"containers": [{"name": "app", "image": "app:1", "ports": [{"containerPort": 80}]}]},
}


def test_list_map_keys_use_defaults_and_partial_keys() -> None:
    live = apply(None, POD_CONFIG, "helm", schema=POD)
    ports = live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:containers"]['k:{"name":"app"}']["f:ports"]
    assert list(ports) == ['k:{"containerPort":80,"protocol":"TCP"}'], "protocol defaults to TCP, as upstream"
    defaulted = copy.deepcopy(live)
    defaulted["spec"]["containers"][0]["ports"][0]["protocol"] = "TCP"
    again = apply(defaulted, POD_CONFIG, "helm", schema=POD)
    assert again["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    with pytest.raises(errors.Invalid, match="omits all key fields"):
        apply(None, {**POD_CONFIG, "spec": {"containers": [{"image": "x"}]}}, "helm", schema=POD)


def test_list_map_items_merge_by_key() -> None:
    live = apply(None, POD_CONFIG, "helm", schema=POD)
    sidecar = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "sidecar", "image": "s:1"}]},
    }
    both = apply(live, sidecar, "injector", schema=POD)
    assert [c["name"] for c in both["spec"]["containers"]] == ["app", "sidecar"]
    assert both["metadata"]["managedFields"][1]["fieldsV1"] == {
        "f:spec": {"f:containers": {'k:{"name":"sidecar"}': {".": {}, "f:image": {}, "f:name": {}}}}
    }
    # one manager sets a field inside the other's item
    patched = apply(
        both,
        {**sidecar, "spec": {"containers": [{"name": "app", "imagePullPolicy": "Always"}]}},
        "injector",
        schema=POD,
    )
    app = patched["spec"]["containers"][0]
    assert app == {"name": "app", "image": "app:1", "ports": [{"containerPort": 80}], "imagePullPolicy": "Always"}
    assert [c["name"] for c in patched["spec"]["containers"]] == ["app"], "the injector dropped its sidecar"
    # the item whose creator stops applying it goes, unless someone else owns the item itself
    assert apply(patched, {**POD_CONFIG, "spec": {"containers": []}}, "helm", schema=POD)["spec"] == {
        "containers": [{"name": "app", "imagePullPolicy": "Always"}]
    }


def test_metadata_lists_of_any_kind() -> None:
    config = widget({"size": 1})
    config["metadata"].update(
        finalizers=["a.io/x"], ownerReferences=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u1"}]
    )
    live = apply(None, config, "helm", schema=WIDGET, api_version="example.com/v1")
    other = widget({})
    other["metadata"]["finalizers"] = ["b.io/y"]
    both = apply(live, other, "ctrl", schema=WIDGET, api_version="example.com/v1")
    assert both["metadata"]["finalizers"] == ["a.io/x", "b.io/y"]
    assert owners(both)["helm/Apply"] == {
        ".spec.size",
        '.metadata.finalizers[="a.io/x"]',
        '.metadata.ownerReferences[uid="u1"]',
    }
    # without a schema at all, metadata still merges the same way
    assert apply(live, other, "ctrl", schema=None, api_version="example.com/v1")["metadata"]["finalizers"] == [
        "a.io/x",
        "b.io/y",
    ]


def test_crd_lists_are_atomic() -> None:
    live = apply(
        None,
        widget({"ports": [{"port": 1}], "env": [{"name": "A", "value": "1"}]}),
        "helm",
        schema=WIDGET,
        api_version="example.com/v1",
    )
    assert owners(live) == {
        "helm/Apply": {".spec.ports", '.spec.env[name="A"]', '.spec.env[name="A"].name', '.spec.env[name="A"].value'}
    }
    with pytest.raises(errors.Conflict, match='conflict with "helm": .spec.ports'):
        apply(live, widget({"ports": [{"port": 1}, {"port": 2}]}), "other", schema=WIDGET, api_version="example.com/v1")
    merged = apply(
        live,
        widget({"env": [{"name": "B", "value": "2"}], "ports": [{"port": 1}]}),
        "other",
        schema=WIDGET,
        api_version="example.com/v1",
    )
    assert merged["spec"]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert owners(merged)["other/Apply"] >= {".spec.ports", '.spec.env[name="B"].value'}


def test_atomic_map_is_replaced_whole() -> None:
    live = apply(None, widget({"selector": {"a": "1", "b": "2"}}), "helm", schema=WIDGET)
    forced = apply(live, widget({"selector": {"c": "3"}}), "other", schema=WIDGET, force=True)
    assert forced["spec"]["selector"] == {"c": "3"}
    assert owners(forced) == {"other/Apply": {".spec.selector"}}


def test_without_schema_maps_merge_and_lists_are_leaves() -> None:
    live = apply(None, widget({"a": {"x": 1}, "l": [1, 2]}), "one", schema=None)
    assert live["metadata"]["managedFields"][0]["fieldsV1"] == {
        "f:spec": {".": {}, "f:a": {".": {}, "f:x": {}}, "f:l": {}}
    }
    both = apply(live, widget({"a": {"y": 2}, "l": [3]}), "two", schema=None, force=True)
    assert both["spec"] == {"a": {"x": 1, "y": 2}, "l": [3]}


def test_null_in_config_removes_the_field_and_owns_it() -> None:
    live = update(None, cm({"a": "1", "b": "2"}, labels={"app": "web"}), "creator")
    with pytest.raises(errors.Conflict, match=".data.a"):
        apply(live, cm({"a": None}), "helm")
    applied = apply(live, cm({"a": None}), "helm", force=True)
    assert applied["data"] == {"b": "2"}
    assert owners(applied)["helm/Apply"] == {".data.a"}
    # null for a whole map keeps its entries: it only claims the map
    kept = apply(live, cm(labels=None), "helm")
    assert kept["metadata"]["labels"] == {"app": "web"}
    assert owners(kept)["helm/Apply"] == {".metadata.labels"}


# --- apply: errors and options ----------------------------------------------------------------------
def test_managed_fields_in_config_is_400() -> None:
    config = cm({"a": "1"})
    config["metadata"]["managedFields"] = []
    with pytest.raises(errors.BadRequest, match="metadata.managedFields must be nil"):
        apply(None, config, "helm")


def test_duplicate_keys_in_config_are_invalid() -> None:
    config = copy.deepcopy(POD_CONFIG)
    config["spec"]["containers"].append({"name": "app", "image": "again"})
    with pytest.raises(errors.Invalid, match=r'duplicate entries for key \[name="app"\]'):
        apply(None, config, "helm", schema=POD)


def test_subresource_entries_are_separate() -> None:
    live = apply(None, cm({"a": "1"}), "helm")
    status = apply(live, cm({"b": "2"}), "helm", subresource="status", now=T[4])
    entries = status["metadata"]["managedFields"]
    assert [(e["manager"], e.get("subresource")) for e in entries] == [("helm", None), ("helm", "status")]
    with pytest.raises(errors.Conflict, match='conflict with "helm" with subresource "status": .data.b'):
        apply(status, cm({"a": "1", "b": "3"}), "helm")


def test_kubectl_migration_from_client_side_apply() -> None:
    """Fields kubectl applied client-side (still equal to its last-applied annotation) do not
    conflict for the manager `kubectl`, and the annotation follows server-side applies."""
    last = json.dumps(cm({"a": "1", "b": "1"})) + "\n"
    live = update(None, cm({"a": "1", "b": "1"}, annotations={LAST_APPLIED: last}), "kubectl-client-side-apply")
    drifted = copy.deepcopy(live)
    drifted["data"]["b"] = "edited"
    drifted = update(live, drifted, "kubectl-client-side-apply")
    with pytest.raises(errors.Conflict):
        apply(drifted, cm({"a": "2"}), "someone-else")
    result = apply(drifted, cm({"a": "2"}), "kubectl")
    assert result["data"] == {"a": "2", "b": "edited"}
    assert result["metadata"]["annotations"][LAST_APPLIED] == (
        '{"apiVersion":"v1","data":{"a":"2"},"kind":"ConfigMap","metadata":{"name":"cm","namespace":"default"}}\n'
    )
    assert owners(result)["kubectl/Apply"] == {".data.a"}
    # b no longer matches the annotation: that conflict stays
    with pytest.raises(errors.Conflict, match=r"\.data\.b"):
        apply(drifted, cm({"a": "2", "b": "mine"}), "kubectl")


# --- update_managed_fields ------------------------------------------------------------------------
def test_create_owns_everything_set() -> None:
    created = update(None, cm({"a": "1"}, labels={"app": "web"}), "kubectl-create", now=T[1])
    assert created["metadata"]["managedFields"] == [
        {
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T[1],
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}},
        }
    ]


def test_update_moves_changed_fields() -> None:
    live = apply(None, cm({"a": "1", "b": "1"}), "helm", now=T[1])
    new = copy.deepcopy(live)
    new["data"].update(b="2", c="3")
    result = update(live, new, "ctrl", now=T[2])
    assert owners(result) == {"helm/Apply": {".data.a"}, "ctrl/Update": {".data.b", ".data.c"}}
    again = copy.deepcopy(result)
    again["data"]["a"] = "9"
    again = update(result, again, "ctrl", now=T[3])
    assert owners(again) == {"ctrl/Update": {".data.a", ".data.b", ".data.c"}}, "one entry per manager, merged"
    assert [e["time"] for e in again["metadata"]["managedFields"]] == [T[3]]


def test_update_without_changes_keeps_entries() -> None:
    live = update(None, cm({"a": "1"}), "creator", now=T[1])
    same = update(live, copy.deepcopy(live), "other", now=T[5])
    assert same["metadata"]["managedFields"] == live["metadata"]["managedFields"]
    rv_only = copy.deepcopy(live)
    rv_only["metadata"]["resourceVersion"] = "99"
    assert update(live, rv_only, "other", now=T[5])["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_removed_fields_leave_every_set() -> None:
    live = apply(None, cm({"a": "1", "b": "1"}), "helm")
    new = copy.deepcopy(live)
    del new["data"]["a"]
    assert owners(update(live, new, "ctrl")) == {"helm/Apply": {".data.b"}}


def test_versions_make_separate_update_entries() -> None:
    live = update(None, cm({"a": "1"}), "ctrl", now=T[1], api_version="v1beta1")
    new = copy.deepcopy(live)
    new["data"]["b"] = "2"
    result = update(live, new, "ctrl", now=T[2])
    assert [(e["apiVersion"], e["fieldsV1"]) for e in result["metadata"]["managedFields"]] == [
        ("v1beta1", {"f:data": {".": {}, "f:a": {}}}),
        ("v1", {"f:data": {"f:b": {}}}),
    ]


def test_objects_without_managed_fields_are_not_tracked_on_update() -> None:
    new = cm({"a": "2"})
    assert update_managed_fields(cm({"a": "1"}), new, manager="x", api_version="v1", schema=CM, now=T[1]) == []


def test_user_overwrite_is_kept() -> None:
    """kubectl's csaupgrade replaces managedFields with a JSON patch; the list is kept."""
    live = update(None, cm({"a": "1"}), "kubectl-client-side-apply", now=T[1])
    migrated = copy.deepcopy(live)
    entry = {
        "manager": "kubectl",
        "operation": "Apply",
        "apiVersion": "v1",
        "time": T[1],
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": {"f:a": {}}},
    }
    migrated["metadata"]["managedFields"] = [entry]
    assert update(live, migrated, "kubectl-patch", now=T[3])["metadata"]["managedFields"] == [entry]
    # a later apply by kubectl now owns .data.a without conflict and can remove it
    assert apply(update(live, migrated, "kubectl-patch"), cm({}), "kubectl").get("data") is None


@pytest.mark.parametrize("reset", [[], [{}], [{"manager": "", "time": None}]])
def test_reset_managed_fields(reset: list[dict[str, Any]]) -> None:
    live = update(None, cm({"a": "1"}), "creator")
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = reset
    assert update_managed_fields(live, new, manager="x", api_version="v1", schema=CM, now=T[3]) == []


@pytest.mark.parametrize(
    "bogus",
    [
        [{"manager": "m", "operation": "Delete", "apiVersion": "v1", "fieldsType": "FieldsV1"}],
        [{"manager": "m", "operation": "Update", "fieldsType": "FieldsV1"}],
        [{"manager": "m", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV2"}],
        [{"manager": "m", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"x": {}}}],
        "not a list",
    ],
)
def test_undecodable_overwrite_falls_back_to_live(bogus: Any) -> None:
    live = update(None, cm({"a": "1"}), "creator", now=T[1])
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = bogus
    assert update(live, new, "x", now=T[2])["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_subresource_writes_ignore_request_managed_fields() -> None:
    live = update(None, cm({"a": "1"}), "creator", now=T[1])
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = []
    new["data"]["s"] = "ok"
    result = update(live, new, "ctrl", now=T[2], subresource="status")
    assert [(e["manager"], e.get("subresource")) for e in result["metadata"]["managedFields"]] == [
        ("creator", None),
        ("ctrl", "status"),
    ]


def test_update_managers_are_capped() -> None:
    live = update(None, cm({"k0": "0"}), "m0", now=T[0])
    for i in range(1, 12):
        new = copy.deepcopy(live)
        new["data"][f"k{i}"] = str(i)
        live = update(live, new, f"m{i}", now=T[i])
    managers = [e["manager"] for e in live["metadata"]["managedFields"]]
    assert len(managers) == 10
    assert managers[0] == "ancient-changes"
    assert owners(live)["ancient-changes/Update"] == {".data", ".data.k0", ".data.k1", ".data.k2"}


def test_encoding_order() -> None:
    entries = [
        {
            "manager": "b",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T[1],
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:a": {}},
        },
        {
            "manager": "a",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T[2],
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:b": {}},
        },
        {
            "manager": "z",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": T[3],
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:c": {}},
        },
        {
            "manager": "c",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T[1],
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:d": {}},
            "subresource": "status",
        },
    ]
    assert [e["manager"] for e in encode_managed_fields(decode_managed_fields(entries))] == ["z", "b", "c", "a"]


# --- structured-merge-diff scenarios (merge/*_test.go), on a bare schema ---------------------------
SMD_SCHEMA = Schema(
    {
        "type": "object",
        "properties": {
            "numeric": {"type": "integer"},
            "string": {"type": "string"},
            "bool": {"type": "boolean"},
            "set": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "list": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}, "value": {"type": "integer"}}},
            },
        },
    },
    {},
)

SMD_CASES: list[tuple[str, list[tuple[str, str, dict[str, Any]]], dict[str, Any], dict[str, set[str]]]] = [
    (
        "leaf apply_update_apply_with_conflict forced",
        [
            ("apply", "default", {"numeric": 1, "string": "string"}),
            ("update", "controller", {"numeric": 1, "string": "controller string", "bool": True}),
            ("force", "default", {"numeric": 2, "string": "user string"}),
        ],
        {"numeric": 2, "string": "user string", "bool": True},
        {"default/Apply": {".numeric", ".string"}, "controller/Update": {".bool"}},
    ),
    (
        "leaf update_apply_omits",
        [("apply", "default", {"numeric": 2}), ("update", "controller", {"numeric": 1}), ("apply", "default", {})],
        {"numeric": 1},
        {"controller/Update": {".numeric"}},
    ),
    (
        "leaf apply_twice_remove",
        [
            ("apply", "default", {"numeric": 1, "string": "string", "bool": False}),
            ("apply", "default", {"string": "new"}),
        ],
        {"string": "new"},
        {"default/Apply": {".string"}},
    ),
    (
        "set apply_update_apply_no_overlap",
        [
            ("apply", "default", {"set": ["a", "c"]}),
            ("update", "controller", {"set": ["a", "b", "c", "d"]}),
            ("apply", "default", {"set": ["a", "aprime", "c", "cprime"]}),
        ],
        {"set": ["a", "b", "aprime", "c", "d", "cprime"]},
        {
            "default/Apply": {'.set[="a"]', '.set[="aprime"]', '.set[="c"]', '.set[="cprime"]'},
            "controller/Update": {'.set[="b"]', '.set[="d"]'},
        },
    ),
    (
        "set apply_update_apply_with_overlap",
        [
            ("apply", "default", {"set": ["a", "c"]}),
            ("update", "controller", {"set": ["a", "b", "c", "d"]}),
            ("apply", "default", {"set": ["a", "b", "c"]}),
        ],
        {"set": ["a", "b", "c", "d"]},
        {
            "default/Apply": {'.set[="a"]', '.set[="b"]', '.set[="c"]'},
            "controller/Update": {'.set[="b"]', '.set[="d"]'},
        },
    ),
    (
        "multiple appliers remove_one",
        [
            ("apply", "apply-one", {"list": [{"name": "a"}, {"name": "b"}]}),
            ("apply", "apply-two", {"list": [{"name": "c"}]}),
            ("apply", "apply-one", {"list": [{"name": "a"}]}),
        ],
        {"list": [{"name": "a"}, {"name": "c"}]},
        {
            "apply-one/Apply": {'.list[name="a"]', '.list[name="a"].name'},
            "apply-two/Apply": {'.list[name="c"]', '.list[name="c"].name'},
        },
    ),
    (
        "multiple appliers remove_one_keep_one",
        [
            ("apply", "apply-one", {"list": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}),
            ("apply", "apply-two", {"list": [{"name": "c"}, {"name": "d"}]}),
            ("apply", "apply-one", {"list": [{"name": "a"}]}),
        ],
        {"list": [{"name": "a"}, {"name": "c"}, {"name": "d"}]},
        {
            "apply-one/Apply": {'.list[name="a"]', '.list[name="a"].name'},
            "apply-two/Apply": {'.list[name="c"]', '.list[name="c"].name', '.list[name="d"]', '.list[name="d"].name'},
        },
    ),
    (
        "multiple appliers same_value_no_conflict",
        [
            ("apply", "apply-one", {"list": [{"name": "a", "value": 0}]}),
            ("apply", "apply-two", {"list": [{"name": "a", "value": 0}]}),
        ],
        {"list": [{"name": "a", "value": 0}]},
        {
            m: {'.list[name="a"]', '.list[name="a"].name', '.list[name="a"].value'}
            for m in ("apply-one/Apply", "apply-two/Apply")
        },
    ),
]


@pytest.mark.parametrize(("ops", "final", "managed"), [c[1:] for c in SMD_CASES], ids=[c[0] for c in SMD_CASES])
def test_structured_merge_diff_scenarios(
    ops: list[tuple[str, str, dict[str, Any]]], final: dict[str, Any], managed: dict[str, set[str]]
) -> None:
    obj: dict[str, Any] | None = None
    for i, (op, manager, content) in enumerate(ops):
        content = {**content, "metadata": {"name": "x"}}
        if op == "update":
            obj = update(obj, content, manager, now=T[i], schema=SMD_SCHEMA)
        else:
            obj = apply(obj, content, manager, now=T[i], schema=SMD_SCHEMA, force=op == "force")
    assert obj is not None
    assert {k: v for k, v in obj.items() if k != "metadata"} == final
    assert owners(obj) == managed


def test_smd_change_value_yes_conflict() -> None:
    live = apply(None, {"metadata": {"name": "x"}, "list": [{"name": "a", "value": 0}]}, "apply-one", schema=SMD_SCHEMA)
    with pytest.raises(errors.Conflict) as info:
        apply(live, {"metadata": {"name": "x"}, "list": [{"name": "a", "value": 1}]}, "apply-two", schema=SMD_SCHEMA)
    assert info.value.causes[0].field == '.list[name="a"].value'
