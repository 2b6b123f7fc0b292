"""core.kcp.io/v1alpha1 Shard (reference/kcp.md §1.2): the shards of the deployment, in root.
`spec.baseURL` is required; `externalURL` and `virtualWorkspaceURL` default to it. Every shard
registers itself at start-up (`shard_register_self`)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kube import errors
from kube.errors import FieldErrors
from kube.registry import REGISTRY, Column, ResourceInfo, Strategy
from kube.registry.strategy import field
from kube.schema import Schema

from .models import ShardRow

if TYPE_CHECKING:
    from kube.registry.context import RequestContext

Obj = dict[str, Any]
CORE = "core.kcp.io"
ROOT = "root"
URL_FIELDS = ("baseURL", "externalURL", "virtualWorkspaceURL")


def _is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class ShardStrategy(Strategy):
    has_status_subresource = True
    allow_strategic_merge_patch = False

    def admit(self, obj: Obj, old: Obj | None, *, ctx: RequestContext) -> None:
        if ctx.cluster != ROOT:
            raise errors.Forbidden(
                f'shards.{CORE} "{obj["metadata"].get("name", "")}" is forbidden: shards live in the root workspace',
                kind="shards",
                group=CORE,
            )
        spec = obj.get("spec")
        if isinstance(spec, dict) and spec.get("baseURL"):
            for key in ("externalURL", "virtualWorkspaceURL"):
                spec.setdefault(key, spec["baseURL"])

    def validate(self, obj: Obj) -> FieldErrors:
        errs = FieldErrors()
        spec = obj.get("spec")
        if not isinstance(spec, dict) or not spec.get("baseURL"):
            errs.required("spec.baseURL")
            return errs
        for key in URL_FIELDS:
            if key in spec and not _is_url(spec[key]):
                errs.invalid(f"spec.{key}", spec[key], "must be an http(s) URL")
        return errs

    def columns(self) -> list[Column]:
        return [
            Column("Region", "string", lambda o: (o["metadata"].get("labels") or {}).get("region", "")),
            Column("URL", "string", lambda o: field(o, "spec", "baseURL") or ""),
            Column("External URL", "string", lambda o: field(o, "spec", "externalURL") or ""),
        ]


_OPEN = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}

def _derive(body: Obj) -> dict[str, Any]:
    return {
        "base_url": str(field(body, "spec", "baseURL") or ""),
        "external_url": str(field(body, "spec", "externalURL") or ""),
        "virtual_workspace_url": str(field(body, "spec", "virtualWorkspaceURL") or ""),
    }


SHARDS = ResourceInfo(
    group=CORE,
    version="v1alpha1",
    resource="shards",
    kind="Shard",
    namespaced=False,
    strategy=ShardStrategy(),
    categories=("kcp",),
    subresources=("status",),
    origin="kcp",
    table=ShardRow,
    promoted=_derive,
    schema_loader=functools.cache(
        functools.partial(
            Schema,
            {
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": _OPEN,
                    "spec": {
                        "type": "object",
                        "properties": {
                            "baseURL": {"type": "string"},
                            "externalURL": {"type": "string"},
                            "virtualWorkspaceURL": {"type": "string"},
                        },
                    },
                    "status": {
                        "type": "object",
                        "properties": {"capacity": _OPEN, "conditions": {"type": "array", "items": _OPEN}},
                    },
                },
            },
            {},
        )
    ),
)


def register() -> None:
    REGISTRY.register(SHARDS)
