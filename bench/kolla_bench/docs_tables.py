"""The benchmark tables of docs/performance.md: `bench/run.py` writes them between two markers, and the
rest of the page stays as it is. Pure text in, text out, except `write_tables`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

BEGIN = "<!-- bench-table -->"
END = "<!-- /bench-table -->"


class MarkersError(ValueError):
    pass


def replace_tables(page: str, tables: str) -> str:
    """`page` with what lies between BEGIN and END replaced by `tables` (one blank line before END), every
    other character unchanged. The page must hold each marker once, BEGIN first."""
    if page.count(BEGIN) != 1 or page.count(END) != 1:
        raise MarkersError(f"expected one {BEGIN} and one {END}")
    start = page.index(BEGIN) + len(BEGIN)
    end = page.index(END)
    if end < start:
        raise MarkersError(f"{END} comes before {BEGIN}")
    body = tables.strip("\n")
    return f"{page[:start]}\n{body}\n\n{page[end:]}"


def measured_line(start: datetime, end: datetime, machine: str) -> str:
    """When and where the tables were measured: `Measured on 2026-11-26 (00:19–00:29 UTC), <machine>.`
    (both dates when the run crosses midnight). `start` and `end` are in UTC."""
    if start.date() == end.date():
        period = f"{start:%Y-%m-%d} ({start:%H:%M}–{end:%H:%M} UTC)"
    else:
        period = f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"
    return f"Measured on {period}, {machine}."


def report(measured: str, results: str, checks: str) -> str:
    """What run.py prints and writes between the markers: the measured line, the results table and the
    targets table, separated by blank lines."""
    return "\n\n".join(part.strip("\n") for part in (measured, results, checks))


def write_tables(page: Path, tables: str) -> None:
    page.write_text(replace_tables(page.read_text(), tables))
