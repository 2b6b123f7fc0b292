"""APIBindings (reference/kcp.md §4): reconciliation, the resources a consumer serves through
its bindings, unbinding. (Admission, the `bind` check, is apis.admission.)

`apibinding_reconcile` unbinds a binding being deleted (`apibinding_unbind`: bound objects
purged, claimed objects released, the finalizer removed); otherwise BINDING_STEPS run in order on
a `BindingPass`, each a function testable alone that returns True to hand over or False to stop
with the status computed so far:

1. `binding_export_step`: resolve spec.reference.export (missing or deleting: stop);
2. `binding_identity_step`: the export has its identity (not yet: stop);
3. `binding_resources_step`: the export's schemas under names nothing else holds → boundResources
   (a problem stops a first binding; a bound one keeps what it serves);
4. `binding_claims_step`: exportPermissionClaims / appliedPermissionClaims;
5. `binding_ready_step`: Ready.

The status is written by one guaranteed status update, only when it changed (conditions follow
kube's lastTransitionTime rule, so an unchanged world recomputes an equal status); the claims
relabelling follows after commit.

Bound objects are stored under `<resource>:<identityHash>` (ResourceInfo.storage_resource), so two
providers exporting the same group/resource never share rows, and the provider's wildcard view of
one export reads exactly that export's rows: its cost follows the result, not the number of
consumers."""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q

from kube import errors
from kube.authz.authorizer import policy_for
from kube.authz.rbac import Attributes, forbidden_message
from kube.authz.user import UserInfo
from kube.builtin.apiextensions import GROUP as CRD_GROUP
from kube.builtin.apiextensions import RESOURCE as CRD_RESOURCE
from kube.builtin.customresources import resource_infos
from kube.registry import REGISTRY, ResourceInfo
from kube.registry.conditions import condition_is_true, set_condition
from kube.registry.context import RequestContext
from kube.registry.purge import purge, remove_finalizer
from kube.registry.store import STORE
from kube.registry.strategy import field
from kube.storage.signature import SignatureCache

from .admission import export_cluster_for
from .claims import apibinding_claims_release, apibinding_claims_sync
from .kinds import API_BINDINGS, API_EXPORTS, API_RESOURCE_SCHEMAS, BINDING_FINALIZER, schema_as_crd
from .models import APIBindingRow, APIExportRow, APIResourceSchemaRow
from .names import bound_storage_resource, claim_key
from .remote import remote_lookup

Obj = dict[str, Any]
BINDING_PREFIX = "apis.kcp.io:binding:"


# --- reconciliation -------------------------------------------------------------------------------


def _condition(status: Obj, type_: str, value: bool, reason: str = "", message: str = "") -> None:
    set_condition(status, type=type_, status=value, reason=reason, message=message)


@dataclass
class BindingPass:
    """What one reconcile pass of a binding has found so far; the steps fill it in order."""

    cluster: str
    binding: Obj
    status: Obj
    export_cluster: str | None = None
    export: Obj | None = None
    identity: str = ""


#: A step of the binding's reconciler: True to go on, False to stop (the status so far stands).
BindingStep = Callable[[BindingPass], bool]


def binding_export_step(p: BindingPass) -> bool:
    """Resolve spec.reference.export; an export that is missing or being deleted stops here."""
    ref = field(p.binding, "spec", "reference", "export") or {}
    path, export_name = str(ref.get("path") or ""), str(ref.get("name") or "")
    p.export_cluster = export_cluster_for(consumer=p.cluster, path=path)
    if p.export_cluster is not None:
        p.export = remote_lookup(API_EXPORTS, cluster=p.export_cluster, name=export_name)
    if p.export is None or p.export["metadata"].get("deletionTimestamp"):
        message = f'APIExport "{path or "."}:{export_name}" not found'
        _condition(p.status, "APIExportValid", False, "APIExportNotFound", message)
        _condition(p.status, "Ready", False, "APIExportNotFound", "the export is not available")
        return False
    p.status["apiExportClusterName"] = p.export_cluster
    return True


def binding_identity_step(p: BindingPass) -> bool:
    """The export must have its identity (its reconciler sets it) before anything is bound."""
    assert p.export is not None
    p.identity = str(field(p.export, "status", "identityHash") or "")
    if not p.identity:
        _condition(p.status, "APIExportValid", False, "APIExportNotReady", "the export has no identity yet")
        _condition(p.status, "Ready", False, "APIExportNotReady", "waiting for the export's identity")
        return False
    _condition(p.status, "APIExportValid", True)
    return True


def binding_resources_step(p: BindingPass) -> bool:
    """The export's schemas, each under names nothing else in the workspace holds. A problem
    stops a first binding; a bound one keeps what it served and reports the problem."""
    assert p.export is not None and p.export_cluster is not None
    resources, problems = _bound_resources_of(
        cluster=p.cluster, binding=p.binding, export=p.export, export_cluster=p.export_cluster, identity=p.identity
    )
    initial_done = condition_is_true(p.status, "InitialBindingCompleted")
    if problems:
        reason, message = problems[0][0], "; ".join(problem[1] for problem in problems)
        _condition(p.status, "BindingUpToDate", False, reason, message)
        if not initial_done:
            _condition(p.status, "InitialBindingCompleted", False, reason, message)
            _condition(p.status, "Ready", False, reason, message)
            return False
    else:
        _condition(p.status, "BindingUpToDate", True)
        p.status["boundResources"] = resources
    _condition(p.status, "InitialBindingCompleted", True)
    p.status["phase"] = "Bound"
    return True


