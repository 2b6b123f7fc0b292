"""The watch verb's handler: what a resolved watch request will stream (`WatchPlan`), decided
before the response starts, so every refusal is still a plain Status answer. The streaming
itself is the watch consumer's (kube.endpoints.watch)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kube.registry import ResourceInfo
from kube.storage.backend import ListScope

from .. import options
from ..fanout import FanOut, WatchStart
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
    fanned: FannedWatch | None = None
    """Set when the stream merges the parts of a virtual workspace served elsewhere too."""

    @property
    def include(self) -> str:
        return self.lo.include_object


@dataclass(frozen=True)
class FannedWatch:
    """A wildcard watch merged from every part (kube.endpoints.fanout): the parts, where each
    starts, and what the parts are asked (the path after `/clusters/*`, the client's query and
    headers)."""

    fan: FanOut
    start: WatchStart
    path: str
    query_string: str
    headers: Mapping[str, str]


def prepare(req: ResolvedRequest) -> WatchPlan:
    info = req.info
    lo = options.list_options(req.query, info, watch=True, name=req.name)
    namespace = req.namespace if info.namespaced else ""
    scope = ListScope(req.cluster, info.storage_group, info.storage_resource, namespace)
    return WatchPlan(info, lo, scope, req.cluster, req.namespace, wants_table(req.accept))
