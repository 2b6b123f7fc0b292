"""Reads: get and list, and the output conversion every verb's answer goes through."""

from __future__ import annotations

from typing import Any

from kube import errors
from kube.storage import backend
from kube.storage.backend import ListResult, ListScope

from ..context import RequestContext
from ..resources import ResourceInfo
from .common import Obj, _key


class Reads:
    """get, list, and the output conversion (storage version → the version addressed)."""

    def get(self, info: ResourceInfo, ctx: RequestContext, namespace: str, name: str) -> Obj:
        obj = backend.get(_key(info, ctx, namespace, name))
        if obj is None:
            raise errors.not_found(info.resource, name, info.group)
        return self._out(info, obj)

    def list(
        self,
        info: ResourceInfo,
        ctx: RequestContext,
        namespace: str,
        *,
        label_q: Any = None,
        field_q: Any = None,
        limit: int = 0,
        continue_token: str = "",
    ) -> ListResult:
        scope = ListScope(ctx.cluster, info.storage_group, info.storage_resource, namespace if info.namespaced else "")
        result = backend.list_objects(
            scope, label_q=label_q, field_q=field_q, limit=limit, continue_token=continue_token
        )
        result.items = [self._out(info, o) for o in result.items]
        return result

    def output(self, info: ResourceInfo, obj: Obj) -> Obj:
        """A stored body as `info`'s version shows it (watch streams use this too)."""
        return self._out(info, obj)

    def _out(self, info: ResourceInfo, obj: Obj) -> Obj:
        """Stored bodies are kept at the served version; a later version of a kind rewrites apiVersion;
        a version with another shape converts."""
        if info.conversion is not None:
            return info.conversion.from_storage(obj)
        if obj.get("apiVersion") != info.group_version:
            obj = dict(obj)
            obj["apiVersion"] = info.group_version
        return obj
