"""Event Table cells as kube's Event printer fills them, for both Event kinds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kube.builtin.core import EventStrategy
from kube.builtin.events import EventsV1Strategy
from kube.registry import Column


def _ago(seconds: int) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


NAME = Column("Name", "string", lambda o: o["metadata"]["name"], format="name")
AGE = Column("Age", "date", lambda o: o["metadata"].get("creationTimestamp"))


def _row(strategy: object, obj: dict) -> dict[str, object]:
    cols = strategy.table_columns(NAME, AGE)  # type: ignore[attr-defined]
    return {c.name: c.cell(obj) for c in cols}


def test_a_core_event_row_in_kube_order_with_source_count_and_both_timestamps() -> None:
    event = {
        "metadata": {"name": "e1"},
        "type": "Warning",
        "reason": "BackOff",
        "message": "  restarting  ",
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": _ago(600),
        "lastTimestamp": _ago(30),
        "count": 7,
    }
    assert _row(EventStrategy(), event) == {
        "Last Seen": "30s",
        "Type": "Warning",
        "Reason": "BackOff",
        "Object": "pod/web",
        "Subobject": "spec.containers{app}",
        "Source": "kubelet, node-1",
        "Message": "restarting",
        "First Seen": "10m",
        "Count": 7,
        "Name": "e1",
    }
    assert [c.priority for c in EventStrategy().table_columns(NAME, AGE)] == [0, 0, 0, 0, 1, 1, 0, 1, 1, 1]


def test_a_singleton_event_counts_one_and_falls_back_to_event_time_and_reporting_controller() -> None:
    event = {
        "metadata": {"name": "e2"},
        "involvedObject": {"kind": "Node"},
        "eventTime": _ago(120).replace("Z", ".000000Z"),
        "reportingController": "ctrl",
    }
    row = _row(EventStrategy(), event)
    assert (row["Last Seen"], row["First Seen"], row["Count"], row["Object"], row["Source"]) == (
        "2m", "2m", 1, "node", "ctrl"
    )


def test_an_events_v1_event_prints_through_the_core_shape_series_winning() -> None:
    event = {
        "metadata": {"name": "e3"},
        "type": "Normal",
        "reason": "Scheduled",
        "note": "placed",
        "regarding": {"kind": "Widget", "name": "w"},
        "reportingController": "sched",
        "reportingInstance": "sched-0",
        "eventTime": _ago(3600),
        "series": {"count": 4, "lastObservedTime": _ago(5).replace("Z", ".000000Z")},
    }
    row = _row(EventsV1Strategy(), event)
    assert row == {
        "Last Seen": "5s",
        "Type": "Normal",
        "Reason": "Scheduled",
        "Object": "widget/w",
        "Subobject": "",
        "Source": "sched, sched-0",
        "Message": "placed",
        "First Seen": "60m",
        "Count": 4,
        "Name": "e3",
    }
