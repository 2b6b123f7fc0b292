"""apis.kcp.io kinds (reference/kcp.md §1.3): APIResourceSchema (immutable, CRD-like), APIExport
(identity), APIExportEndpointSlice, APIBinding. Status of exports and bindings is written by the
controllers only (kcp's "system CRD authorizer"): no /status subresource is served for them."""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import TYPE_CHECKING, Any

from kube import errors
from kube.errors import FieldErrors
from kube.registry import Column, ResourceInfo, Strategy
from kube.registry.reserved import reserved_group_check
from kube.registry.resources import Conversion
from kube.registry.strategy import ensure_finalizer, field
from kube.schema import Schema
from kube.schema import crd as crd_schema

from .admission import apibinding_admit
from .conversion import BINDING_V1ALPHA1, EXPORT_V1ALPHA1
from .models import APIBindingRow, APIExportEndpointSliceRow, APIExportRow, APIResourceSchemaRow
from .names import GROUP

if TYPE_CHECKING:
    from kube.registry.context import RequestContext

Obj = dict[str, Any]
IDENTITY_NAMESPACE = "kcp-system"
VERSION_NAME = re.compile(r"^v[1-9][0-9]*([a-z]+[1-9][0-9]*)?$")

_OPEN = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_REF = {"type": "object", "properties": {"path": {"type": "string"}, "name": {"type": "string"}}}


def _loader(spec: Obj, status: Obj | None = None) -> Any:
    node = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "spec": spec,
            **({"status": status} if status else {}),
        },
    }
    return functools.cache(functools.partial(Schema, node, {}))


class APIResourceSchemaStrategy(Strategy):
    allow_strategic_merge_patch = False

    def admit(self, obj: Obj, old: Obj | None, *, ctx: RequestContext) -> None:
        """A tenant's schema cannot define a kind in a system API group (kcp.io and below)."""
        spec = obj.get("spec")
        if old is None and isinstance(spec, dict):
            reserved_group_check(
                ctx=ctx,
                resource="apiresourceschemas",
                api_group=GROUP,
                name=str(obj["metadata"].get("name", "")),
                group=str(spec.get("group", "")),
            )

    def validate(self, obj: Obj) -> FieldErrors:
        """Name `<prefix>.<plural>.<group>`, and the spec a valid CRD spec (structural schemas…)."""
        errs = FieldErrors()
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            errs.required("spec")
            return errs
        names = spec.get("names") or {}
        group, plural = str(spec.get("group", "")), str(names.get("plural", "")) if isinstance(names, dict) else ""
        name = str(obj["metadata"].get("name", ""))
        suffix = f".{plural}.{group}" if group else f".{plural}.core"
        if not name.endswith(suffix) or len(name) <= len(suffix):
            errs.invalid("metadata.name", name, f"must be of the format <prefix>{suffix}")
        for i, v in enumerate(spec.get("versions") or []):
            if isinstance(v, dict) and not VERSION_NAME.match(str(v.get("name", ""))):
                errs.invalid(f"spec.versions[{i}].name", v.get("name"), "must match ^v[1-9][0-9]*([a-z]+[1-9][0-9]*)?$")
        as_crd = schema_as_crd(spec)
        if group:
            crd_schema.default_crd(as_crd)
            for cause in crd_schema.validate_crd(as_crd).causes:
                if cause.field != "metadata.name":
                    errs.causes.append(cause)
        return errs

    def validate_update(self, new: Obj, old: Obj) -> FieldErrors:
        errs = FieldErrors()
        if new.get("spec") != old.get("spec"):
            errs.invalid("spec", "", "APIResourceSchema is immutable")
        return errs

    def prepare_for_delete(self, obj: Obj) -> None:
        """kcp: a schema an APIExport of the same workspace lists cannot be deleted (its consumers
        would lose the API)."""
        md = obj["metadata"]
        cluster = (md.get("annotations") or {}).get("kcp.io/cluster", "")
        for export, resources in APIExportRow.objects.filter(cluster=cluster).values_list(
            "name", "body__spec__resources"
        ):
            if any(isinstance(r, dict) and r.get("schema") == md.get("name") for r in resources or []):
                raise errors.Forbidden(
                    f'apiresourceschemas.apis.kcp.io "{md.get("name")}" is forbidden: '
                    f'the schema is referenced by APIExport "{export}"',
                    kind="apiresourceschemas",
                    group=GROUP,
                    name=str(md.get("name", "")),
                )

    def columns(self) -> list[Column]:
        return []


def schema_as_crd(spec: Obj) -> Obj:
    """The CRD an APIResourceSchema spec describes (versions carry `schema` directly, a CRD
    `schema.openAPIV3Schema`): validated and served by the CRD machinery."""
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    group, plural = str(spec.get("group", "")), str((names or {}).get("plural", ""))
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}" if group else plural},
        "spec": {
            **{k: v for k, v in spec.items() if k not in ("versions", "nameValidation")},
            "versions": [
                {**v, "schema": {"openAPIV3Schema": v.get("schema") or {}}}
                for v in spec.get("versions") or []
                if isinstance(v, dict)
            ],
        },
    }


