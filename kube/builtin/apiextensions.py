"""apiextensions.k8s.io/v1 CustomResourceDefinition.

A CRD is admitted synchronously: defaulting, validation (structural schema and all), then its
names are checked against the other CRDs of the same logical cluster and group. Without conflicts
the CRD is NamesAccepted and Established in the create response itself (helm uses the new kinds
right after creating its crds/), and its resources are served from the next request on."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from kube import errors
from kube.errors import FieldErrors
from kube.registry import REGISTRY, Column, Strategy
from kube.registry.conditions import set_condition
from kube.registry.reserved import reserved_group_check
from kube.registry.strategy import ensure_finalizer
from kube.schema import crd as crd_schema
from kube.storage.models import StoredObject

if TYPE_CHECKING:
    from kube.registry.context import RequestContext

Obj = dict[str, Any]

GROUP = "apiextensions.k8s.io"
RESOURCE = "customresourcedefinitions"
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
_NAME_FIELDS = ("plural", "singular", "kind", "listKind")


def storage_version(crd: Obj) -> str:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if isinstance(v, dict) and v.get("storage"):
            return str(v.get("name", ""))
    return ""


def _claimed(names: Obj) -> set[tuple[str, str]]:
    """The (field kind, value) pairs a CRD claims: resource names and kind names separately."""
    out = set()
    for f in ("plural", "singular"):
        if names.get(f):
            out.add(("resource", str(names[f])))
    for s in names.get("shortNames") or []:
        out.add(("resource", str(s)))
    for f in ("kind", "listKind"):
        if names.get(f):
            out.add(("kind", str(names[f])))
    return out


def name_conflicts(*, cluster: str, crd: Obj) -> list[str]:
    """Names of `crd` already accepted for another CRD of the same group in the same cluster."""
    spec = crd.get("spec") or {}
    mine = _claimed(spec.get("names") or {})
    conflicts: list[str] = []
    others = (
        StoredObject.objects.filter(cluster=cluster, group=GROUP, resource=RESOURCE)
        .exclude(name=crd["metadata"]["name"])
        .filter(body__spec__group=spec.get("group"))
        .values_list("body", flat=True)
    )
    for other in others:
        accepted = (other.get("status") or {}).get("acceptedNames") or {}
        for _kind, value in sorted(mine & _claimed(accepted)):
            conflicts.append(f'"{value}" is already in use')
    return sorted(set(conflicts))


class CRDStrategy(Strategy):
    has_status_subresource = True
    qualified_finalizers = False  # apiextensions validates finalizers as qualified names only
    allow_unconditional_update = False
    tracks_generation = True

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        crd_schema.default_crd(obj)
        ensure_finalizer(obj, CLEANUP_FINALIZER)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        crd_schema.default_crd(new)

    def validate(self, obj: Obj) -> FieldErrors:
        return crd_schema.validate_crd(obj)

    def validate_update(self, new: Obj, old: Obj) -> FieldErrors:
        errs = crd_schema.validate_crd(new)
        errs.extend(crd_schema.validate_crd_update(new, old))
        return errs

    def admit(self, obj: Obj, old: Obj | None, *, ctx: RequestContext) -> None:
        """Compute NamesAccepted/Established, acceptedNames and storedVersions."""
        if not isinstance(obj.get("spec"), dict) or not isinstance(obj["spec"].get("names"), dict):
            return  # validation reports it
        if old is None:
            reserved_group_check(
                ctx=ctx,
                resource=RESOURCE,
                api_group=GROUP,
                name=str(obj["metadata"].get("name", "")),
                group=str(obj["spec"].get("group", "")),
            )
            _refuse_bound_names(ctx.cluster, obj)
        status = copy.deepcopy((old or {}).get("status") or obj.get("status") or {})
        conflicts = name_conflicts(cluster=ctx.cluster, crd=obj)
        names = {k: v for k, v in obj["spec"]["names"].items()}
        if conflicts:
            set_condition(
                status, type="NamesAccepted", status=False, reason="NameConflict", message=", ".join(conflicts)
            )
            set_condition(
                status, type="Established", status=False, reason="NotAccepted", message="not all names are accepted"
            )
            status.setdefault("acceptedNames", {"plural": "", "kind": ""})
        else:
            set_condition(status, type="NamesAccepted", status=True, reason="NoConflicts", message="no conflicts found")
            set_condition(
                status,
                type="Established",
                status=True,
                reason="InitialNamesAccepted",
                message="the initial names have been accepted",
            )
            status["acceptedNames"] = names
        stored = list(status.get("storedVersions") or [])
        version = storage_version(obj)
        if version and version not in stored:
            stored.append(version)
        status["storedVersions"] = stored
        obj["status"] = status

    def columns(self) -> list[Column]:
        return [Column("Created At", "string", lambda o: o["metadata"].get("creationTimestamp", ""))]

    append_age_column = False


def _refuse_bound_names(cluster: str, crd: Obj) -> None:
    """kcp: a workspace cannot define a CRD for a resource one of its APIBindings serves."""
    spec = crd["spec"]
    group, plural = spec.get("group", ""), spec["names"].get("plural", "")
    for info in REGISTRY.resources(cluster):
        if info.origin == "apibinding" and (info.group, info.resource) == (group, plural):
            raise errors.Forbidden(
                f'customresourcedefinitions.apiextensions.k8s.io "{crd["metadata"].get("name", "")}" is forbidden: '
                f"cannot create because resource {plural}.{group} is bound by an APIBinding",
                kind="customresourcedefinitions",
                group=GROUP,
                name=str(crd["metadata"].get("name", "")),
            )


def is_established(crd: Obj) -> bool:
    return any(
        c.get("type") == "Established" and c.get("status") == "True"
        for c in (crd.get("status") or {}).get("conditions") or []
        if isinstance(c, dict)
    )
