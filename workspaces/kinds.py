"""tenancy.kcp.io Workspace and WorkspaceType, core.kcp.io LogicalCluster: schemas, strategies
and registration into kube's registry (kcp's shapes, reference/kcp.md §1.1–1.2)."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from kube import errors
from kube.errors import FieldErrors
from kube.registry import Column, ResourceInfo, Strategy
from kube.registry.strategy import ensure_finalizer, field
from kube.schema import Schema
from kube.selectors import label_selector_from_dict

from .admission import logicalcluster_admit_change, workspace_admit_type, workspace_type_use_check, workspace_types
from .models import LogicalClusterRow, WorkspaceRow, WorkspaceTypeRow
from .names import (
    CORE,
    LC_FINALIZER,
    OWNER_ANNOTATION,
    PATH_ANNOTATION,
    SEGMENT,
    SHARD_ANNOTATION,
    TENANCY,
    TYPE_ANNOTATION,
    VERSION,
)

if TYPE_CHECKING:
    from kube.registry.context import RequestContext

Obj = dict[str, Any]

_TYPE_REF = {"type": "object", "properties": {"name": {"type": "string"}, "path": {"type": "string"}}}
_CONDITIONS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "status": {"type": "string"},
            "severity": {"type": "string"},
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "reason": {"type": "string"},
            "message": {"type": "string"},
        },
    },
}
_ALLOWED = {
    "type": "object",
    "properties": {"none": {"type": "boolean"}, "types": {"type": "array", "items": _TYPE_REF}},
}

WORKSPACE_SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "type": _TYPE_REF,
                "location": {
                    "type": "object",
                    "properties": {"selector": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                },
                "cluster": {"type": "string"},
                "URL": {"type": "string"},
                "mount": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
        "status": {
            "type": "object",
            "properties": {
                "phase": {"type": "string"},
                "conditions": _CONDITIONS,
                "initializers": {"type": "array", "items": {"type": "string"}},
                "terminators": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}

WORKSPACE_TYPE_SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "initializer": {"type": "boolean"},
                "terminator": {"type": "boolean"},
                "extend": {"type": "object", "properties": {"with": {"type": "array", "items": _TYPE_REF}}},
                "additionalWorkspaceLabels": {"type": "object", "additionalProperties": {"type": "string"}},
                "defaultChildWorkspaceType": _TYPE_REF,
                "limitAllowedChildren": _ALLOWED,
                "limitAllowedParents": _ALLOWED,
                "defaultAPIBindings": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"path": {"type": "string"}, "export": {"type": "string"}},
                    },
                },
            },
        },
        "status": {
            "type": "object",
            "properties": {
                "conditions": _CONDITIONS,
                "virtualWorkspaces": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"url": {"type": "string"}}},
                },
            },
        },
    },
}

LOGICAL_CLUSTER_SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "directlyDeletable": {"type": "boolean"},
                "owner": {
                    "type": "object",
                    "properties": {
                        k: {"type": "string"} for k in ("apiVersion", "resource", "name", "namespace", "cluster", "uid")
                    },
                },
                "createdBy": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "initializers": {"type": "array", "items": {"type": "string"}},
                "terminators": {"type": "array", "items": {"type": "string"}},
            },
        },
        "status": {
            "type": "object",
            "properties": {
                "URL": {"type": "string"},
                "phase": {"type": "string"},
                "conditions": _CONDITIONS,
                "initializers": {"type": "array", "items": {"type": "string"}},
                "terminators": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}


def _full(schema: Obj) -> Obj:
    return {
        **schema,
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            **schema["properties"],
        },
    }


def _loader(schema: Obj) -> Any:
    return functools.cache(functools.partial(Schema, _full(schema), {}))


class WorkspaceStrategy(Strategy):
    has_status_subresource = True
    name_is_dns_label = True
    allow_strategic_merge_patch = False
    field_labels = ("status.phase",)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        obj["status"] = {"phase": "Scheduling"}
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            spec = obj["spec"] = {}
        for system_field in ("cluster", "URL"):
            spec.pop(system_field, None)
        ensure_finalizer(obj, LC_FINALIZER)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        spec = new.get("spec")
        if not isinstance(spec, dict):
            spec = new["spec"] = {}
        old_spec = old.get("spec") or {}
        for system_field in ("cluster", "URL", "type"):  # set by the system; type is immutable
            if system_field in old_spec:
                spec[system_field] = old_spec[system_field]
            else:
                spec.pop(system_field, None)

    def admit(self, obj: Obj, old: Obj | None, *, ctx: RequestContext) -> None:
        if old is not None:
            if obj.get("status") != old.get("status") and not ctx.user.is_admin:
                # kcp serves workspaces/status read-only to users: phase, initializers and
                # conditions mirror the logical cluster and are the reconciler's to write.
                raise errors.Forbidden(
                    f'workspaces.tenancy.kcp.io "{old["metadata"]["name"]}" is forbidden: '
                    "the status of a workspace is written by the system",
                    name=old["metadata"]["name"],
                    group=TENANCY,
                    kind="workspaces",
                )
            return
        types = workspace_types()  # one read of the types for both checks
        workspace_admit_type(workspace=obj, parent_cluster=ctx.cluster, types=types)
        workspace_type_use_check(user=ctx.user, type_name=obj["spec"]["type"]["name"], types=types)
        obj["metadata"].setdefault("annotations", {})[OWNER_ANNOTATION] = json.dumps(
            {"username": ctx.user.name, "groups": list(ctx.user.groups)}, separators=(",", ":")
        )

    def validate(self, obj: Obj) -> FieldErrors:
        errs = FieldErrors()
        name = obj["metadata"].get("name", "")
        if name and not SEGMENT.match(name):
            errs.invalid("metadata.name", name, "must match ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
        location = (obj.get("spec") or {}).get("location")
        selector = location.get("selector") if isinstance(location, dict) else None
        if selector is not None:
            # Placement matches shards' labels with it: a selector that cannot be parsed would
            # match nothing and leave the workspace Unschedulable forever instead of saying why.
            try:
                label_selector_from_dict(selector)
            except errors.BadRequest as exc:
                errs.invalid("spec.location.selector", selector, exc.message)
        return errs

    def columns(self) -> list[Column]:
        return [
            Column("Type", "string", lambda o: field(o, "spec", "type", "name") or ""),
            Column("Region", "string", lambda o: (o["metadata"].get("labels") or {}).get("region", "")),
            Column("Phase", "string", lambda o: field(o, "status", "phase") or ""),
            Column("URL", "string", lambda o: field(o, "spec", "URL") or ""),
        ]


class WorkspaceTypeStrategy(Strategy):
    allow_strategic_merge_patch = False

    def validate(self, obj: Obj) -> FieldErrors:
        errs = FieldErrors()
        if obj["metadata"].get("name") in ("any", "system"):
            errs.invalid("metadata.name", obj["metadata"]["name"], "is a reserved name")
        return errs

    def columns(self) -> list[Column]:
        return []


class LogicalClusterStrategy(Strategy):
    has_status_subresource = True
    allow_strategic_merge_patch = False
    qualified_finalizers = False

    def admit(self, obj: Obj, old: Obj | None, *, ctx: RequestContext) -> None:
        if old is None:
            if not ctx.user.is_admin:
                raise errors.Forbidden("logicalclusters are created by the system", kind="logicalclusters")
            return
        logicalcluster_admit_change(user=ctx.user, new=obj, old=old)

    def admit_delete(self, obj: Obj, *, ctx: RequestContext) -> None:
        logicalcluster_admit_change(user=ctx.user, new=None, old=obj)

    def validate(self, obj: Obj) -> FieldErrors:
        errs = FieldErrors()
        if obj["metadata"].get("name") != "cluster":
            errs.not_supported("metadata.name", obj["metadata"].get("name"), ["cluster"])
        return errs

    def columns(self) -> list[Column]:
        return [
            Column("Phase", "string", lambda o: field(o, "status", "phase") or ""),
            Column("URL", "string", lambda o: field(o, "status", "URL") or ""),
        ]


def _derive_workspace(body: Obj) -> dict[str, Any]:
    return {
        "phase": str(field(body, "status", "phase") or ""),
        "type_name": str(field(body, "spec", "type", "name") or ""),
        "type_path": str(field(body, "spec", "type", "path") or ""),
        "logical_cluster": str(field(body, "spec", "cluster") or ""),
    }


def _derive_logical_cluster(body: Obj) -> dict[str, Any]:
    annotations = body.get("metadata", {}).get("annotations") or {}
    return {
        "path": str(annotations.get(PATH_ANNOTATION, "")),
        "type": str(annotations.get(TYPE_ANNOTATION, "")),
        "shard": str(annotations.get(SHARD_ANNOTATION, "")),
        "phase": str(field(body, "status", "phase") or ""),
    }


WORKSPACES = ResourceInfo(
    table=WorkspaceRow,
    promoted=_derive_workspace,
    group=TENANCY,
    version=VERSION,
    resource="workspaces",
    kind="Workspace",
    namespaced=False,
    strategy=WorkspaceStrategy(),
    short_names=("ws",),
    categories=("kcp",),
    subresources=("status",),
    origin="kcp",
    schema_loader=_loader(WORKSPACE_SCHEMA),
)
WORKSPACE_TYPES = ResourceInfo(
    table=WorkspaceTypeRow,
    group=TENANCY,
    version=VERSION,
    resource="workspacetypes",
    kind="WorkspaceType",
    namespaced=False,
    strategy=WorkspaceTypeStrategy(),
    categories=("kcp",),
    origin="kcp",
    schema_loader=_loader(WORKSPACE_TYPE_SCHEMA),
)
LOGICAL_CLUSTERS = ResourceInfo(
    table=LogicalClusterRow,
    promoted=_derive_logical_cluster,
    group=CORE,
    version=VERSION,
    resource="logicalclusters",
    kind="LogicalCluster",
    namespaced=False,
    strategy=LogicalClusterStrategy(),
    categories=("kcp",),
    subresources=("status",),
    origin="kcp",
    schema_loader=_loader(LOGICAL_CLUSTER_SCHEMA),
)
KINDS = (WORKSPACES, WORKSPACE_TYPES, LOGICAL_CLUSTERS)
