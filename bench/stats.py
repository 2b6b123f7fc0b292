"""The benchmark's arithmetic, kept pure (no I/O, no clock) so it is unit-tested in tests/bench.

* `percentile` / `summarize`: latency distributions (linear interpolation between closest ranks,
  the same definition as numpy's default).
* `ratio`, `throughput`: the figures every row is reported with.
* `account_events`: events lost, duplicated or unexpected for one watcher.
* `Target` / `verdict`: where a figure stands against DESIGN.md's Performance table.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0 ≤ p ≤ 100) of `values`, interpolating linearly between closest ranks.

    Raises ValueError for an empty sequence or p outside [0, 100]."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} outside [0, 100]")
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * p / 100
    lo = math.floor(rank)
    hi = math.ceil(rank)
    if lo == hi:
        return float(ordered[lo])
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


@dataclass(frozen=True)
class Summary:
    """A latency distribution in seconds."""

    n: int
    p50: float
    p99: float
    mean: float
    max: float

    def as_ms(self) -> dict[str, float | int]:
        return {"n": self.n, "p50_ms": round(self.p50 * 1000, 3), "p99_ms": round(self.p99 * 1000, 3),
                "mean_ms": round(self.mean * 1000, 3), "max_ms": round(self.max * 1000, 3)}


def summarize(values: Sequence[float]) -> Summary | None:
    """p50/p99/mean/max of `values`, or None when there are none."""
    if not values:
        return None
    return Summary(len(values), percentile(values, 50), percentile(values, 99), sum(values) / len(values),
                   float(max(values)))


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is not positive."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def throughput(count: int, seconds: float) -> float:
    """Operations per second; 0 for an empty or instantaneous run."""
    if count <= 0 or seconds <= 0:
        return 0.0
    return count / seconds


@dataclass(frozen=True)
class EventAccounting:
    """What one watcher saw against what was written."""

    expected: int
    received: int
    lost: int
    duplicated: int
    unexpected: int

    def __add__(self, other: EventAccounting) -> EventAccounting:
        return EventAccounting(self.expected + other.expected, self.received + other.received,
                               self.lost + other.lost, self.duplicated + other.duplicated,
                               self.unexpected + other.unexpected)


EMPTY_ACCOUNTING = EventAccounting(0, 0, 0, 0, 0)


def account_events(expected: Iterable[Hashable], received: Iterable[Hashable]) -> EventAccounting:
    """Compare the events a watcher should have seen (`expected`, e.g. (name, resourceVersion)
    pairs of the writes) with what it received. Lost: expected but never received. Duplicated:
    every extra copy of a received event. Unexpected: received but never written."""
    want = set(expected)
    got = Counter(received)
    lost = sum(1 for key in want if key not in got)
    duplicated = sum(n - 1 for n in got.values() if n > 1)
    unexpected = sum(1 for key in got if key not in want)
    return EventAccounting(len(want), sum(got.values()), lost, duplicated, unexpected)


def out_of_order(received: Sequence[int]) -> int:
    """How many events arrived with a resourceVersion not above the one before."""
    return sum(1 for a, b in zip(received, received[1:], strict=False) if b <= a)


@dataclass(frozen=True)
class Target:
    """A DESIGN.md target: `value` with `op` '>=' (at least) or '<=' (at most), in `unit`."""

    op: str
    value: float
    unit: str = ""

    def __post_init__(self) -> None:
        if self.op not in (">=", "<="):
            raise ValueError(f"target operator must be >= or <=, not {self.op!r}")

    def met(self, measured: float) -> bool:
        return measured >= self.value if self.op == ">=" else measured <= self.value

    def distance(self, measured: float) -> float | None:
        """How far off the measurement is, as a factor ≥ 1 when missed (1.0 = exactly on target)."""
        if self.met(measured):
            return 1.0
        if self.op == ">=":
            return self.value / measured if measured > 0 else None
        return measured / self.value if self.value > 0 else None

    def describe(self) -> str:
        return f"{self.op} {_num(self.value)}{(' ' + self.unit) if self.unit else ''}"


def verdict(measured: float | None, target: Target | None) -> str:
    """'ok', 'MISS (N× off)', 'n/a' (no target) or 'unavailable' (no measurement)."""
    if target is None:
        return "n/a"
    if measured is None:
        return "unavailable"
    if target.met(measured):
        return "ok"
    off = target.distance(measured)
    return f"MISS ({off:.1f}x off)" if off is not None else "MISS"


def _num(x: float) -> str:
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:g}"


def fmt(x: Any, digits: int = 3) -> str:
    """A compact human figure: thousands separators for large numbers, `digits` significant digits."""
    if x is None:
        return "-"
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if isinstance(x, int) or (abs(x) >= 1000 and x == int(x)):
        return f"{int(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with columns padded to their widest cell."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
