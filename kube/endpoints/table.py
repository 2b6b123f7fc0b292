"""meta.k8s.io/v1 Table rendering for `kubectl get` (server-side printing)."""

from __future__ import annotations

import time
from typing import Any

from kube.registry import Column, ResourceInfo
from kube.timefmt import human_duration, parse_rfc3339

Obj = dict[str, Any]


def _age(ts: str | None, now: float) -> str:
    if not ts:
        return "<unknown>"
    try:
        return human_duration(now - parse_rfc3339(ts).timestamp())
    except (ValueError, TypeError):
        return "<invalid>"


_NAME = Column(
    "Name",
    "string",
    lambda o: o.get("metadata", {}).get("name", ""),
    format="name",
    description="Name must be unique within a namespace. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
)
_AGE = Column(
    "Age",
    "date",
    lambda o: o.get("metadata", {}).get("creationTimestamp"),
    description="CreationTimestamp is a timestamp representing the server time when this object was created.",
)


def columns(info: ResourceInfo) -> list[Column]:
    return info.strategy.table_columns(_NAME, _AGE)


def _cell(col: Column, obj: Obj, now: float) -> Any:
    try:
        value = col.cell(obj)
    except (KeyError, TypeError, AttributeError, IndexError):
        value = None
    if col.type == "date" or col is _AGE:
        return _age(value, now) if value else "<unknown>"
    if value is None:
        return "<none>" if col.type == "string" else None
    return value


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def table(
    info: ResourceInfo,
    objects: list[Obj],
    *,
    include_object: str = "Metadata",
    resource_version: str = "",
    continue_token: str = "",
    remaining: int | None = None,
    with_columns: bool = True,
) -> Obj:
    cols = columns(info)
    now = time.time()
    rows = []
    for obj in objects:
        row: Obj = {"cells": [_cell(c, obj, now) for c in cols]}
        ro = _row_object(obj, include_object)
        if ro is not None:
            row["object"] = ro
        rows.append(row)
    meta: Obj = {}
    if resource_version:
        meta["resourceVersion"] = resource_version
    if continue_token:
        meta["continue"] = continue_token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    out: Obj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
    if with_columns:
        out["columnDefinitions"] = [
            {
                "name": c.name,
                "type": "string" if c.type == "date" else c.type,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            }
            for c in cols
        ]
    else:
        out["columnDefinitions"] = []
    out["rows"] = rows
    return out
