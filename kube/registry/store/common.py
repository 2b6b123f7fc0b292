"""What every section of the Store shares: the object type, storage keys, metadata access, the
server's guard over client-sent metadata, and the small answers (409s, generated names, no-op
detection) more than one verb gives."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import IntegrityError

from kube import errors
from kube.storage import backend
from kube.storage.backend import Key

from ..context import RequestContext
from ..reserved import reserved_metadata_check
from ..resources import ResourceInfo

Obj = dict[str, Any]


def _key(info: ResourceInfo, ctx: RequestContext, namespace: str, name: str) -> Key:
    return Key(ctx.cluster, info.storage_group, info.storage_resource, namespace if info.namespaced else "", name)


def _meta(obj: Obj) -> Obj:
    md = obj.get("metadata")
    if md is None:
        md = obj["metadata"] = {}
    if not isinstance(md, dict):
        raise errors.BadRequest("metadata must be an object")
    return md


def _guard_metadata(info: ResourceInfo, ctx: RequestContext, new: Obj, old: Obj | None) -> None:
    """What the client asked for (`new`, before any strategy or admission hook touched it) against
    the stored object (`old`, None on create): the server's cluster annotation overwrites whatever
    the client sent for it (clients echo it back from a GET; it is never trusted), reserved
    metadata is refused to non-privileged identities (kube.registry.reserved), and on create the
    server's own labels (`ctx.server_labels`) are added — after the check, so they do not count
    as the client's."""
    md = _meta(new)
    stamp = backend.CLUSTER_ANNOTATION
    if stamp:
        annotations = md.get("annotations")
        if isinstance(annotations, dict):
            annotations[stamp] = ctx.cluster
        elif annotations is None:
            md["annotations"] = {stamp: ctx.cluster}
    reserved_metadata_check(info=info, ctx=ctx, new=new, old=old, exempt_annotation=stamp)
    if old is None and ctx.server_labels:
        labels = md.get("labels")
        if labels is None:
            labels = md["labels"] = {}
        if isinstance(labels, dict):
            for key, value in ctx.server_labels.items():
                labels.setdefault(key, value)


def _is_key_violation(e: IntegrityError) -> bool:
    """Whether a unique violation is of the object's key (cluster, group, resource, namespace,
    name: the tables' `<table>_key` constraints) rather than of a kind's own unique column."""
    constraint = getattr(getattr(e.__cause__, "diag", None), "constraint_name", None) or ""
    return not constraint or constraint.endswith("_key")


def _unique_conflict(info: ResourceInfo, name: str) -> errors.Conflict:
    """A kind's unique column (a promoted column such as a LogicalCluster's path) already holds
    the value this write would give it in another object: 409, nothing written."""
    return errors.conflict(
        info.resource, name, info.group, "another object already holds a value this object must hold alone"
    )


def _random_suffix() -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(secrets.choice(alphabet) for _ in range(5))


def _same(a: Obj, b: Obj) -> bool:
    """Equal apart from managedFields timestamps: such a write changes nothing and is skipped."""

    def strip(o: Obj) -> Obj:
        o = dict(o)
        md = dict(o.get("metadata", {}))
        mf = md.pop("managedFields", None)
        md["managedFields"] = [{k: v for k, v in e.items() if k != "time"} for e in mf or []]
        o["metadata"] = md
        return o

    return strip(a) == strip(b)
