"""Read-side rules of the portal's API catalog and bind wizard, evaluated as the logged-in user
with the API's own authorizer.

* An export is *bindable* by a user when the user may `bind` it (RBAC verb `bind` on
  `apis.kcp.io/apiexports/<name>` in the export's workspace, after kcp's workspace `access`
  gate): exactly the check the APIBinding admission makes (apis.admission.apibinding_bind_check).
  Exports the user may not bind are never returned, looked up or counted, so the catalog reveals
  nothing about them; a lookup of one raises the same NotFound as a missing one.
* Each export comes with its provider's workspace path, its resources with the top-level `spec`
  fields of their APIResourceSchema, and its permission claims. Claims on Secrets, on RBAC and on
  APIBindings are *dangerous*: accepting one lets the provider read credentials, change who may do
  what in the workspace, or see and steer the workspace's other bindings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from kube import errors
from kube.authz.authorizer import effective_user
from kube.authz.user import UserInfo
from kube.registry.authorized import AuthorizedClient
from kube.registry.strategy import field as body_field
from workspaces.addressing import cluster_paths, cluster_resolve

from .kinds import API_BINDINGS, GROUP
from .models import APIBindingRow, APIExportRow, APIResourceSchemaRow

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"
#: At most this many exports are returned (sorted by provider path, then name).
CATALOG_LIMIT = 200


# --- shapes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaField:
    """One top-level property of a resource's `spec`."""

    name: str
    type: str
    description: str
    required: bool


