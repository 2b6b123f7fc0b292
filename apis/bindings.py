"""APIBindings (reference/kcp.md §4): admission (the `bind` check), reconciliation (resolve the
export → check names → Bound), the resources a consumer serves through its bindings, unbinding.

Bound objects are stored under `<resource>:<identityHash>` (ResourceInfo.storage_resource), so two
providers exporting the same group/resource never share rows, and the provider's wildcard view of
one export reads exactly that export's rows: its cost follows the result, not the number of
consumers."""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
from typing import Any

from django.db import transaction
from django.db.models import Q

from kube import errors
from kube.authz.authorizer import authorize, effective_user, policy_for
from kube.authz.rbac import Attributes, forbidden_message
from kube.authz.user import UserInfo
from kube.builtin.apiextensions import GROUP as CRD_GROUP
from kube.builtin.apiextensions import RESOURCE as CRD_RESOURCE
from kube.builtin.customresources import resource_infos
from kube.registry import REGISTRY, ResourceInfo
from kube.registry.context import RequestContext
from kube.registry.purge import purge, remove_finalizer
from kube.registry.strategy import field
from kube.storage import backend
from kube.storage.backend import Key
from kube.storage.signature import SignatureCache
from kube.timefmt import now_rfc3339

from .kinds import BINDING_FINALIZER, GROUP, schema_as_crd
from .models import APIBindingRow, APIExportRow, APIResourceSchemaRow

Obj = dict[str, Any]
BINDING_PREFIX = "apis.kcp.io:binding:"


# --- names and labels -----------------------------------------------------------------------------


def export_key(*, export_cluster: str, export_name: str) -> str:
    """A stable short key of one export (label keys name exports by it)."""
    return hashlib.sha224(f"{export_cluster}:{export_name}".encode()).hexdigest()


def export_label(*, export_cluster: str, export_name: str) -> str:
    """Carried by every APIBinding of the export: the provider's view lists them by it."""
    return "internal.apis.kcp.io/export-" + export_key(export_cluster=export_cluster, export_name=export_name)


def claim_label(*, export_cluster: str, export_name: str) -> str:
    """Carried by every consumer object the export's accepted claims reach."""
    return "claimed.internal.apis.kcp.io/" + export_key(export_cluster=export_cluster, export_name=export_name)


def bound_storage_resource(*, resource: str, identity_hash: str) -> str:
    return f"{resource}:{identity_hash}"


def export_cluster_for(*, consumer: str, path: str) -> str | None:
    """The logical cluster of `spec.reference.export.path` (empty: the consumer itself)."""
    from workspaces.services import cluster_resolve

    if not path:
        return consumer
    return cluster_resolve(path)


# --- admission ------------------------------------------------------------------------------------


def apibinding_admit(*, binding: Obj, old: Obj | None, ctx: RequestContext) -> None:
    """Creating a binding needs `bind` on the export in the export's workspace (403 in kcp's words
    otherwise, the same whether or not the export exists); every write keeps the export label."""
    ref = field(binding, "spec", "reference", "export") or {}
    if not isinstance(ref, dict) or not ref.get("name"):
        return  # validation reports it
    path, name = str(ref.get("path") or ""), str(ref["name"])
    export_cluster = export_cluster_for(consumer=ctx.cluster, path=path)
    if old is None:
        apibinding_bind_check(user=ctx.user, export_cluster=export_cluster, export_path=path, export_name=name)
    if export_cluster:
        labels = binding.setdefault("metadata", {}).setdefault("labels", {})
        if isinstance(labels, dict):
            labels[export_label(export_cluster=export_cluster, export_name=name)] = ""


def apibinding_bind_check(*, user: UserInfo, export_cluster: str | None, export_path: str, export_name: str) -> None:
    if user.is_admin:
        return
    message = f'unable to create APIBinding: no permission to bind to export "{export_path or "."}:{export_name}"'
    if export_cluster is None:
        raise errors.Forbidden(message, kind="apibindings", group=GROUP)
    actor = effective_user(user, export_cluster)
    try:
        authorize(
            actor,
            export_cluster,
            Attributes.for_resource(actor, "bind", "apiexports", api_group=GROUP, name=export_name),
        )
    except errors.Forbidden:
        raise errors.Forbidden(message, kind="apibindings", group=GROUP) from None


# --- reconciliation -------------------------------------------------------------------------------


def apibinding_changed(cluster: str, obj: Obj, event_type: str) -> None:
    if event_type == "DELETED":
        return
    from .tasks import reconcile_apibinding

    reconcile_apibinding.delay(cluster, obj["metadata"]["name"])


def _binding_key(cluster: str, name: str) -> Key:
    return Key(cluster, GROUP, "apibindings", "", name)


