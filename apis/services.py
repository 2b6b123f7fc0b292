"""APIExport reconciliation, and the portal's bind wizard writes.

`apiexport_reconcile` runs EXPORT_STEPS in order on an `ExportPass`, each a function testable
alone that returns True to hand over to the next (False: the export is gone):

1. `apiexport_identity_step`: the identity Secret (a random 256-bit key in `kcp-system`, created
   when missing) → its hex SHA-256;
2. `apiexport_status_step`: status.identityHash (immutable once set) and the IdentityValid
   condition, a guaranteed status update written only when it changes;
3. `apiexport_endpoint_slice_step` (unless the export opts out with
   `apiexports.apis.kcp.io/skip-endpointslice`): the export's APIExportEndpointSlice, whose
   endpoint URLs are the export's shared URL (every consumer, merged across shards), then the
   provider virtual workspace of each shard holding a binding of it (apis.presence).

A deleted export stops before step 1."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from kube import errors
from kube.registry import REGISTRY
from kube.registry.authorized import AuthorizedClient
from kube.registry.conditions import set_condition
from kube.registry.context import RequestContext
from kube.registry.store import STORE
from kube.registry.strategy import field
from shards.selectors import shard_virtual_workspace_urls
from workspaces.addressing import cluster_path

from .admission import apibinding_bind_check, export_cluster_for
from .kinds import API_BINDINGS, API_EXPORT_ENDPOINT_SLICES, API_EXPORTS, IDENTITY_NAMESPACE
from .names import GROUP
from .presence import apiexport_shards
from .selectors import apiexport_bindable_get, pending_claim_key

Obj = dict[str, Any]
SKIP_SLICE_ANNOTATION = "apiexports.apis.kcp.io/skip-endpointslice"


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


@dataclass
class ExportPass:
    """One pass of the export's reconciler: the export as last read or written, and the hash of
    its identity key once the identity step found it."""

    cluster: str
    export: Obj
    identity_hash: str = ""


#: A step: True to hand over to the next one, False when the pass is done.
ExportStep = Callable[[ExportPass], bool]


def apiexport_reconcile(*, cluster: str, name: str) -> str:
    """EXPORT_STEPS in order; returns the identity hash ("" if there is none valid, or the export
    is gone or being deleted)."""
    export = STORE.lookup(API_EXPORTS, cluster=cluster, name=name)
    if export is None or export["metadata"].get("deletionTimestamp"):
        return ""
    pass_ = ExportPass(cluster=cluster, export=export)
    for step in EXPORT_STEPS:
        if not step(pass_):
            return ""
    return str(field(pass_.export, "status", "identityHash") or "")


def apiexport_identity_step(pass_: ExportPass) -> bool:
    """The hex SHA-256 of the export's identity key ("" when the Secret has none), creating the
    Secret (and its namespace) with a random key when it is missing."""
    ref = field(pass_.export, "spec", "identity", "secretRef") or {}
    key = _identity_key(pass_.cluster, ref)
    pass_.identity_hash = hashlib.sha256(key.encode()).hexdigest() if key else ""
    return True


def apiexport_status_step(pass_: ExportPass) -> bool:
    """status.identityHash (set once, immutable after) and the IdentityValid condition, written
    when they change. Done when the export is gone."""
    identity_hash = pass_.identity_hash

    def identity_status(current: Obj) -> None:
        status = current.setdefault("status", {})
        existing = status.get("identityHash")
        if existing and existing != identity_hash:
            reason, message = "IdentityVerificationFailed", "the identity secret does not match status.identityHash"
            set_condition(status, type="IdentityValid", status=False, reason=reason, message=message)
        elif identity_hash:
            status["identityHash"] = identity_hash
            set_condition(status, type="IdentityValid", status=True)
        else:
            reason, message = "IdentityGenerationFailed", "the identity secret has no key"
            set_condition(status, type="IdentityValid", status=False, reason=reason, message=message)

    written = STORE.guaranteed_update(
        API_EXPORTS,
        RequestContext(cluster=pass_.cluster),
        "",
        pass_.export["metadata"]["name"],
        identity_status,
        current=pass_.export,
        subresource="status",
        hooks=False,  # its own trigger would only run this reconciler again
        managed_fields=False,
    )
    if written is None:
        return False
    pass_.export = written
    return True


def _export_path(cluster: str) -> str:
    return cluster_path(cluster) or cluster


def apiexport_endpoint_slice_step(pass_: ExportPass) -> bool:
    """The export's APIExportEndpointSlice (same name). Its endpoints: first the export's shared
    URL (`<external URL>/services/apiexport/<path>/<export>`: every consumer on every shard, a
    wildcard list or watch there merged from the shards holding them, kube.endpoints.fanout),
    then the provider virtual workspace of each registered shard holding a binding of it, by
    shard name (each serves its own consumers; their union is every consumer); a URL listed once
    (with one shard, the shared URL is that shard's). Nothing when the export opts out
    (`apiexports.apis.kcp.io/skip-endpointslice`)."""
    if (pass_.export["metadata"].get("annotations") or {}).get(SKIP_SLICE_ANNOTATION):
        return True
    cluster, name = pass_.cluster, pass_.export["metadata"]["name"]
    ctx = RequestContext(cluster=cluster, field_manager="kcp-apiexportendpointslice")
    path = _export_path(cluster)
    current: Obj | None = None
    try:
        current = STORE.create(
            API_EXPORT_ENDPOINT_SLICES,
            ctx,
            "",
            {"metadata": {"name": name}, "spec": {"export": {"path": path, "name": name}}},
        )
    except errors.AlreadyExists:
        pass
    services = f"/services/apiexport/{path}/{name}"
    shards = apiexport_shards(export_cluster=cluster, export_name=name)
    bases = shard_virtual_workspace_urls(names=shards)
    urls = [f"{settings.KCP_EXTERNAL_URL.rstrip('/')}{services}"]
    urls += [u for s in shards if s in bases and (u := f"{bases[s].rstrip('/')}{services}") not in urls]

    def endpoints(slice_: Obj) -> None:
        slice_["status"] = {**(slice_.get("status") or {}), "endpoints": [{"url": u} for u in urls]}

    STORE.guaranteed_update(
        API_EXPORT_ENDPOINT_SLICES,
        ctx,
        "",
        name,
        endpoints,
        current=current,
        subresource="status",
        hooks=False,
        managed_fields=False,
    )
    return True


EXPORT_STEPS: tuple[ExportStep, ...] = (apiexport_identity_step, apiexport_status_step, apiexport_endpoint_slice_step)


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
    client = AuthorizedClient(user=user, cluster=cluster, field_manager="kcp-portal")
    client.check("create", "apibindings", group=GROUP)
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
    return client.create(API_BINDINGS, "", body)


def apibinding_claims_answer(
    *, cluster: str, user: Any, name: str, answers: dict[str, str], resource_version: str
) -> Obj:
    """Answer permission claims the export added after the binding was made, as `user` (`update`
    on the binding), at the resourceVersion the user saw (a binding changed meanwhile is a 409, never
    a silent overwrite). `answers` maps apis.selectors.pending_claim_key → Accepted|Rejected; only
    claims the export makes and the binding has not answered yet can be answered here."""
    client = AuthorizedClient(user=user, cluster=cluster, field_manager="kcp-portal")
    client.check("update", "apibindings", group=GROUP, name=name)
    if not answers or any(v not in CLAIM_ANSWERS for v in answers.values()):
        raise errors.BadRequest("answer each pending claim Accepted or Rejected")
    # Read unchecked beyond `update`: the update answers the whole object anyway, as a PUT does.
    binding = STORE.get(API_BINDINGS, client.context(), "", name)
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
    return client.update(API_BINDINGS, "", name, binding)