@dataclass(frozen=True)
class ExportResource:
    group: str
    resource: str
    kind: str
    scope: str
    schema: str  # the APIResourceSchema's name
    versions: tuple[str, ...]
    fields: tuple[SchemaField, ...]
    free_form: bool  # the spec accepts unknown fields (or has no schema)
    found: bool = True  # False: the schema named by the export is missing

    @property
    def qualified(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


@dataclass(frozen=True)
class ExportClaim:
    group: str
    resource: str
    identity_hash: str
    verbs: tuple[str, ...]
    key: str  # stable form-field key of this exact claim (group, resource, identity, verbs)
    danger: str  # why accepting is dangerous; "" if it is not

    @property
    def dangerous(self) -> bool:
        return bool(self.danger)

    @property
    def qualified(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def as_binding_claim(self, state: str) -> Obj:
        """The APIBinding `spec.permissionClaims` entry answering this claim (every object)."""
        claim: Obj = {"group": self.group, "resource": self.resource}
        if self.identity_hash:
            claim["identityHash"] = self.identity_hash
        claim["verbs"] = list(self.verbs)
        claim["selector"] = {"matchAll": True}
        claim["state"] = state
        return claim


@dataclass(frozen=True)
class BindableExport:
    path: str  # provider workspace path
    cluster: str  # provider logical cluster
    name: str
    resources: tuple[ExportResource, ...]
    claims: tuple[ExportClaim, ...]
    ready: bool  # the export has its identity (a binding can become Bound)
    bound_as: tuple[str, ...] = field(default=())  # bindings of it in the workspace being viewed

    @property
    def dangerous_claims(self) -> int:
        return sum(1 for c in self.claims if c.dangerous)


# --- claims ---------------------------------------------------------------------------------------


def claim_danger(*, group: str, resource: str) -> str:
    """Why accepting a claim on group/resource is dangerous ("" when it is not flagged)."""
    if group == "" and resource in ("secrets", "*"):
        return "The provider could read every Secret the claim reaches: passwords, tokens and keys."
    if group == RBAC_GROUP:
        return "The provider could change who may do what in this workspace (RBAC)."
    if group == GROUP and resource in ("apibindings", "*"):
        return "The provider could see and change this workspace's other API bindings."
    return ""


def claim_key(*, group: str, resource: str, identity_hash: str, verbs: tuple[str, ...] | list[str]) -> str:
    """A short key naming one claim exactly: if the export changes the claim (or its verbs), the
    key changes, and an answer given to the old claim no longer counts as a review of the new one."""
    raw = "\x1f".join([group, resource, identity_hash, ",".join(sorted(str(v) for v in verbs))])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _claims_of(export: Obj) -> tuple[ExportClaim, ...]:
    out = []
    for c in body_field(export, "spec", "permissionClaims") or []:
        if not isinstance(c, dict) or not c.get("resource"):
            continue
        group, resource = str(c.get("group") or ""), str(c["resource"])
        identity = str(c.get("identityHash") or "")
        verbs = tuple(str(v) for v in c.get("verbs") or [])
        out.append(
            ExportClaim(
                group=group,
                resource=resource,
                identity_hash=identity,
                verbs=verbs,
                key=claim_key(group=group, resource=resource, identity_hash=identity, verbs=verbs),
                danger=claim_danger(group=group, resource=resource),
            )
        )
    return tuple(out)


# --- schemas --------------------------------------------------------------------------------------


def _spec_fields(schema_spec: Obj) -> tuple[tuple[SchemaField, ...], bool, tuple[str, ...]]:
    """(top-level spec fields of the storage version, free-form?, served versions)."""
    versions = [v for v in schema_spec.get("versions") or [] if isinstance(v, dict)]
    served = tuple(str(v.get("name", "")) for v in versions if v.get("served", True))
    chosen = next((v for v in versions if v.get("storage")), versions[0] if versions else None)
    root = (chosen or {}).get("schema") or {}
    spec = (root.get("properties") or {}).get("spec") if isinstance(root, dict) else None
    if not isinstance(spec, dict):
        return (), True, served
    required = set(spec.get("required") or [])
    fields = []
    for name, prop in sorted((spec.get("properties") or {}).items()):
        prop = prop if isinstance(prop, dict) else {}
        kind = str(prop.get("type") or ("int-or-string" if prop.get("x-kubernetes-int-or-string") else "any"))
        if kind == "array":
            items = prop.get("items")
            kind = f"array of {(items.get('type') if isinstance(items, dict) else '') or 'any'}"
        fields.append(
            SchemaField(
                name=str(name), type=kind, description=str(prop.get("description") or ""), required=name in required
            )
        )
    free = bool(spec.get("x-kubernetes-preserve-unknown-fields")) or not spec.get("properties")
    return tuple(fields), free, served


def _resources_of(cluster: str, export: Obj, schemas: dict[tuple[str, str], Obj]) -> tuple[ExportResource, ...]:
    out = []
    for entry in body_field(export, "spec", "resources") or []:
        if not isinstance(entry, dict):
            continue
        schema_name = str(entry.get("schema") or "")
        body = schemas.get((cluster, schema_name))
        group, resource = str(entry.get("group") or ""), str(entry.get("name") or "")
        if body is None:
            out.append(ExportResource(group, resource, "", "", schema_name, (), (), True, found=False))
            continue
        spec = body.get("spec") or {}
        fields, free, served = _spec_fields(spec)
        out.append(
            ExportResource(
                group=str(spec.get("group", group)),
                resource=str(body_field(spec, "names", "plural") or resource),
                kind=str(body_field(spec, "names", "kind") or ""),
                scope=str(spec.get("scope") or "Namespaced"),
                schema=schema_name,
                versions=served,
                fields=fields,
                free_form=free,
            )
        )
    return tuple(out)


# --- selectors ------------------------------------------------------------------------------------


def may_bind(*, user: UserInfo, export_cluster: str, export_name: str) -> bool:
    """The admission's `bind` check, as a yes/no (workspace access first, then RBAC)."""
    if user.is_admin:
        return True
    actor = effective_user(user, export_cluster)
    return AuthorizedClient(user=actor, cluster=export_cluster).can("bind", "apiexports", group=GROUP, name=export_name)


def _paths(clusters: set[str]) -> dict[str, str]:

    paths = cluster_paths(list(clusters))
    return {c: paths.get(c) or c for c in clusters}


def _matches(export: BindableExport, terms: list[str]) -> bool:
    haystack = " ".join(
        [export.path, export.name, f"{export.path}:{export.name}"]
        + [f"{r.qualified} {r.kind} {' '.join(f.name for f in r.fields)}" for r in export.resources]
        + [c.qualified for c in export.claims]
    ).lower()
    return all(t in haystack for t in terms)


def _bound_in(user: UserInfo, cluster: str) -> dict[tuple[str, str], list[str]]:
    """(export cluster, export name) → names of the bindings of it in `cluster` (nothing unless
    the user may list the bindings there)."""
    out: dict[tuple[str, str], list[str]] = {}
    if not AuthorizedClient(user=user, cluster=cluster).can("list", "apibindings", group=GROUP):
        return out
    rows = APIBindingRow.objects.filter(cluster=cluster).values_list("name", "export_cluster", "export_name")
    for name, export_cluster, export_name in rows.order_by("name"):
        if export_cluster:
            out.setdefault((export_cluster, export_name), []).append(name)
    return out


def apiexports_bindable(*, user: UserInfo, query: str = "", consumer_cluster: str = "") -> list[BindableExport]:
    """Every APIExport (in any workspace) `user` may bind, matching every word of `query` (export
    name, provider path, resources, kinds, spec fields, claimed resources), sorted by provider path
    and name; at most CATALOG_LIMIT. With `consumer_cluster`, each export says under which names
    that workspace already binds it."""
    rows = list(APIExportRow.objects.order_by("cluster", "name").values_list("cluster", "name", "body"))
    allowed = [
        (cluster, name, body)
        for cluster, name, body in rows
        if not body["metadata"].get("deletionTimestamp")
        and may_bind(user=user, export_cluster=cluster, export_name=name)
    ]
    if not allowed:
        return []
    paths = _paths({c for c, _, _ in allowed})
    wanted = {
        (c, str(r.get("schema") or ""))
        for c, _, b in allowed
        for r in body_field(b, "spec", "resources") or []
        if isinstance(r, dict)
    }
    schemas: dict[tuple[str, str], Obj] = {}
    for cluster in {c for c, _ in wanted}:
        names = [n for c, n in wanted if c == cluster]
        for name, body in APIResourceSchemaRow.objects.filter(cluster=cluster, name__in=names).values_list(
            "name", "body"
        ):
            schemas[(cluster, name)] = body
    bound = _bound_in(user, consumer_cluster) if consumer_cluster else {}
    terms = [t for t in query.lower().split() if t]
    out = []
    for cluster, name, body in allowed:
        export = BindableExport(
            path=paths[cluster],
            cluster=cluster,
            name=name,
            resources=_resources_of(cluster, body, schemas),
            claims=_claims_of(body),
            ready=bool(body_field(body, "status", "identityHash")),
            bound_as=tuple(bound.get((cluster, name), ())),
        )
        if _matches(export, terms):
            out.append(export)
    out.sort(key=lambda e: (e.path, e.name))
    return out[:CATALOG_LIMIT]


def apiexport_bindable_get(*, user: UserInfo, path: str, name: str, consumer_cluster: str = "") -> BindableExport:
    """One export by provider path and name, if `user` may bind it; otherwise, and when there is
    none, the same NotFound."""

    missing = errors.NotFound(f'APIExport "{path}:{name}" not found', kind="apiexports", group=GROUP, name=name)
    cluster = cluster_resolve(path)
    if cluster is None or not may_bind(user=user, export_cluster=cluster, export_name=name):
        raise missing
    body = APIExportRow.objects.filter(cluster=cluster, name=name).values_list("body", flat=True).first()
    if body is None or body["metadata"].get("deletionTimestamp"):
        raise missing
    names = [str(r.get("schema") or "") for r in body_field(body, "spec", "resources") or [] if isinstance(r, dict)]
    schemas = {
        (cluster, n): b
        for n, b in APIResourceSchemaRow.objects.filter(cluster=cluster, name__in=names).values_list("name", "body")
    }
    bound = _bound_in(user, consumer_cluster) if consumer_cluster else {}
    return BindableExport(
        path=path,
        cluster=cluster,
        name=name,
        resources=_resources_of(cluster, body, schemas),
        claims=_claims_of(body),
        ready=bool(body_field(body, "status", "identityHash")),
        bound_as=tuple(bound.get((cluster, name), ())),
    )


# --- one binding, as its status page shows it -----------------------------------------------------


@dataclass(frozen=True)
class BindingView:
    name: str
    export_path: str
    export_name: str
    phase: str
    conditions: tuple[dict[str, str], ...]
    claims: tuple[dict[str, str], ...]  # the binding's answers: resource, state, verbs, danger
    bound_resources: tuple[str, ...]
    resource_version: str
    pending: tuple[dict[str, str], ...] = ()  # claims the export makes that the binding has not answered

    @property
    def ready(self) -> bool:
        return any(c["type"] == "Ready" and c["status"] == "True" for c in self.conditions)


def binding_view(*, body: Obj) -> BindingView:
    """What the binding status page (and its live fragment) shows of an APIBinding."""
    md = body.get("metadata") or {}
    ref = body_field(body, "spec", "reference", "export") or {}
    status = body.get("status") or {}
    applied = {
        (str(c.get("group") or ""), str(c.get("resource") or "")): c
        for c in status.get("appliedPermissionClaims") or []
        if isinstance(c, dict)
    }
    claims = []
    for c in body_field(body, "spec", "permissionClaims") or []:
        if not isinstance(c, dict):
            continue
        group, resource = str(c.get("group") or ""), str(c.get("resource") or "")
        effective = applied.get((group, resource))
        claims.append(
            {
                "resource": f"{resource}.{group}" if group else resource,
                "state": str(c.get("state") or ""),
                "verbs": ", ".join(str(v) for v in (effective or c).get("verbs") or []) or "none",
                "applied": "yes" if effective is not None else "no",
                "danger": claim_danger(group=group, resource=resource),
            }
        )
    conditions = tuple(
        {
            "type": str(c.get("type") or ""),
            "status": str(c.get("status") or ""),
            "reason": str(c.get("reason") or ""),
            "message": str(c.get("message") or ""),
            "time": str(c.get("lastTransitionTime") or ""),
        }
        for c in status.get("conditions") or []
        if isinstance(c, dict)
    )
    answered = {pending_claim_key(c) for c in body_field(body, "spec", "permissionClaims") or [] if isinstance(c, dict)}
    pending = tuple(
        {
            "key": pending_claim_key(c),
            "resource": f"{c.get('resource')}.{c.get('group')}" if c.get("group") else str(c.get("resource")),
            "verbs": ", ".join(str(v) for v in c.get("verbs") or []) or "none",
            "danger": claim_danger(group=str(c.get("group") or ""), resource=str(c.get("resource") or "")),
        }
        for c in status.get("exportPermissionClaims") or []
        if isinstance(c, dict) and pending_claim_key(c) not in answered
    )
    bound = tuple(
        f"{b.get('resource')}.{b.get('group')}" if b.get("group") else str(b.get("resource"))
        for b in status.get("boundResources") or []
        if isinstance(b, dict)
    )
    return BindingView(
        name=str(md.get("name", "")),
        export_path=str(ref.get("path") or ""),
        export_name=str(ref.get("name") or ""),
        phase=str(status.get("phase") or "Binding"),
        conditions=tuple(sorted(conditions, key=lambda c: c["type"])),
        claims=tuple(claims),
        bound_resources=bound,
        resource_version=str(md.get("resourceVersion", "")),
        pending=pending,
    )


def pending_claim_key(claim: Obj) -> str:
    """A claim's identity between export and binding: group, resource and identity hash."""
    return "/".join(
        (str(claim.get("group") or ""), str(claim.get("resource") or ""), str(claim.get("identityHash") or ""))
    )


def apibinding_get_for_user(*, user: UserInfo, cluster: str, name: str) -> tuple[int, BindingView]:
    """(list revision, the binding) as `user` may read it (`get` on apibindings in `cluster`): the
    revision is where the page's live stream of the workspace's bindings resumes."""
    revision, body = AuthorizedClient(user=user, cluster=cluster).get_listed(API_BINDINGS, "", name)
    return revision, binding_view(body=body)


def may_watch_bindings(*, user: UserInfo, cluster: str) -> bool:
    return AuthorizedClient(user=user, cluster=cluster).can("watch", "apibindings", group=GROUP)


def may_create_bindings(*, user: UserInfo, cluster: str) -> bool:
    return AuthorizedClient(user=user, cluster=cluster).can("create", "apibindings", group=GROUP)