def _condition(status: Obj, type_: str, value: bool, reason: str = "", message: str = "") -> None:
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    old = next((c for c in conditions if c.get("type") == type_), None)
    new = {"type": type_, "status": "True" if value else "False"}
    if reason:
        new["reason"] = reason
    if message:
        new["message"] = message
    new["lastTransitionTime"] = (
        old["lastTransitionTime"]
        if old and old.get("status") == new["status"] and old.get("lastTransitionTime")
        else now_rfc3339()
    )
    if old and {k: v for k, v in old.items() if k != "lastTransitionTime"} == {
        k: v for k, v in new.items() if k != "lastTransitionTime"
    }:
        new = old
    status["conditions"] = [c for c in conditions if c.get("type") != type_] + [new]


def _is_true(status: Obj, type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in status.get("conditions") or [])


def apibinding_reconcile(*, cluster: str, name: str) -> str:
    """One pass: deletion, export resolution, schemas and names, claims, phase. Returns the phase
    ("" when the binding is gone). Idempotent; writes only when the status changes."""
    binding = backend.get(_binding_key(cluster, name))
    if binding is None:
        return ""
    if binding["metadata"].get("deletionTimestamp"):
        return "" if apibinding_unbind(cluster=cluster, name=name) else "Deleting"
    status = apibinding_status(cluster=cluster, binding=binding)
    with transaction.atomic():
        current = backend.get(_binding_key(cluster, name), for_update=True)
        if current is None:
            return ""
        if current.get("status") != status:
            new = copy.deepcopy(current)
            new["status"] = status
            backend.update(_binding_key(cluster, name), new, prev_labels=current["metadata"].get("labels") or {})
    old_claims = field(binding, "status", "appliedPermissionClaims") or []
    if status.get("appliedPermissionClaims") != old_claims or status.get("phase") == "Bound":
        from .claims import apibinding_claims_sync

        transaction.on_commit(lambda: apibinding_claims_sync(cluster=cluster, name=name))
    return str(status.get("phase") or "")


def apibinding_status(*, cluster: str, binding: Obj) -> Obj:
    """The status the binding should have now (pure apart from reads)."""
    status = copy.deepcopy(binding.get("status") or {})
    status.setdefault("phase", "Binding")
    ref = field(binding, "spec", "reference", "export") or {}
    path, export_name = str(ref.get("path") or ""), str(ref.get("name") or "")
    export_cluster = export_cluster_for(consumer=cluster, path=path)
    export = (
        backend.get(Key(export_cluster, GROUP, "apiexports", "", export_name)) if export_cluster is not None else None
    )
    if export is None or export["metadata"].get("deletionTimestamp"):
        _condition(
            status,
            "APIExportValid",
            False,
            "APIExportNotFound",
            f'APIExport "{path or "."}:{export_name}" not found',
        )
        _condition(status, "Ready", False, "APIExportNotFound", "the export is not available")
        return status
    assert export_cluster is not None
    status["apiExportClusterName"] = export_cluster
    identity = str(field(export, "status", "identityHash") or "")
    if not identity:
        _condition(status, "APIExportValid", False, "APIExportNotReady", "the export has no identity yet")
        _condition(status, "Ready", False, "APIExportNotReady", "waiting for the export's identity")
        return status
    _condition(status, "APIExportValid", True)
    resources, problems = _bound_resources_of(
        cluster=cluster, binding=binding, export=export, export_cluster=export_cluster, identity=identity
    )
    initial_done = _is_true(status, "InitialBindingCompleted")
    if problems:
        reason, message = problems[0][0], "; ".join(p[1] for p in problems)
        _condition(status, "BindingUpToDate", False, reason, message)
        if not initial_done:
            _condition(status, "InitialBindingCompleted", False, reason, message)
            _condition(status, "Ready", False, reason, message)
            return status
    else:
        _condition(status, "BindingUpToDate", True)
        status["boundResources"] = resources
    _condition(status, "InitialBindingCompleted", True)
    status["phase"] = "Bound"
    _apply_claims(status, binding=binding, export=export)
    _condition(status, "Ready", True)
    return status


def _bound_resources_of(
    *, cluster: str, binding: Obj, export: Obj, export_cluster: str, identity: str
) -> tuple[list[Obj], list[tuple[str, str]]]:
    resources: list[Obj] = []
    problems: list[tuple[str, str]] = []
    for entry in field(export, "spec", "resources") or []:
        if not isinstance(entry, dict):
            continue
        schema_name = str(entry.get("schema") or "")
        schema = backend.get(Key(export_cluster, GROUP, "apiresourceschemas", "", schema_name))
        if schema is None:
            problems.append(("APIResourceSchemaInvalid", f'APIResourceSchema "{schema_name}" not found'))
            continue
        spec = schema.get("spec") or {}
        group, plural = str(spec.get("group", "")), str(field(spec, "names", "plural") or "")
        conflict = _naming_conflict(cluster=cluster, binding=binding, spec=spec, identity=identity)
        if conflict:
            problems.append(("NamingConflicts", conflict))
            continue
        storage = next((v["name"] for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("storage")), "")
        resources.append(
            {
                "group": group,
                "resource": plural,
                "schema": {"name": schema_name, "UID": schema["metadata"].get("uid", ""), "identityHash": identity},
                "storageVersions": [storage] if storage else [],
            }
        )
    return resources, problems


