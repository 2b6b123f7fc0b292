"""Permission claims (reference/kcp.md §4.4): an export claims other resources of its consumers
(configmaps, another export's resources); each consumer accepts or rejects each claim in its
binding. Objects an accepted claim reaches carry the label `claimed.internal.apis.kcp.io/<export
key>`, and the provider's view shows only labelled objects, so what the provider sees is decided
per object, event by event: a claim accepted later shows up as ADDED events, a rejection or an
unbinding as DELETED, never a silent gap.

Labels are kept right in two places: admission labels objects written after acceptance (inside
the same transaction), and `apibinding_claims_sync` relabels what existed before (Celery, after
the binding's status changes)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from kube.registry import ResourceInfo
from kube.registry.context import RequestContext
from kube.registry.strategy import field
from kube.selectors import LabelSelector, label_selector_from_dict
from kube.storage import backend
from kube.storage.backend import Key
from kube.storage.signature import SignatureCache

from .bindings import bound_storage_resource, claim_label
from .models import APIBindingRow

Obj = dict[str, Any]
CLAIM_PREFIX = "claimed.internal.apis.kcp.io/"


@dataclass(frozen=True)
class AcceptedClaim:
    """One accepted claim of one binding: which rows (storage group/resource), which objects
    (selector), the label marking them, and the verbs granted."""

    storage_group: str
    storage_resource: str
    selector: LabelSelector
    label: str
    verbs: tuple[str, ...]
    export_cluster: str
    export_name: str


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


def accepted_claims(binding: Obj) -> list[AcceptedClaim]:
    export_cluster = str(field(binding, "status", "apiExportClusterName") or "")
    export_name = str(field(binding, "spec", "reference", "export", "name") or "")
    if not export_cluster or binding["metadata"].get("deletionTimestamp"):
        return []
    label = claim_label(export_cluster=export_cluster, export_name=export_name)
    out = []
    for claim in field(binding, "status", "appliedPermissionClaims") or []:
        if isinstance(claim, dict):
            group, resource = claim_storage(claim)
            out.append(
                AcceptedClaim(
                    group,
                    resource,
                    claim_selector(claim),
                    label,
                    tuple(claim.get("verbs") or ()),
                    export_cluster,
                    export_name,
                )
            )
    return out


CACHE: SignatureCache[list[AcceptedClaim]] = SignatureCache(4096)


def claims_in_cluster(cluster: str) -> list[AcceptedClaim]:
    """Accepted claims of every binding of `cluster`, cached behind the bindings' signature."""
    return CACHE.fetch(cluster, APIBindingRow, _accepted_claims_of, [])


def _accepted_claims_of(rows: Any) -> list[AcceptedClaim]:
    return [c for body in rows.values_list("body", flat=True) for c in accepted_claims(body)]


def _relabel(labels: dict[str, str], claims: list[AcceptedClaim], group: str, resource: str) -> dict[str, str]:
    """`labels` with a claim label exactly for each accepted claim of the workspace that reaches
    the object: no other claim label survives (clients cannot forge one)."""
    plain = {k: v for k, v in labels.items() if not k.startswith(CLAIM_PREFIX)}
    out = dict(plain)
    for c in claims:
        if (c.storage_group, c.storage_resource) == (group, resource) and c.selector.matches(plain):
            out[c.label] = ""
    return out


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
    binding = backend.get(Key(cluster, "apis.kcp.io", "apibindings", "", name))
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
    for model in backend.all_models():
        rows = model.objects.filter(cluster=cluster)
        candidates = set(rows.filter(labels__has_key=label).values_list("group", "resource", "namespace", "name"))
        for group, resource in targets:
            candidates |= set(
                rows.filter(group=group, resource=resource).values_list("group", "resource", "namespace", "name")
            )
        for group, resource, namespace, obj_name in sorted(candidates):
            changed += _relabel_one(Key(cluster, group, resource, namespace, obj_name), claims, label)
    return changed


def _relabel_one(key: Key, claims: list[AcceptedClaim], label: str) -> int:
    with transaction.atomic():
        current = backend.get(key, for_update=True)
        if current is None:
            return 0
        labels = current["metadata"].get("labels") or {}
        others = {k: v for k, v in labels.items() if k != label}
        wanted = dict(others)
        if any(
            (c.storage_group, c.storage_resource) == (key.group, key.resource)
            and c.selector.matches({k: v for k, v in others.items() if not k.startswith(CLAIM_PREFIX)})
            for c in claims
        ):
            wanted[label] = ""
        if wanted == labels:
            return 0
        new = copy.deepcopy(current)
        new["metadata"]["labels"] = wanted
        if not wanted:
            new["metadata"].pop("labels")
        backend.update(key, new, prev_labels=labels)
        return 1


def apibinding_claims_release(*, cluster: str, binding: Obj) -> int:
    """An unbound export reaches nothing: strip its claim label from every object."""
    export_cluster = str(field(binding, "status", "apiExportClusterName") or "")
    export_name = str(field(binding, "spec", "reference", "export", "name") or "")
    if not export_cluster:
        return 0
    label = claim_label(export_cluster=export_cluster, export_name=export_name)
    changed = 0
    for model in backend.all_models():
        rows = model.objects.filter(cluster=cluster, labels__has_key=label).values_list(
            "group", "resource", "namespace", "name"
        )
        for group, resource, namespace, obj_name in rows:
            changed += _relabel_one(Key(cluster, group, resource, namespace, obj_name), [], label)
    return changed
