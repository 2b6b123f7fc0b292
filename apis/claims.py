"""Permission claims (reference/kcp.md §4.4): an export claims other resources of its consumers
(configmaps, another export's resources); each consumer accepts or rejects each claim in its
binding. Objects an accepted claim reaches carry the label `claimed.internal.apis.kcp.io/<export
key>`, and the provider's view shows only labelled objects, so what the provider sees is decided
per object, event by event: a claim accepted later shows up as ADDED events, a rejection or an
unbinding as DELETED, never a silent gap.

Labels are kept right in two places: admission labels objects written after acceptance (inside
the same transaction), and `apibinding_claims_sync` relabels what existed before (Celery, after
the binding's status changes).

The label's value says which of `list` and `watch` the consumer granted (`claim_label_value`):
the provider's wildcard list and watch span every consumer at once, so which consumers they may
include has to be decided per object, in the query and per event, not per consumer. A label
costs nothing there (lists and watches already select on the claim label; a requirement on its
value is the same JSONB test), and a consumer taking `watch` back relabels its objects, which a
running watch turns into DELETED events like any other unsharing. The other alternative, a
filter by the consumers granting the verb, is a query over every binding of the export per
request, and a running watch could not see a grant taken back. Every other verb is decided per
request from the binding (`claim_grants`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kube.registry import ResourceInfo
from kube.registry.context import RequestContext
from kube.registry.resources import ALL_VERBS
from kube.registry.store import STORE
from kube.registry.strategy import field
from kube.registry.tables import storage_models
from kube.selectors import LabelSelector, label_selector_from_dict
from kube.storage.signature import SignatureCache

from .kinds import API_BINDINGS
from .models import APIBindingRow
from .names import bound_storage_resource, claim_key, claim_label

Obj = dict[str, Any]
CLAIM_PREFIX = "claimed.internal.apis.kcp.io/"
#: Claim label values: which of list and watch the accepted claim grants.
LIST_WATCH, LIST, WATCH, NEITHER = "list.watch", "list", "watch", "none"


def verb_set(verbs: Any) -> frozenset[str]:
    """A claim's `verbs` as a set of concrete verbs (`*` is all of them; not a list: none)."""
    if not isinstance(verbs, list):
        return frozenset()
    if "*" in verbs:
        return frozenset(ALL_VERBS)
    return frozenset(v for v in verbs if isinstance(v, str))


def claim_label_value(verbs: frozenset[str]) -> str:
    """The claim label's value for an object reached by claims granting `verbs`."""
    if "list" in verbs:
        return LIST_WATCH if "watch" in verbs else LIST
    return WATCH if "watch" in verbs else NEITHER


def claim_label_selector(label: str, verb: str) -> str:
    """The label selector a `verb` request of the provider adds: objects whose claim grants the
    verb, for list and watch; any claimed object otherwise (other verbs are checked per request)."""
    if verb == "list":
        return f"{label} in ({LIST},{LIST_WATCH})"
    if verb == "watch":
        return f"{label} in ({WATCH},{LIST_WATCH})"
    return label


@dataclass(frozen=True)
class AcceptedClaim:
    """One accepted claim of one binding: which rows (storage group/resource), which objects
    (an object must match every selector), the label marking them, and the verbs granted."""

    storage_group: str
    storage_resource: str
    selectors: tuple[LabelSelector, ...]
    label: str
    verbs: frozenset[str]
    export_cluster: str
    export_name: str

    def reaches(self, group: str, resource: str, plain_labels: dict[str, str]) -> bool:
        return (self.storage_group, self.storage_resource) == (group, resource) and all(
            s.matches(plain_labels) for s in self.selectors
        )


def claim_storage(claim: Obj) -> tuple[str, str]:
    group, resource = str(claim.get("group", "")), str(claim.get("resource", ""))
    identity = str(claim.get("identityHash", ""))
    return group, bound_storage_resource(resource=resource, identity_hash=identity) if identity else resource