class APIExportStrategy(Strategy):
    has_status_subresource = True
    allow_strategic_merge_patch = False

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        identity = spec.setdefault("identity", {})
        if isinstance(identity, dict) and not identity.get("secretRef"):
            identity["secretRef"] = {"namespace": IDENTITY_NAMESPACE, "name": obj["metadata"].get("name", "")}

    def validate(self, obj: Obj) -> FieldErrors:
        errs = FieldErrors()
        for i, r in enumerate(field(obj, "spec", "resources") or []):
            if not isinstance(r, dict) or not r.get("name") or not r.get("schema"):
                errs.required(f"spec.resources[{i}]", "name and schema are required")
        for i, c in enumerate(field(obj, "spec", "permissionClaims") or []):
            if not isinstance(c, dict) or not c.get("resource") or not c.get("verbs"):
                errs.required(f"spec.permissionClaims[{i}]", "resource and verbs are required")
        return errs

    def validate_update(self, new: Obj, old: Obj) -> FieldErrors:
        errs = self.validate(new)
        old_hash = field(old, "status", "identityHash")
        if old_hash and field(new, "status", "identityHash") != old_hash:
            errs.invalid("status.identityHash", field(new, "status", "identityHash"), "field is immutable")
        return errs

    def columns(self) -> list[Column]:
        return []


class APIExportEndpointSliceStrategy(Strategy):
    has_status_subresource = True
    allow_strategic_merge_patch = False

    def validate_update(self, new: Obj, old: Obj) -> FieldErrors:
        errs = FieldErrors()
        if field(new, "spec", "export") != field(old, "spec", "export"):
            errs.invalid("spec.export", field(new, "spec", "export"), "field is immutable")
        return errs

    def columns(self) -> list[Column]:
        return [
            Column("Export", "string", lambda o: field(o, "spec", "export", "name") or ""),
            Column("Partition", "string", lambda o: field(o, "spec", "partition") or ""),
        ]


BINDING_FINALIZER = "apis.kcp.io/apibinding-finalizer"
CLAIM_STATES = ("Accepted", "Rejected")


class APIBindingStrategy(Strategy):
    """spec.reference.export is immutable; creating needs `bind` on the export (checked against
    the export workspace's RBAC, as kcp's admission does with a delegated SubjectAccessReview)."""

    has_status_subresource = True
    allow_strategic_merge_patch = False

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        ensure_finalizer(obj, BINDING_FINALIZER)

    def admit(self, obj: Obj, old: Obj | None, *, ctx: RequestContext) -> None:
        apibinding_admit(binding=obj, old=old, ctx=ctx)

    def validate(self, obj: Obj) -> FieldErrors:
        errs = FieldErrors()
        ref = field(obj, "spec", "reference", "export")
        if not isinstance(ref, dict) or not ref.get("name"):
            errs.required("spec.reference.export.name")
        elif not isinstance(ref.get("path", ""), str):
            errs.invalid("spec.reference.export.path", ref.get("path"), "must be a workspace path")
        claims = field(obj, "spec", "permissionClaims") or []
        if not isinstance(claims, list):
            errs.invalid("spec.permissionClaims", claims, "must be a list")
            return errs
        seen: set[tuple[str, str, str]] = set()
        for i, c in enumerate(claims):
            if not isinstance(c, dict) or not c.get("resource"):
                errs.required(f"spec.permissionClaims[{i}].resource")
                continue
            if c.get("state") not in CLAIM_STATES:
                errs.not_supported(f"spec.permissionClaims[{i}].state", c.get("state"), list(CLAIM_STATES))
            key = (str(c.get("group", "")), str(c["resource"]), str(c.get("identityHash", "")))
            if key in seen:
                errs.duplicate(f"spec.permissionClaims[{i}]", f"{c['resource']}.{c.get('group', '')}")
            seen.add(key)
        return errs

    def validate_update(self, new: Obj, old: Obj) -> FieldErrors:
        errs = self.validate(new)
        if field(new, "spec", "reference") != field(old, "spec", "reference"):
            errs.invalid("spec.reference", field(new, "spec", "reference"), "field is immutable")
        return errs

    def columns(self) -> list[Column]:
        return [
            Column(
                "Ready",
                "string",
                lambda o: next(
                    (
                        c.get("status", "")
                        for c in field(o, "status", "conditions") or []
                        if isinstance(c, dict) and c.get("type") == "Ready"
                    ),
                    "",
                ),
            )
        ]


def _derive_schema(body: Obj) -> dict[str, Any]:
    return {
        "api_group": str(field(body, "spec", "group") or ""),
        "plural": str(field(body, "spec", "names", "plural") or ""),
    }


def _derive_export(body: Obj) -> dict[str, Any]:
    return {"identity_hash": str(field(body, "status", "identityHash") or "")}


def _derive_binding(body: Obj) -> dict[str, Any]:
    return {
        "export_path": str(field(body, "spec", "reference", "export", "path") or ""),
        "export_name": str(field(body, "spec", "reference", "export", "name") or ""),
        "export_cluster": str(field(body, "status", "apiExportClusterName") or ""),
        "phase": str(field(body, "status", "phase") or ""),
    }


