"""Discovery documents, legacy (/api, /apis, /api/v1, /apis/g/v) and aggregated v2, built from
the registry's view of one logical cluster."""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

from kube.registry import ResourceInfo

SCALE_KIND = {"group": "autoscaling", "version": "v1", "kind": "Scale"}
SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "finalize": ("update",),
}


_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes' version order (first = preferred): GA before beta before alpha, higher numbers
    first (v2 > v1 > v1beta2 > v1beta1 > v1alpha2), anything else last, alphabetically."""
    m = _KUBE_VERSION.match(version)
    if m is None:
        return (3, 0, 0, version)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, "")


def _versions_by_group(resources: list[ResourceInfo]) -> OrderedDict[str, list[str]]:
    groups: OrderedDict[str, list[str]] = OrderedDict()
    for info in sorted(resources, key=lambda r: (r.group != "", r.group)):
        versions = groups.setdefault(info.group, [])
        if info.version not in versions:
            versions.append(info.version)
    for versions in groups.values():
        versions.sort(key=version_priority)
    return groups


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": dict(vs[0])}


def api_group_list(resources: list[ResourceInfo]) -> dict[str, Any]:
    groups = [_group_entry(g, vs) for g, vs in _versions_by_group(resources).items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(resources: list[ResourceInfo], group: str) -> dict[str, Any] | None:
    versions = _versions_by_group(resources).get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def api_resource_list(resources: list[ResourceInfo], group: str, version: str) -> dict[str, Any] | None:
    selected = [r for r in resources if r.group == group and r.version == version]
    if not selected:
        return None
    out: list[dict[str, Any]] = []
    for r in sorted(selected, key=lambda r: r.resource):
        entry: dict[str, Any] = {
            "name": r.resource,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        out.append(entry)
        for sub in r.subresources:
            out.append(
                {
                    "name": f"{r.resource}/{sub}",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": list(SUBRESOURCE_VERBS.get(sub, ("get",))),
                    **({"group": "autoscaling", "version": "v1", "kind": "Scale"} if sub == "scale" else {}),
                }
            )
        for sub, (g, v, k, verbs) in r.extra_subresources.items():
            entry = {
                "name": f"{r.resource}/{sub}",
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": k,
                "verbs": list(verbs),
            }
            if g:
                entry["group"] = g
            entry["version"] = v
            out.append(entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}


def aggregated(resources: list[ResourceInfo], *, core: bool) -> dict[str, Any]:
    """APIGroupDiscoveryList (apidiscovery.k8s.io/v2): the core group for /api, named groups for /apis."""
    items = []
    for group, versions in _versions_by_group(resources).items():
        if (group == "") != core:
            continue
        vlist = []
        for v in versions:
            res = []
            for r in sorted((r for r in resources if r.group == group and r.version == v), key=lambda r: r.resource):
                kind = {"group": r.group, "version": r.version, "kind": r.kind}
                entry: dict[str, Any] = {
                    "resource": r.resource,
                    "responseKind": kind,
                    "scope": "Namespaced" if r.namespaced else "Cluster",
                    "singularResource": r.singular,
                    "verbs": list(r.verbs),
                }
                if r.short_names:
                    entry["shortNames"] = list(r.short_names)
                if r.categories:
                    entry["categories"] = list(r.categories)
                subs: list[dict[str, Any]] = [
                    {
                        "subresource": s,
                        "responseKind": SCALE_KIND if s == "scale" else kind,
                        "verbs": list(SUBRESOURCE_VERBS.get(s, ("get",))),
                    }
                    for s in r.subresources
                ]
                subs += [
                    {"subresource": s, "responseKind": {"group": g, "version": vv, "kind": k}, "verbs": list(vb)}
                    for s, (g, vv, k, vb) in r.extra_subresources.items()
                ]
                if subs:
                    entry["subresources"] = subs
                res.append(entry)
            vlist.append({"version": v, "resources": res, "freshness": "Current"})
        item: dict[str, Any] = {"metadata": {"name": group} if group else {}, "versions": vlist}
        items.append(item)
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}
