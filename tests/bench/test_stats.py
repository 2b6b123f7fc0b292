"""The benchmark's arithmetic: percentiles, ratios, event accounting, target verdicts and the table.

Pure and fast: no server, no database, no clock, and no timing assertions about the project."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.report import Report, Row
from bench.stats import (
    EMPTY_ACCOUNTING,
    EventAccounting,
    Target,
    account_events,
    fmt,
    out_of_order,
    percentile,
    ratio,
    summarize,
    table,
    throughput,
    verdict,
)


class TestPercentile:
    def test_single_value_is_every_percentile(self) -> None:
        assert percentile([7.0], 0) == percentile([7.0], 50) == percentile([7.0], 99) == 7.0

    def test_interpolates_between_closest_ranks(self) -> None:
        values = [1.0, 2.0, 3.0, 4.0]
        assert percentile(values, 0) == 1.0
        assert percentile(values, 100) == 4.0
        assert percentile(values, 50) == pytest.approx(2.5)
        assert percentile(values, 25) == pytest.approx(1.75)

    def test_order_of_input_does_not_matter(self) -> None:
        assert percentile([5.0, 1.0, 3.0], 50) == 3.0

    def test_p99_of_hundred_values(self) -> None:
        values = [float(i) for i in range(1, 101)]
        assert percentile(values, 99) == pytest.approx(99.01)

    def test_rejects_empty_and_out_of_range(self) -> None:
        with pytest.raises(ValueError):
            percentile([], 50)
        with pytest.raises(ValueError):
            percentile([1.0], 101)
        with pytest.raises(ValueError):
            percentile([1.0], -1)

    @given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=200),
           st.floats(min_value=0, max_value=100))
    def test_within_bounds_and_monotonic(self, values: list[float], p: float) -> None:
        x = percentile(values, p)
        assert min(values) - 1e-9 <= x <= max(values) + 1e-9
        assert percentile(values, min(100.0, p + 1)) >= x - 1e-9


class TestSummarize:
    def test_none_for_no_values(self) -> None:
        assert summarize([]) is None

    def test_fields(self) -> None:
        s = summarize([0.001, 0.002, 0.003, 0.010])
        assert s is not None
        assert s.n == 4
        assert s.p50 == pytest.approx(0.0025)
        assert s.max == 0.010
        assert s.mean == pytest.approx(0.004)
        ms = s.as_ms()
        assert ms["p50_ms"] == pytest.approx(2.5)
        assert ms["n"] == 4


class TestRatioAndThroughput:
    def test_ratio(self) -> None:
        assert ratio(50.0, 200.0) == 0.25
        assert ratio(None, 2.0) is None
        assert ratio(1.0, None) is None
        assert ratio(1.0, 0.0) is None

    def test_throughput(self) -> None:
        assert throughput(300, 1.5) == 200.0
        assert throughput(0, 1.0) == 0.0
        assert throughput(10, 0.0) == 0.0


class TestEventAccounting:
    def test_exact_delivery(self) -> None:
        written = [("a", 1), ("b", 2), ("c", 3)]
        acc = account_events(written, written)
        assert acc == EventAccounting(expected=3, received=3, lost=0, duplicated=0, unexpected=0)

    def test_lost_event(self) -> None:
        acc = account_events([("a", 1), ("b", 2), ("c", 3)], [("a", 1), ("c", 3)])
        assert (acc.lost, acc.duplicated, acc.unexpected) == (1, 0, 0)

    def test_duplicates_count_every_extra_copy(self) -> None:
        acc = account_events([("a", 1), ("b", 2)], [("a", 1), ("a", 1), ("a", 1), ("b", 2)])
        assert (acc.lost, acc.duplicated, acc.received) == (0, 2, 4)

    def test_same_name_other_revision_is_not_the_same_event(self) -> None:
        acc = account_events([("a", 1)], [("a", 2)])
        assert (acc.lost, acc.unexpected) == (1, 1)

    def test_sum_over_watchers(self) -> None:
        a = account_events([("a", 1)], [("a", 1), ("a", 1)])
        b = account_events([("a", 1)], [])
        total = EMPTY_ACCOUNTING + a + b
        assert (total.expected, total.received, total.lost, total.duplicated) == (2, 2, 1, 1)

    @given(st.lists(st.integers(min_value=0, max_value=50), max_size=60),
           st.lists(st.integers(min_value=0, max_value=50), max_size=60))
    def test_received_is_conserved(self, expected: list[int], received: list[int]) -> None:
        acc = account_events(expected, received)
        unique_received = len(set(received))
        assert acc.received == len(received)
        assert acc.duplicated == len(received) - unique_received
        assert acc.lost + (unique_received - acc.unexpected) == len(set(expected))

    def test_out_of_order(self) -> None:
        assert out_of_order([1, 2, 3]) == 0
        assert out_of_order([1, 3, 2, 4]) == 1
        assert out_of_order([1, 1]) == 1
        assert out_of_order([]) == 0


class TestTargets:
    def test_at_least(self) -> None:
        t = Target(">=", 0.25)
        assert t.met(0.25) and t.met(1.0) and not t.met(0.1)
        assert t.distance(0.125) == pytest.approx(2.0)
        assert verdict(0.3, t) == "ok"
        assert verdict(0.125, t) == "MISS (2.0x off)"

    def test_at_most(self) -> None:
        t = Target("<=", 50, "ms")
        assert verdict(49.9, t) == "ok"
        assert verdict(150, t) == "MISS (3.0x off)"
        assert t.describe() == "<= 50 ms"

    def test_zero_target_for_lost_events(self) -> None:
        t = Target("<=", 0, "events")
        assert verdict(0, t) == "ok"
        assert verdict(3, t) == "MISS"

    def test_missing_measurement_or_target(self) -> None:
        assert verdict(None, Target("<=", 1)) == "unavailable"
        assert verdict(5.0, None) == "n/a"

    def test_bad_operator(self) -> None:
        with pytest.raises(ValueError):
            Target("<", 1)


class TestFormatting:
    def test_fmt(self) -> None:
        assert fmt(None) == "-"
        assert fmt(1234) == "1,234"
        assert fmt(12345.6) == "12,346"
        assert fmt(0.012345) == "0.0123"
        assert fmt(math.pi) == "3.14"
        assert fmt("x") == "x"

    def test_table_pads_columns(self) -> None:
        out = table(["a", "bb"], [["long cell", "x"], ["y", "zz"]]).splitlines()
        assert out[0].startswith("a          bb")
        assert set(out[1].replace(" ", "")) == {"-"}
        assert out[2] == "long cell  x"

    def test_report_rows_show_status_and_ratio(self) -> None:
        report = Report()
        report.add(Row("writes", "8 clients", 100.0, "writes/s", ratio=0.05, ratio_of="raw insert",
                       target=Target(">=", 0.25), target_on="ratio"))
        report.add(Row("provider", "wildcard", None, "ms", note="unavailable: bindings never Bound"))
        text = report.render()
        assert "MISS (5.0x off)" in text
        assert "0.05x raw insert" in text
        assert "unavailable: bindings never Bound" in text
        rows = [r.as_json() for r in report.rows]
        assert rows[0]["status"].startswith("MISS") and rows[0]["target"] == ">= 0.25"
        assert rows[1]["status"] == "unavailable"


def test_latest_json_has_every_row_with_status(tmp_path: object) -> None:
    import json
    from pathlib import Path

    report = Report()
    report.add(Row("watch", "events lost + duplicated, 1 watchers", 0, "events", target=Target("<=", 0, "events")))
    out = Path(str(tmp_path)) / "results" / "latest.json"
    report.write_json(out, {"mode": "quick"})
    doc = json.loads(out.read_text())
    assert doc["mode"] == "quick"
    assert doc["rows"][0]["status"] == "ok"
    assert doc["rows"][0]["target"] == "<= 0 events"
