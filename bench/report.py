"""The benchmark's figures, their targets and the printed table (no project imports, so the
smoke test can format fake figures without a store)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class Target:
    """A target: ``kind`` 'max' (value <= limit), 'ratio_max' (value / floor <= limit) or
    'ratio_min' (value / floor >= limit, for rates such as rows/s)."""

    kind: str
    limit: float
    text: str

    def met(self, value: float | None, floor: float | None) -> bool | None:
        if value is None:
            return None
        if self.kind == "max":
            return value <= self.limit
        if not floor:
            return None
        ratio = value / floor
        return ratio <= self.limit if self.kind == "ratio_max" else ratio >= self.limit


@dataclass
class Figure:
    """One row of the table: a median (or percentile) beside its floor from the same run."""

    key: str
    label: str
    unit: str  # 'ms', 's', 'rows/s', 'MiB'
    value: float | None
    floor: float | None = None
    floor_label: str = "-"
    target: Target | None = None
    samples: list[float] = field(default_factory=list)
    floor_samples: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "-"
        met = self.target.met(self.value, self.floor)
        return "-" if met is None else ("PASS" if met else "MISS")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        out["verdict"] = self.verdict
        return out


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (p99 of 200 samples is the 198th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * pct // 100)))
    return ordered[int(rank) - 1]


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def format_ratio(figure: Figure) -> str:
    return "-" if figure.ratio is None else f"{figure.ratio:.2f}x"


def format_table(figures: Sequence[Figure]) -> str:
    """The results as a Markdown table (pasted as is into docs/PERFORMANCE.md)."""
    header = ("| figure | median | floor in the same run | ratio | target | result |\n"
              "|---|---|---|---|---|---|")
    lines = [header]
    for f in figures:
        floor = "-" if f.floor is None else f"{format_value(f.floor, f.unit)} ({f.floor_label})"
        target = "-" if f.target is None else f.target.text
        lines.append(f"| {f.label} | {format_value(f.value, f.unit)} | {floor} | "
                     f"{format_ratio(f)} | {target} | {f.verdict} |")
    return "\n".join(lines)


def summary_line(figures: Sequence[Figure]) -> str:
    verdicts = [f.verdict for f in figures if f.verdict != "-"]
    missed = [f.label for f in figures if f.verdict == "MISS"]
    text = f"{verdicts.count('PASS')} of {len(verdicts)} targets met"
    return text + (f"; missed: {'; '.join(missed)}" if missed else "")
