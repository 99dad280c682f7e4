"""Markdown tables of measurements and of the performance targets: pure formatting, no measuring."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Optional, Sequence


@dataclass(frozen=True)
class Samples:
    """Repeated measurements of one scenario: the row shows their median and range, and targets are
    judged at the median (one outlier sample must not make a target read "met")."""

    seconds: tuple[float, ...]
    builds: tuple[Optional[int], ...] = ()  # per sample: image build processes that ran

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_builds(self) -> Optional[int]:
        """The build count of the median sample (the middle one when sorted by time)."""
        if not self.builds:
            return None
        order = sorted(range(len(self.seconds)), key=lambda i: self.seconds[i])
        return self.builds[order[len(order) // 2]]


@dataclass(frozen=True)
class Row:
    section: str
    scenario: str
    tool: str
    seconds: float  # the median of `samples` when there are several
    builds: Optional[int] = None  # image build processes that ran (None: not counted)
    note: str = ""
    low: Optional[float] = None  # fastest and slowest sample
    high: Optional[float] = None
    count: int = 1  # samples

    @classmethod
    def of(cls, section: str, scenario: str, tool: str, samples: Samples, note: str = "") -> "Row":
        return cls(
            section=section,
            scenario=scenario,
            tool=tool,
            seconds=samples.median,
            builds=samples.median_builds,
            note=note,
            low=min(samples.seconds),
            high=max(samples.seconds),
            count=len(samples.seconds),
        )


@dataclass(frozen=True)
class Check:
    target: str
    measured: str
    met: bool


def seconds(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def spread(values: Sequence[float]) -> str:
    """The median with the fastest and slowest value: `0.28 (0.25–0.41)`."""
    return f"{seconds(statistics.median(values))} ({seconds(min(values))}–{seconds(max(values))})"


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("inf")


def markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cells = [list(headers), *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join(
        [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells[1:])]
    )


def results_table(rows: Sequence[Row]) -> str:
    """One line per measurement (the median of its samples, with their range). The ratio column compares
    each row with the first row of the same section and scenario (the plugin's, by construction of
    run.py), so peers read as multiples of it."""
    baseline: dict[tuple[str, str], float] = {}
    out = []
    for r in rows:
        base = baseline.setdefault((r.section, r.scenario), r.seconds)
        spread = (
            "" if r.low is None or r.high is None else f"{seconds(r.low)}–{seconds(r.high)} (n={r.count})"
        )
        out.append(
            [
                r.section,
                r.scenario,
                r.tool,
                seconds(r.seconds),
                spread,
                f"{ratio(r.seconds, base):.2f}×",
                "" if r.builds is None else str(r.builds),
                r.note,
            ]
        )
    return markdown(
        ["Section", "Scenario", "Tool", "Median (s)", "Min–max (s)", "× first row", "Builds run", "Note"], out
    )


def checks_table(checks: Sequence[Check]) -> str:
    return markdown(
        ["Target", "Measured", "Met?"], [[c.target, c.measured, "yes" if c.met else "**no**"] for c in checks]
    )