def _naming_conflict(*, cluster: str, binding: Obj, spec: Obj, identity: str) -> str:
    """kcp: a bound resource may not take names a local CRD, a built-in or another binding holds."""
    group, names = str(spec.get("group", "")), spec.get("names") or {}
    plural, kind = str(names.get("plural", "")), str(names.get("kind", ""))
    for info in REGISTRY.builtins():
        if info.group == group and (info.resource == plural or info.kind == kind):
            return f"{plural}.{group or 'core'} conflicts with the built-in resource {info.qualified}"
    crds = backend.list_objects(backend.ListScope(cluster, CRD_GROUP, CRD_RESOURCE)).items
    for crd in crds:
        crd_spec = crd.get("spec") or {}
        crd_names = crd_spec.get("names") or {}
        if crd_spec.get("group") == group and (crd_names.get("plural") == plural or crd_names.get("kind") == kind):
            return f'{plural}.{group} conflicts with CustomResourceDefinition "{crd["metadata"]["name"]}"'
    own = binding["metadata"]["name"]
    others = APIBindingRow.objects.filter(cluster=cluster).exclude(name=own).values_list("name", "body")
    for other_name, other in others:
        for bound in field(other, "status", "boundResources") or []:
            if (
                isinstance(bound, dict)
                and bound.get("group") == group
                and bound.get("resource") == plural
                and field(bound, "schema", "identityHash") != identity
            ):
                return f'{plural}.{group} is already bound by APIBinding "{other_name}"'
    return ""


def claim_key(claim: Obj) -> tuple[str, str, str]:
    """(group, resource, identityHash): what a claim is about, in the export and the binding."""
    return (str(claim.get("group", "")), str(claim.get("resource", "")), str(claim.get("identityHash", "")))


def _verbs(export_verbs: list[str], binding_verbs: list[str] | None) -> list[str]:
    if binding_verbs is None or "*" in binding_verbs:
        return list(export_verbs)
    if "*" in export_verbs:
        return list(binding_verbs)
    return [v for v in export_verbs if v in binding_verbs]


def _apply_claims(status: Obj, *, binding: Obj, export: Obj) -> None:
    """exportPermissionClaims: what the export asks; appliedPermissionClaims: what this binding
    accepted of it (verbs = export ∩ binding). A binding claim the export does not make is invalid."""
    exported = [c for c in field(export, "spec", "permissionClaims") or [] if isinstance(c, dict)]
    by_key = {claim_key(c): c for c in exported}
    status["exportPermissionClaims"] = exported
    applied: list[Obj] = []
    invalid: list[str] = []
    for claim in field(binding, "spec", "permissionClaims") or []:
        if not isinstance(claim, dict):
            continue
        offered = by_key.get(claim_key(claim))
        if offered is None:
            invalid.append(f"{claim.get('resource')}.{claim.get('group', '') or 'core'}")
            continue
        if claim.get("state") == "Accepted":
            verbs = _verbs(list(offered.get("verbs") or []), claim.get("verbs"))
            applied.append({**{k: v for k, v in claim.items() if k != "state"}, "verbs": verbs})
    status["appliedPermissionClaims"] = applied
    if invalid:
        _condition(
            status,
            "PermissionClaimsValid",
            False,
            "InvalidPermissionClaims",
            "claims not made by the export: " + ", ".join(invalid),
        )
    else:
        _condition(status, "PermissionClaimsValid", True)
    _condition(status, "PermissionClaimsApplied", True)


# --- deletion -------------------------------------------------------------------------------------


def apibinding_unbind(*, cluster: str, name: str) -> bool:
    """Delete every bound object of the binding in this workspace, release claimed objects, then
    the finalizer. True once the binding is gone."""
    binding = backend.get(_binding_key(cluster, name))
    if binding is None:
        return True
    scope = Q(pk__in=[])
    for bound in field(binding, "status", "boundResources") or []:
        identity = str(field(bound, "schema", "identityHash") or "")
        if _still_bound_elsewhere(cluster=cluster, name=name, bound=bound):
            continue
        scope |= Q(
            group=bound.get("group", ""),
            resource=bound_storage_resource(resource=str(bound.get("resource", "")), identity_hash=identity),
        )
    if purge(cluster=cluster, scope=scope):
        return False
    from .claims import apibinding_claims_release

    apibinding_claims_release(cluster=cluster, binding=binding)
    return remove_finalizer(key=_binding_key(cluster, name), finalizer=BINDING_FINALIZER) is None