def binding_claims_step(p: BindingPass) -> bool:
    assert p.export is not None
    _apply_claims(p.status, binding=p.binding, export=p.export)
    return True


def binding_ready_step(p: BindingPass) -> bool:
    _condition(p.status, "Ready", True)
    return True


BINDING_STEPS: tuple[BindingStep, ...] = (
    binding_export_step,
    binding_identity_step,
    binding_resources_step,
    binding_claims_step,
    binding_ready_step,
)


def apibinding_reconcile(*, cluster: str, name: str) -> str:
    """One pass: deletion, or the status the steps compute, written when it changed (a
    guaranteed status update: recomputed if the binding changed meanwhile). Returns the phase
    ("" when the binding is gone). The claims relabelling follows after commit."""
    binding = STORE.lookup(API_BINDINGS, cluster=cluster, name=name)
    if binding is None:
        return ""
    if binding["metadata"].get("deletionTimestamp"):
        return "" if apibinding_unbind(cluster=cluster, name=name) else "Deleting"

    def to_status(current: Obj) -> None:
        current["status"] = apibinding_status(cluster=cluster, binding=current)

    written = STORE.guaranteed_update(
        API_BINDINGS,
        RequestContext(cluster=cluster),
        "",
        name,
        to_status,
        current=binding,
        subresource="status",
        hooks=False,  # its own trigger would only run this pass again
        managed_fields=False,
    )
    if written is None:
        return ""
    status = written.get("status") or {}
    old_claims = field(binding, "status", "appliedPermissionClaims") or []
    if status.get("appliedPermissionClaims") != old_claims or status.get("phase") == "Bound":
        transaction.on_commit(lambda: apibinding_claims_sync(cluster=cluster, name=name))
    return str(status.get("phase") or "")


def apibinding_status(*, cluster: str, binding: Obj) -> Obj:
    """The status the binding should have now: BINDING_STEPS in order on a copy of its status
    (pure apart from reads)."""
    p = BindingPass(cluster=cluster, binding=binding, status=copy.deepcopy(binding.get("status") or {}))
    p.status.setdefault("phase", "Binding")
    for step in BINDING_STEPS:
        if not step(p):
            break
    return p.status


def _bound_resources_of(
    *, cluster: str, binding: Obj, export: Obj, export_cluster: str, identity: str
) -> tuple[list[Obj], list[tuple[str, str]]]:
    resources: list[Obj] = []
    problems: list[tuple[str, str]] = []
    for entry in field(export, "spec", "resources") or []:
        if not isinstance(entry, dict):
            continue
        schema_name = str(entry.get("schema") or "")
        schema = remote_lookup(API_RESOURCE_SCHEMAS, cluster=export_cluster, name=schema_name)
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
    crd_info = REGISTRY.resolve(cluster=cluster, group=CRD_GROUP, version="v1", resource=CRD_RESOURCE)
    assert crd_info is not None
    crds = STORE.list(crd_info, RequestContext(cluster=cluster), "").items
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
    binding = STORE.lookup(API_BINDINGS, cluster=cluster, name=name)
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
    apibinding_claims_release(cluster=cluster, binding=binding)
    return remove_finalizer(info=API_BINDINGS, cluster=cluster, name=name, finalizer=BINDING_FINALIZER) is None


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
    ) or remote_lookup(API_RESOURCE_SCHEMAS, cluster=export_cluster, name=schema_name)
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
    prefixed `apis.kcp.io:binding:`. Read per request, so a policy change applies at once. An
    export on another shard is read from the cache and checked against its workspace's replicated
    RBAC: every ClusterRoleBinding there naming a prefixed user or group is replicated, with the
    ClusterRoles its rules come from (the prefix is registered with kube.authz.replication), so
    the answer is the export's shard's, after the replication lag. Roles and RoleBindings are not
    replicated: a policy granted only through them denies on other shards."""

    def check(attrs: Attributes) -> None:
        here = list(
            APIExportRow.objects.filter(cluster=export_cluster, name=export_name).values_list(
                "body__spec__maximalPermissionPolicy__local", flat=True
            )[:1]
        )
        if here:
            local = here[0]
        else:  # the export's workspace is on another shard (or the export is gone): the cache
            remote = remote_lookup(API_EXPORTS, cluster=export_cluster, name=export_name)
            local = field(remote, "spec", "maximalPermissionPolicy", "local") if remote else None
        if local is None:
            return
        user = attrs.user
        prefixed = UserInfo(
            name=BINDING_PREFIX + user.name,
            groups=tuple(BINDING_PREFIX + g for g in user.groups),
        )
        if not policy_for(export_cluster, replicated=True).authorize(dataclasses.replace(attrs, user=prefixed)).allowed:
            raise errors.Forbidden(
                forbidden_message(attrs)
                + f': not permitted by the maximal permission policy of APIExport "{export_name}"',
                kind=attrs.resource,
                group=attrs.api_group,
                name=attrs.name,
            )

    return check
