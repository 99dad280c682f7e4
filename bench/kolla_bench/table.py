"""Markdown tables of measurements and of the issue's targets: pure formatting, no measuring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence


@dataclass(frozen=True)
class Row:
    section: str
    scenario: str
    tool: str
    seconds: float
    builds: Optional[int] = None  # image build processes that ran (None: not counted)
    note: str = ""


@dataclass(frozen=True)
class Check:
    target: str
    measured: str
    met: bool


def seconds(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("inf")


def markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cells = [list(headers), *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *map(line, cells[1:])])


def results_table(rows: Sequence[Row]) -> str:
    """One line per measurement. The ratio column compares each row with the first row of the same
    section and scenario (the plugin's, by construction of run.py), so peers read as multiples of it."""
    baseline: dict[tuple[str, str], float] = {}
    out = []
    for r in rows:
        base = baseline.setdefault((r.section, r.scenario), r.seconds)
        out.append([r.section, r.scenario, r.tool, seconds(r.seconds),
                    f"{ratio(r.seconds, base):.2f}×", "" if r.builds is None else str(r.builds), r.note])
    return markdown(["Section", "Scenario", "Tool", "Time (s)", "× first row", "Builds run", "Note"], out)


def checks_table(checks: Sequence[Check]) -> str:
    return markdown(["Target", "Measured", "Met?"],
                    [[c.target, c.measured, "yes" if c.met else "**no**"] for c in checks])