def claim_selector(claim: Obj) -> LabelSelector:
    """v1alpha2 `selector: {matchAll: true}` or a label selector; no selector means all objects."""
    selector = claim.get("selector")
    if not isinstance(selector, dict) or selector.get("matchAll"):
        return label_selector_from_dict({})
    try:
        return label_selector_from_dict({k: v for k, v in selector.items() if k in ("matchLabels", "matchExpressions")})
    except Exception:
        return label_selector_from_dict(None)  # an invalid selector reaches nothing


InForce = tuple[Obj, frozenset[str], tuple[LabelSelector, ...]]


def _in_force(binding: Obj) -> list[InForce]:
    """(applied claim, verbs, selectors) of each claim the binding's status applied and its spec
    still accepts: verbs = applied ∩ accepted now, and an object must match both selectors.

    The status is what the reconciler last applied (export ∩ binding) and what the objects are
    labelled by; the spec is what the consumer says now. Requiring both means a consumer
    narrowing or rejecting a claim holds at once, before the reconciler caught up (widening waits
    for it, which also labels the objects). A binding being deleted has none."""
    if binding["metadata"].get("deletionTimestamp"):
        return []
    accepted = {
        claim_key(c): c
        for c in field(binding, "spec", "permissionClaims") or []
        if isinstance(c, dict) and c.get("state") == "Accepted"
    }
    out: list[InForce] = []
    for applied in field(binding, "status", "appliedPermissionClaims") or []:
        spec = accepted.get(claim_key(applied)) if isinstance(applied, dict) else None
        if spec is None:
            continue
        spec_verbs = verb_set(spec["verbs"]) if "verbs" in spec else frozenset(ALL_VERBS)
        selectors = (claim_selector(applied), claim_selector(spec))
        out.append((applied, verb_set(applied.get("verbs")) & spec_verbs, selectors))
    return out


def accepted_claims(binding: Obj) -> list[AcceptedClaim]:
    export_cluster = str(field(binding, "status", "apiExportClusterName") or "")
    export_name = str(field(binding, "spec", "reference", "export", "name") or "")
    if not export_cluster:
        return []
    label = claim_label(export_cluster=export_cluster, export_name=export_name)
    out = []
    for applied, verbs, selectors in _in_force(binding):
        group, resource = claim_storage(applied)
        out.append(AcceptedClaim(group, resource, selectors, label, verbs, export_cluster, export_name))
    return out


@dataclass(frozen=True)
class ClaimGrant:
    """What one binding of a consumer grants the provider on one claimed resource right now."""

    binding: str
    verbs: frozenset[str]
    selectors: tuple[LabelSelector, ...]

    def reaches(self, labels: Any) -> bool:
        """Whether an object with `labels` is inside what the binding shares."""
        plain = plain_labels(labels)
        return all(s.matches(plain) for s in self.selectors)


def claim_grants(*, bindings: list[Obj], export_claim: Obj) -> list[ClaimGrant]:
    """The grants of a consumer's `bindings` (of one export) for the export's claim `export_claim`:
    effective verbs = the export's claim verbs now ∩ what the binding applied ∩ what it accepts
    now (`_in_force`). A binding that is not Bound grants nothing."""
    key = claim_key(export_claim)
    export_verbs = verb_set(export_claim.get("verbs"))
    return [
        ClaimGrant(str(binding["metadata"].get("name", "")), export_verbs & verbs, selectors)
        for binding in bindings
        if field(binding, "status", "phase") == "Bound"
        for applied, verbs, selectors in _in_force(binding)
        if claim_key(applied) == key
    ]


CACHE: SignatureCache[list[AcceptedClaim]] = SignatureCache(4096)


def claims_in_cluster(cluster: str) -> list[AcceptedClaim]:
    """Accepted claims of every binding of `cluster`, cached behind the bindings' signature."""
    return CACHE.fetch(cluster, APIBindingRow, _accepted_claims_of, [])


def _accepted_claims_of(rows: Any) -> list[AcceptedClaim]:
    return [c for body in rows.values_list("body", flat=True) for c in accepted_claims(body)]


def plain_labels(labels: Any) -> dict[str, str]:
    """An object's labels without claim labels: what claim selectors are matched against."""
    if not isinstance(labels, dict):
        return {}
    return {k: v for k, v in labels.items() if not k.startswith(CLAIM_PREFIX)}


