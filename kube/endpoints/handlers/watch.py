"""The watch verb's handler: what a resolved watch request will stream (`WatchPlan`), decided
before the response starts, so every refusal is still a plain Status answer. The streaming
itself is the watch consumer's (kube.endpoints.watch)."""

from __future__ import annotations

from dataclasses import dataclass

from kube.registry import ResourceInfo
from kube.storage.backend import ListScope

from .. import options
from ..negotiation import wants_table
from ..pipeline import ResolvedRequest


@dataclass(frozen=True)
class WatchPlan:
    """One watch stream: events of `scope` that match `lo` (a named watch selects its name), as
    `info`'s objects, rendered as Table rows when `table`."""

    info: ResourceInfo
    lo: options.ListOptions
    scope: ListScope
    cluster: str
    namespace: str
    table: bool

    @property
    def include(self) -> str:
        return self.lo.include_object


def prepare(req: ResolvedRequest) -> WatchPlan:
    info = req.info
    lo = options.list_options(req.query, info, watch=True, name=req.name)
    namespace = req.namespace if info.namespaced else ""
    scope = ListScope(req.cluster, info.storage_group, info.storage_resource, namespace)
    return WatchPlan(info, lo, scope, req.cluster, req.namespace, wants_table(req.accept))