def _derive_slice(body: Obj) -> dict[str, Any]:
    return {
        "export_path": str(field(body, "spec", "export", "path") or ""),
        "export_name": str(field(body, "spec", "export", "name") or ""),
    }


API_RESOURCE_SCHEMAS = ResourceInfo(
    group=GROUP,
    table=APIResourceSchemaRow,
    promoted=_derive_schema,
    version="v1alpha1",
    resource="apiresourceschemas",
    kind="APIResourceSchema",
    namespaced=False,
    strategy=APIResourceSchemaStrategy(),
    categories=("kcp",),
    origin="kcp",
    schema_loader=_loader(
        {
            "type": "object",
            "properties": {
                "group": {"type": "string"},
                "names": _OPEN,
                "scope": {"type": "string"},
                "nameValidation": {"type": "string"},
                "conversion": _OPEN,
                "versions": {"type": "array", "items": _OPEN},
            },
        }
    ),
)
API_EXPORTS = ResourceInfo(
    group=GROUP,
    table=APIExportRow,
    promoted=_derive_export,
    version="v1alpha2",
    resource="apiexports",
    kind="APIExport",
    namespaced=False,
    strategy=APIExportStrategy(),
    categories=("kcp",),
    origin="kcp",
    schema_loader=_loader(
        {
            "type": "object",
            "properties": {
                "resources": {"type": "array", "items": _OPEN},
                "identity": {
                    "type": "object",
                    "properties": {
                        "secretRef": {
                            "type": "object",
                            "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}},
                        }
                    },
                },
                "maximalPermissionPolicy": _OPEN,
                "permissionClaims": {"type": "array", "items": _OPEN},
            },
        },
        {
            "type": "object",
            "properties": {
                "identityHash": {"type": "string"},
                "conditions": {"type": "array", "items": _OPEN},
                "virtualWorkspaces": {"type": "array", "items": _OPEN},
            },
        },
    ),
)
API_EXPORT_ENDPOINT_SLICES = ResourceInfo(
    group=GROUP,
    table=APIExportEndpointSliceRow,
    promoted=_derive_slice,
    version="v1alpha1",
    resource="apiexportendpointslices",
    kind="APIExportEndpointSlice",
    namespaced=False,
    strategy=APIExportEndpointSliceStrategy(),
    categories=("kcp",),
    subresources=("status",),
    origin="kcp",
    schema_loader=_loader(
        {"type": "object", "properties": {"export": _REF, "partition": {"type": "string"}}},
        {
            "type": "object",
            "properties": {
                "endpoints": {"type": "array", "items": _OPEN},
                "conditions": {"type": "array", "items": _OPEN},
                "shardSelector": _OPEN,
            },
        },
    ),
)


API_BINDINGS = ResourceInfo(
    group=GROUP,
    table=APIBindingRow,
    promoted=_derive_binding,
    version="v1alpha2",
    resource="apibindings",
    kind="APIBinding",
    namespaced=False,
    strategy=APIBindingStrategy(),
    categories=("kcp",),
    origin="kcp",
    schema_loader=_loader(
        {
            "type": "object",
            "properties": {
                "reference": {"type": "object", "properties": {"export": _REF}},
                "permissionClaims": {"type": "array", "items": _OPEN},
            },
        },
        {
            "type": "object",
            "properties": {
                "apiExportClusterName": {"type": "string"},
                "boundResources": {"type": "array", "items": _OPEN},
                "phase": {"type": "string"},
                "conditions": {"type": "array", "items": _OPEN},
                "appliedPermissionClaims": {"type": "array", "items": _OPEN},
                "exportPermissionClaims": {"type": "array", "items": _OPEN},
            },
        },
    ),
)


def _v1alpha1(info: ResourceInfo, conversion: Conversion, spec_properties: Obj) -> ResourceInfo:
    """The same kind served at v1alpha1 (stored at v1alpha2, converted on the way in and out)."""
    return dataclasses.replace(
        info,
        version="v1alpha1",
        conversion=conversion,
        schema_loader=_loader({"type": "object", "properties": spec_properties}, _OPEN),
    )


API_EXPORTS_V1ALPHA1 = _v1alpha1(
    API_EXPORTS,
    EXPORT_V1ALPHA1,
    {
        "latestResourceSchemas": {"type": "array", "items": {"type": "string"}},
        "identity": _OPEN,
        "maximalPermissionPolicy": _OPEN,
        "permissionClaims": {"type": "array", "items": _OPEN},
    },
)
API_BINDINGS_V1ALPHA1 = _v1alpha1(
    API_BINDINGS,
    BINDING_V1ALPHA1,
    {
        "reference": {"type": "object", "properties": {"export": _REF}},
        "permissionClaims": {"type": "array", "items": _OPEN},
    },
)
KINDS = (
    API_RESOURCE_SCHEMAS,
    API_EXPORTS,
    API_EXPORT_ENDPOINT_SLICES,
    API_BINDINGS,
    API_EXPORTS_V1ALPHA1,
    API_BINDINGS_V1ALPHA1,
)
