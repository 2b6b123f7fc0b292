"""events.k8s.io/v1 Event, stored on its own (not converted to/from core/v1 Events), and the
Table columns of both Event kinds.

kube-apiserver prints both kinds through the core Event printer (events.k8s.io objects are
converted to the internal Event first): Last Seen, Type, Reason, Object, Subobject*, Source*,
Message, First Seen*, Count*, Name* (* = wide only) and no Age. `core_event_view` is that
conversion for the fields the printer reads."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from kube.registry import Column, Strategy
from kube.timefmt import human_duration, parse_rfc3339

Obj = dict[str, Any]


def _since(ts: Any) -> str:
    """kubectl's age of an RFC 3339 timestamp; `<unknown>` for none (Go's zero time)."""
    if not ts:
        return "<unknown>"
    try:
        return human_duration(time.time() - parse_rfc3339(str(ts)).timestamp())
    except (ValueError, TypeError):
        return "<unknown>"


def _first_seen(e: Obj) -> str:
    return _since(e.get("firstTimestamp") or e.get("eventTime"))


def _last_seen(e: Obj) -> str:
    series = e.get("series")
    if isinstance(series, dict):
        return _since(series.get("lastObservedTime"))
    return _since(e["lastTimestamp"]) if e.get("lastTimestamp") else _first_seen(e)


def _count(e: Obj) -> int:
    series = e.get("series")
    if isinstance(series, dict):
        return int(series.get("count") or 0)
    return int(e.get("count") or 0) or 1  # singleton events of the new API carry no count


def _target(e: Obj) -> str:
    ref = e.get("involvedObject") or {}
    kind = (ref.get("kind") or "").lower()
    return f"{kind}/{ref['name']}" if ref.get("name") else kind


def _source(e: Obj) -> str:
    source = e.get("source") or {}
    component = source.get("component") or e.get("reportingController") or ""
    instance = source.get("host") or e.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


def event_columns(name: Column, view: Callable[[Obj], Obj]) -> list[Column]:
    """The Event printer's columns; `view` turns a stored object into the core Event shape."""

    def cell(fn: Callable[[Obj], Any]) -> Callable[[Obj], Any]:
        return lambda o: fn(view(o))

    return [
        Column("Last Seen", "string", cell(_last_seen)),
        Column("Type", "string", cell(lambda e: e.get("type", ""))),
        Column("Reason", "string", cell(lambda e: e.get("reason", ""))),
        Column("Object", "string", cell(_target)),
        Column("Subobject", "string", cell(lambda e: (e.get("involvedObject") or {}).get("fieldPath", "")), priority=1),
        Column("Source", "string", cell(_source), priority=1),
        Column("Message", "string", cell(lambda e: (e.get("message") or "").strip())),
        Column("First Seen", "string", cell(_first_seen), priority=1),
        Column("Count", "string", cell(_count), priority=1),
        dataclasses.replace(name, priority=1),
    ]


def core_event_view(o: Obj) -> Obj:
    """An events.k8s.io/v1 Event in the core Event shape, for the fields the printer reads."""
    return {
        "type": o.get("type", ""),
        "reason": o.get("reason", ""),
        "message": o.get("note", ""),
        "involvedObject": o.get("regarding") or {},
        "source": o.get("deprecatedSource") or {},
        "firstTimestamp": o.get("deprecatedFirstTimestamp"),
        "lastTimestamp": o.get("deprecatedLastTimestamp"),
        "count": o.get("deprecatedCount"),
        "eventTime": o.get("eventTime"),
        "series": o.get("series"),
        "reportingController": o.get("reportingController", ""),
        "reportingInstance": o.get("reportingInstance", ""),
    }


class EventsV1Strategy(Strategy):
    field_labels = (
        "reason",
        "type",
        "reportingController",
        "regarding.kind",
        "regarding.name",
        "regarding.namespace",
        "regarding.uid",
    )

    def table_columns(self, name: Column, age: Column) -> list[Column]:
        return event_columns(name, core_event_view)
