"""Rows of the benchmark, the printed table, latest.json and the latency-vs-workspaces plot."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .stats import Target, fmt, table, verdict


@dataclass
class Row:
    """One figure. `value` is what the target (if any) is checked against; `measured` is how it
    is printed (defaults to `value` with its unit); `ratio` is against `ratio_of`, a reference
    measured in the same run."""

    section: str
    figure: str
    value: float | None
    unit: str = ""
    measured: str = ""
    ratio: float | None = None
    ratio_of: str = ""
    target: Target | None = None
    target_on: str = "value"  # "value" or "ratio": which number the target applies to
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def checked(self) -> float | None:
        return self.ratio if self.target_on == "ratio" else self.value

    @property
    def status(self) -> str:
        if self.value is None and self.note.startswith("unavailable"):
            return "unavailable"
        return verdict(self.checked, self.target)

    def printed_measure(self) -> str:
        if self.measured:
            return self.measured
        if self.value is None:
            return self.note or "-"
        return f"{fmt(self.value)} {self.unit}".strip()

    def printed_ratio(self) -> str:
        if self.ratio is None:
            return "-"
        return f"{fmt(self.ratio)}x {self.ratio_of}".strip()

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["target"] = self.target.describe() if self.target else None
        out["status"] = self.status
        return out


class Report:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def render(self) -> str:
        headers = ["section", "figure", "measured", "ratio to reference", "target", "status"]
        cells = []
        for r in self.rows:
            target = (r.target.describe() + (" (ratio)" if r.target_on == "ratio" else "")) if r.target else ""
            cells.append([r.section, r.figure, r.printed_measure(), r.printed_ratio(), target, r.status])
        return table(headers, cells)

    def write_json(self, path: Path, meta: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {**meta, "rows": [r.as_json() for r in self.rows]}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n")
        tmp.replace(path)


@dataclass
class Curve:
    label: str
    points: list[tuple[int, float]]  # (workspace count, milliseconds)


def plot(curves: Sequence[Curve], path: Path, title: str) -> bool:
    """Latency (ms) against workspace count, log-scaled x; returns False when nothing to plot."""
    curves = [c for c in curves if c.points]
    if not curves:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for c in curves:
        xs = [p[0] for p in c.points]
        ys = [p[1] for p in c.points]
        ax.plot(xs, ys, marker="o", linestyle="--" if "p99" in c.label else "-", label=c.label)
    ax.set_xscale("log")
    ax.set_xlabel("workspaces on the shard (log scale)")
    ax.set_ylabel("latency (ms)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return True