def _claim_labels(plain: dict[str, str], claims: list[AcceptedClaim], group: str, resource: str) -> dict[str, str]:
    """The claim labels an object with `plain` labels carries: one per export whose accepted
    claims reach it, valued by the union of their verbs."""
    granted: dict[str, frozenset[str]] = {}
    for c in claims:
        if c.reaches(group, resource, plain):
            granted[c.label] = granted.get(c.label, frozenset()) | c.verbs
    return {label: claim_label_value(verbs) for label, verbs in granted.items()}


def _relabel(labels: dict[str, str], claims: list[AcceptedClaim], group: str, resource: str) -> dict[str, str]:
    """`labels` with a claim label exactly for each accepted claim of the workspace that reaches
    the object: no other claim label survives (clients cannot forge one)."""
    plain = plain_labels(labels)
    return {**plain, **_claim_labels(plain, claims, group, resource)}


def claims_admit(info: ResourceInfo, ctx: RequestContext, new: Obj, old: Obj | None) -> None:
    """Admission: an object written in a workspace with accepted claims on its resource carries
    exactly the claim labels that reach it (clients cannot add or strip them)."""
    if ctx.cluster == "*" or info.origin == "kcp":
        return
    claims = claims_in_cluster(ctx.cluster)
    labels = new.setdefault("metadata", {}).get("labels")
    current = labels if isinstance(labels, dict) else {}
    if not claims and not any(k.startswith(CLAIM_PREFIX) for k in current):
        return
    relabelled = _relabel(current, claims, info.storage_group, info.storage_resource)
    if relabelled != current:
        new["metadata"]["labels"] = relabelled


def apibinding_claims_sync(*, cluster: str, name: str) -> int:
    """Label every existing object the binding's accepted claims reach and unlabel the rest.
    Returns how many objects changed. Idempotent."""
    binding = STORE.lookup(API_BINDINGS, cluster=cluster, name=name)
    if binding is None:
        return 0
    export_cluster = str(field(binding, "status", "apiExportClusterName") or "")
    export_name = str(field(binding, "spec", "reference", "export", "name") or "")
    if not export_cluster:
        return 0
    label = claim_label(export_cluster=export_cluster, export_name=export_name)
    claims = accepted_claims(binding)
    changed = 0
    targets = {(c.storage_group, c.storage_resource) for c in claims}
    for model in storage_models():
        rows = model.objects.filter(cluster=cluster)
        candidates = set(rows.filter(labels__has_key=label).values_list("group", "resource", "namespace", "name"))
        for group, resource in targets:
            candidates |= set(
                rows.filter(group=group, resource=resource).values_list("group", "resource", "namespace", "name")
            )
        for group, resource, namespace, obj_name in sorted(candidates):
            changed += _relabel_one(cluster, (group, resource, namespace, obj_name), claims, label)
    return changed


def _relabel_one(cluster: str, row: tuple[str, str, str, str], claims: list[AcceptedClaim], label: str) -> int:
    """Give one object exactly the claim label `label` that `claims` give it (none: removed),
    leaving its other labels alone: a label-only system write (kube.registry Store.relabel)."""
    group, resource, namespace, name = row

    def wanted(labels: dict[str, str]) -> dict[str, str]:
        out = {k: v for k, v in labels.items() if k != label}
        out.update(_claim_labels(plain_labels(labels), claims, group, resource))
        return out

    written = STORE.relabel(
        cluster=cluster, group=group, resource=resource, namespace=namespace, name=name, labels=wanted
    )
    return int(written)


def apibinding_claims_release(*, cluster: str, binding: Obj) -> int:
    """An unbound export reaches nothing: strip its claim label from every object."""
    export_cluster = str(field(binding, "status", "apiExportClusterName") or "")
    export_name = str(field(binding, "spec", "reference", "export", "name") or "")
    if not export_cluster:
        return 0
    label = claim_label(export_cluster=export_cluster, export_name=export_name)
    changed = 0
    for model in storage_models():
        rows = model.objects.filter(cluster=cluster, labels__has_key=label).values_list(
            "group", "resource", "namespace", "name"
        )
        for row in rows:
            changed += _relabel_one(cluster, row, [], label)
    return changed
