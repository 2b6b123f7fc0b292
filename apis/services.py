"""APIExport reconciliation: identity (a Secret holding a random 256-bit key in `kcp-system`;
status.identityHash = hex SHA-256 of it, immutable once set) and the export's auto-created
APIExportEndpointSlice, whose endpoint URL is the provider virtual workspace of the export."""

from __future__ import annotations

import base64
import copy
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction

from kube import errors
from kube.registry import REGISTRY
from kube.registry.context import RequestContext
from kube.registry.store import STORE
from kube.storage import backend
from kube.storage.backend import Key
from kube.timefmt import now_rfc3339

from .kinds import API_EXPORT_ENDPOINT_SLICES, GROUP, IDENTITY_NAMESPACE

Obj = dict[str, Any]
SKIP_SLICE_ANNOTATION = "apiexports.apis.kcp.io/skip-endpointslice"


def apiexport_changed(cluster: str, obj: Obj, event_type: str) -> None:
    from .tasks import reconcile_apiexport, reconcile_bindings_of_export

    if event_type != "DELETED":
        reconcile_apiexport.delay(cluster, obj["metadata"]["name"])
    reconcile_bindings_of_export.delay(cluster, obj["metadata"]["name"])


def _export_key(cluster: str, name: str) -> Key:
    return Key(cluster, GROUP, "apiexports", "", name)


def _identity_key(cluster: str, ref: Obj) -> str:
    """The export's identity key, creating the namespace and Secret when absent."""
    ctx = RequestContext(cluster=cluster, field_manager="kcp-apiexport-identity")
    namespaces = REGISTRY.resolve(cluster=cluster, group="", version="v1", resource="namespaces")
    secrets_info = REGISTRY.resolve(cluster=cluster, group="", version="v1", resource="secrets")
    assert namespaces is not None and secrets_info is not None
    ns, name = ref.get("namespace") or IDENTITY_NAMESPACE, ref.get("name", "")
    try:
        STORE.create(namespaces, ctx, "", {"metadata": {"name": ns}})
    except errors.AlreadyExists:
        pass
    try:
        secret = STORE.get(secrets_info, ctx, ns, name)
    except errors.NotFound:
        key = secrets.token_hex(32)
        secret = STORE.create(
            secrets_info,
            ctx,
            ns,
            {"metadata": {"name": name}, "data": {"key": base64.b64encode(key.encode()).decode()}},
        )
    raw = (secret.get("data") or {}).get("key", "")
    return base64.b64decode(raw).decode() if raw else ""


def apiexport_reconcile(*, cluster: str, name: str) -> str:
    """Run identity then endpoint-slice steps; returns the identity hash ("" if not valid)."""
    export = backend.get(_export_key(cluster, name))
    if export is None or export["metadata"].get("deletionTimestamp"):
        return ""
    ref = ((export.get("spec") or {}).get("identity") or {}).get("secretRef") or {}
    key = _identity_key(cluster, ref)
    identity_hash = hashlib.sha256(key.encode()).hexdigest() if key else ""
    with transaction.atomic():
        export = backend.get(_export_key(cluster, name), for_update=True)
        if export is None:
            return ""
        new = copy.deepcopy(export)
        status = new.setdefault("status", {})
        existing = status.get("identityHash")
        if existing and existing != identity_hash:
            cond = {
                "type": "IdentityValid",
                "status": "False",
                "reason": "IdentityVerificationFailed",
                "message": "the identity secret does not match status.identityHash",
            }
        elif identity_hash:
            status["identityHash"] = identity_hash
            cond = {"type": "IdentityValid", "status": "True"}
        else:
            cond = {
                "type": "IdentityValid",
                "status": "False",
                "reason": "IdentityGenerationFailed",
                "message": "the identity secret has no key",
            }
        old_cond = next((c for c in status.get("conditions") or [] if c.get("type") == "IdentityValid"), None)
        kept = old_cond.get("lastTransitionTime") if old_cond and old_cond.get("status") == cond["status"] else None
        cond["lastTransitionTime"] = str(kept or now_rfc3339())
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "IdentityValid"] + [cond]
        if new != export:
            backend.update(_export_key(cluster, name), new, prev_labels=export["metadata"].get("labels") or {})
    if not (export["metadata"].get("annotations") or {}).get(SKIP_SLICE_ANNOTATION):
        _ensure_endpoint_slice(cluster, name)
    return str(status.get("identityHash") or "")


def _export_path(cluster: str) -> str:
    from workspaces.services import cluster_path

    return cluster_path(cluster) or cluster