def _still_bound_elsewhere(*, cluster: str, name: str, bound: Obj) -> bool:
    """Another binding of the same workspace serving the same identity keeps the objects."""
    for other in APIBindingRow.objects.filter(cluster=cluster).exclude(name=name).values_list("body", flat=True):
        if other["metadata"].get("deletionTimestamp"):
            continue
        for b in field(other, "status", "boundResources") or []:
            if (b.get("group"), b.get("resource"), field(b, "schema", "identityHash")) == (
                bound.get("group"),
                bound.get("resource"),
                field(bound, "schema", "identityHash"),
            ):
                return True
    return False


def apibindings_of_export(*, export_cluster: str, export_name: str) -> list[tuple[str, str]]:
    """(consumer cluster, binding name) of every binding that resolved to the export."""
    return list(
        APIBindingRow.objects.filter(export_cluster=export_cluster, export_name=export_name).values_list(
            "cluster", "name"
        )
    )


# --- serving in the consumer ----------------------------------------------------------------------

CACHE: SignatureCache[list[ResourceInfo]] = SignatureCache(4096)


def bound_resources(cluster: str) -> list[ResourceInfo]:
    """What `cluster` serves through its bindings; cached per cluster behind a one-row signature
    of its bindings, and per schema across clusters (a thousand consumers of one export share
    one set of ResourceInfos)."""
    if cluster == "*":
        return []
    return CACHE.fetch(cluster, APIBindingRow, _bound_infos, [])


def _bound_infos(rows: Any) -> list[ResourceInfo]:
    infos: list[ResourceInfo] = []
    for binding in rows.order_by("name").values_list("body", flat=True):
        export_cluster = str(field(binding, "status", "apiExportClusterName") or "")
        export_name = str(field(binding, "spec", "reference", "export", "name") or "")
        check = maximal_permission_policy(export_cluster=export_cluster, export_name=export_name)
        for bound in field(binding, "status", "boundResources") or []:
            if not isinstance(bound, dict):
                continue
            served = schema_infos(
                export_cluster=export_cluster,
                schema_name=str(field(bound, "schema", "name") or ""),
                uid=str(field(bound, "schema", "UID") or ""),
                identity_hash=str(field(bound, "schema", "identityHash") or ""),
            )
            infos.extend(dataclasses.replace(i, origin="apibinding", authorizer=check) for i in served)
    return infos


def schema_infos(*, export_cluster: str, schema_name: str, uid: str, identity_hash: str) -> tuple[ResourceInfo, ...]:
    """The ResourceInfos an APIResourceSchema serves under an export's identity (storage keyed
    `<resource>:<identityHash>`); () when the schema is gone or is not the one (UID) bound.
    Schemas are immutable, so the answer is cached for the process."""
    return _schema_infos(export_cluster, schema_name, uid, identity_hash)


@functools.lru_cache(maxsize=1024)
def _schema_infos(export_cluster: str, schema_name: str, uid: str, identity_hash: str) -> tuple[ResourceInfo, ...]:
    body = (
        APIResourceSchemaRow.objects.filter(cluster=export_cluster, name=schema_name)
        .values_list("body", flat=True)
        .first()
    )
    if body is None or body["metadata"].get("uid") != uid:
        return ()
    return tuple(
        dataclasses.replace(
            info, storage_resource=bound_storage_resource(resource=info.resource, identity_hash=identity_hash)
        )
        for info in resource_infos(schema_as_crd(body.get("spec") or {}))
    )


def maximal_permission_policy(*, export_cluster: str, export_name: str) -> Any:
    """kcp's maximal permission policy: with `spec.maximalPermissionPolicy.local`, a request on a
    bound resource must also be allowed by the export workspace's RBAC for the user and groups
    prefixed `apis.kcp.io:binding:`. Read per request, so a policy change applies at once."""

    def check(attrs: Attributes) -> None:
        local = (
            APIExportRow.objects.filter(cluster=export_cluster, name=export_name)
            .values_list("body__spec__maximalPermissionPolicy__local", flat=True)
            .first()
        )
        if local is None:
            return
        user = attrs.user
        prefixed = UserInfo(
            name=BINDING_PREFIX + user.name,
            groups=tuple(BINDING_PREFIX + g for g in user.groups),
        )
        if not policy_for(export_cluster).authorize(dataclasses.replace(attrs, user=prefixed)).allowed:
            raise errors.Forbidden(
                forbidden_message(attrs)
                + f': not permitted by the maximal permission policy of APIExport "{export_name}"',
                kind=attrs.resource,
                group=attrs.api_group,
                name=attrs.name,
            )

    return check
