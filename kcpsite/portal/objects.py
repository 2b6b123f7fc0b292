"""Object browser selectors: the APIs of a workspace and their objects, read as the logged-in user
through the API's registry, authorizer and Store (the same answers kubectl gets)."""

from __future__ import annotations

import copy
from typing import Any

from kube import errors
from kube.authz.authorizer import authorize, can
from kube.authz.rbac import Attributes
from kube.authz.user import UserInfo
from kube.registry import REGISTRY, ResourceInfo
from kube.registry.context import RequestContext
from kube.registry.store import STORE

Obj = dict[str, Any]
HIDDEN = "(hidden: select Reveal values)"
#: ResourceInfo.origin → the badge a page shows.
ORIGIN_LABELS = {"builtin": "built-in", "crd": "CRD", "apibinding": "bound", "kcp": "kcp", "apiexport": "export"}


def origin_label(origin: str) -> str:
    return ORIGIN_LABELS.get(origin, origin)


def group_slug(group: str) -> str:
    """URL segment of an API group ("core" for the legacy group)."""
    return group or "core"


def group_of_slug(slug: str) -> str:
    return "" if slug == "core" else slug


def apis_list(*, user: UserInfo, cluster: str) -> list[dict[str, Any]]:
    """Every listable API served in `cluster` (built-in, CRD, bound), with its origin and whether
    the user may list it."""
    out = []
    for info in REGISTRY.resources(cluster):
        if "list" not in info.verbs:
            continue
        allowed, _ = can(user, cluster, Attributes.for_resource(user, "list", info.resource, api_group=info.group))
        out.append(
            {
                "group": info.group,
                "group_slug": group_slug(info.group),
                "version": info.version,
                "resource": info.resource,
                "kind": info.kind,
                "namespaced": info.namespaced,
                "origin": info.origin,
                "origin_label": origin_label(info.origin),
                "allowed": allowed,
            }
        )
    return sorted(out, key=lambda a: (a["group"] != "", a["group"], a["resource"]))


def api_resolve(*, cluster: str, group: str, version: str, resource: str) -> ResourceInfo:
    info = REGISTRY.resolve(cluster=cluster, group=group, version=version, resource=resource)
    if info is None or "list" not in info.verbs:
        raise errors.NotFound("the server could not find the requested resource")
    return info


def object_summary(obj: Obj) -> dict[str, str]:
    """What a list row (and a live update) shows: never data, spec or secrets."""
    md = obj.get("metadata") or {}
    return {
        "namespace": str(md.get("namespace", "")),
        "name": str(md.get("name", "")),
        "created": str(md.get("creationTimestamp", "")),
        "resourceVersion": str(md.get("resourceVersion", "")),
    }


def objects_list(
    *, user: UserInfo, cluster: str, info: ResourceInfo, namespace: str
) -> tuple[int, list[dict[str, str]]]:
    """(list revision, row summaries) of `info` in `cluster` (one namespace or all)."""
    namespace = namespace if info.namespaced else ""
    authorize(
        user, cluster, Attributes.for_resource(user, "list", info.resource, api_group=info.group, namespace=namespace)
    )
    result = STORE.list(info, RequestContext(cluster=cluster, user=user), namespace)
    rows = [object_summary(o) for o in result.items]
    return result.revision, sorted(rows, key=lambda r: (r["namespace"], r["name"]))


def object_get(
    *, user: UserInfo, cluster: str, info: ResourceInfo, namespace: str, name: str, reveal: bool = False
) -> Obj:
    """One object for display: managedFields dropped; a Secret's values hidden unless `reveal`."""
    namespace = namespace if info.namespaced else ""
    authorize(
        user,
        cluster,
        Attributes.for_resource(user, "get", info.resource, api_group=info.group, namespace=namespace, name=name),
    )
    obj = copy.deepcopy(STORE.get(info, RequestContext(cluster=cluster, user=user), namespace, name))
    (obj.get("metadata") or {}).pop("managedFields", None)
    if is_secret(info) and not reveal:
        for key in ("data", "stringData"):
            if isinstance(obj.get(key), dict):
                obj[key] = {k: HIDDEN for k in obj[key]}
    return obj


def is_secret(info: ResourceInfo) -> bool:
    return info.group == "" and info.resource == "secrets"