def _ensure_endpoint_slice(cluster: str, name: str) -> None:
    ctx = RequestContext(cluster=cluster, field_manager="kcp-apiexportendpointslice")
    path = _export_path(cluster)
    try:
        STORE.create(
            API_EXPORT_ENDPOINT_SLICES,
            ctx,
            "",
            {"metadata": {"name": name}, "spec": {"export": {"path": path, "name": name}}},
        )
    except errors.AlreadyExists:
        pass
    from shards.services import shard_virtual_workspace_url

    base = shard_virtual_workspace_url(name=settings.KCP_SHARD_NAME)
    url = f"{base.rstrip('/')}/services/apiexport/{path}/{name}"
    with transaction.atomic():
        key = Key(cluster, GROUP, "apiexportendpointslices", "", name)
        current = backend.get(key, for_update=True)
        if current is None:
            return
        new = copy.deepcopy(current)
        new["status"] = {**(new.get("status") or {}), "endpoints": [{"url": url}]}
        if new != current:
            backend.update(key, new, prev_labels=current["metadata"].get("labels") or {})


# --- as a user (the portal's bind wizard) ---------------------------------------------------------

CLAIM_ANSWERS = ("Accepted", "Rejected")


def apibinding_create(
    *, cluster: str, user: Any, export_path: str, export_name: str, name: str, claims: dict[str, str]
) -> Obj:
    """Create APIBinding `name` in `cluster` as `user`, bound to `export_path:export_name`, as a
    POST would: `create` on apibindings here, then the admission's `bind` check on the export (the
    same 403 whether or not the export exists). `claims` answers the export's permission claims by
    key (apis.selectors.claim_key → "Accepted"|"Rejected"): every claim the export makes now must
    be answered, or nothing is created (an answer to a claim that changed since is not an answer)."""
    from kube.authz.authorizer import authorize
    from kube.authz.rbac import Attributes

    from .bindings import apibinding_bind_check, export_cluster_for
    from .kinds import API_BINDINGS
    from .selectors import apiexport_bindable_get

    authorize(user, cluster, Attributes.for_resource(user, "create", "apibindings", api_group=GROUP))
    export_cluster = export_cluster_for(consumer=cluster, path=export_path)
    apibinding_bind_check(user=user, export_cluster=export_cluster, export_path=export_path, export_name=export_name)
    export = apiexport_bindable_get(user=user, path=export_path, name=export_name)
    unknown = [k for k, v in claims.items() if v not in CLAIM_ANSWERS]
    if unknown:
        raise errors.BadRequest("every claim must be answered Accepted or Rejected")
    unreviewed = [c.qualified for c in export.claims if c.key not in claims]
    if unreviewed:
        raise errors.Invalid(
            "review every permission claim before binding; not reviewed: " + ", ".join(unreviewed),
            kind="apibindings",
            group=GROUP,
            name=name,
        )
    body: Obj = {
        "apiVersion": f"{GROUP}/v1alpha2",
        "kind": "APIBinding",
        "metadata": {"name": name},
        "spec": {"reference": {"export": {"path": export_path, "name": export_name}}},
    }
    if export.claims:
        body["spec"]["permissionClaims"] = [c.as_binding_claim(claims[c.key]) for c in export.claims]
    ctx = RequestContext(cluster=cluster, user=user, field_manager="kcp-portal")
    return STORE.create(API_BINDINGS, ctx, "", body)


def apibinding_claims_answer(
    *, cluster: str, user: Any, name: str, answers: dict[str, str], resource_version: str
) -> Obj:
    """Answer permission claims the export added after the binding was made, as `user` (`update`
    on the binding), at the resourceVersion the user saw (a binding changed meanwhile is a 409, never
    a silent overwrite). `answers` maps apis.selectors.pending_claim_key → Accepted|Rejected; only
    claims the export makes and the binding has not answered yet can be answered here."""
    from kube.authz.authorizer import authorize
    from kube.authz.rbac import Attributes

    from .kinds import API_BINDINGS
    from .selectors import pending_claim_key

    authorize(user, cluster, Attributes.for_resource(user, "update", "apibindings", api_group=GROUP, name=name))
    if not answers or any(v not in CLAIM_ANSWERS for v in answers.values()):
        raise errors.BadRequest("answer each pending claim Accepted or Rejected")
    ctx = RequestContext(cluster=cluster, user=user, field_manager="kcp-portal")
    binding = STORE.get(API_BINDINGS, ctx, "", name)
    spec = binding.setdefault("spec", {})
    claims = [c for c in spec.get("permissionClaims") or [] if isinstance(c, dict)]
    answered = {pending_claim_key(c) for c in claims}
    offered = {
        pending_claim_key(c): c
        for c in (binding.get("status") or {}).get("exportPermissionClaims") or []
        if isinstance(c, dict)
    }
    for key, state in answers.items():
        claim = offered.get(key)
        if claim is None or key in answered:
            raise errors.Conflict(f"the claim {key!r} is not pending on APIBinding {name!r} any more")
        claims.append(
            {
                **{k: claim[k] for k in ("group", "resource", "identityHash") if claim.get(k)},
                "verbs": list(claim.get("verbs") or []),
                "selector": {"matchAll": True},
                "state": state,
            }
        )
    spec["permissionClaims"] = claims
    binding["metadata"]["resourceVersion"] = resource_version
    return STORE.update(API_BINDINGS, ctx, "", name, binding)
