"""Where bench/run.py writes its tables in docs/performance.md, and what it writes there. No timings."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from kolla_bench import docs_tables
from kolla_bench.docs_tables import BEGIN, END, MarkersError, measured_line, replace_tables, report
from kolla_bench.table import Check, Row, checks_table, results_table

PAGE = f"""# Performance

Intro, kept.

{BEGIN}
| old | table |
|-----|-------|
| 1   | 2     |

{END}

## Targets

Kept too.
"""


def utc(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


def test_only_what_lies_between_the_markers_changes() -> None:
    page = replace_tables(PAGE, "| new |\n|-----|\n| 3   |")
    before, rest = page.split(BEGIN)
    between, after = rest.split(END)
    assert before == PAGE.split(BEGIN)[0] and after == PAGE.split(END)[1]
    assert between == "\n| new |\n|-----|\n| 3   |\n\n"
    assert "old" not in page


def test_writing_the_same_tables_twice_changes_nothing() -> None:
    once = replace_tables(PAGE, "\n\nA\n\nB\n\n")
    assert replace_tables(once, "A\n\nB") == once
    # The page's own layout: a newline after BEGIN, a blank line before END.
    assert f"{BEGIN}\nA\n\nB\n\n{END}" in once


@pytest.mark.parametrize(
    "page",
    [
        "no markers at all\n",
        f"{BEGIN}\nonly the first\n",
        f"only the second\n{END}\n",
        f"{END}\nreversed\n{BEGIN}\n",
        f"{BEGIN}\n{BEGIN}\ntwice\n{END}\n",
    ],
)
def test_a_page_without_exactly_one_pair_of_markers_is_refused(page: str) -> None:
    with pytest.raises(MarkersError):
        replace_tables(page, "x")


def test_the_measured_line_names_the_day_the_times_and_the_machine() -> None:
    line = measured_line(utc(26, 0, 19), utc(26, 0, 29), "2 CPUs (nproc)")
    assert line == "Measured on 2026-11-26 (00:19–00:29 UTC), 2 CPUs (nproc)."
    overnight = measured_line(utc(26, 23, 50), utc(27, 0, 40), "2 CPUs (nproc)")
    assert overnight == "Measured on 2026-11-26 23:50 – 2026-11-27 00:40 UTC, 2 CPUs (nproc)."


def test_the_report_is_the_measured_line_then_both_tables() -> None:
    results = results_table([Row(section="s", scenario="no-op", tool="plugin", seconds=0.1, builds=0)])
    checks = checks_table([Check(target="t", measured="0.1 s", met=True)])
    text = report("Measured on X.", results, checks)
    assert text == f"Measured on X.\n\n{results}\n\n{checks}"
    page = replace_tables(PAGE, text)
    assert page.split(BEGIN)[1].split(END)[0] == f"\n{text}\n\n"


def test_write_tables_rewrites_the_page_in_place(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    page.write_text(PAGE)
    docs_tables.write_tables(page, "T")
    assert page.read_text() == replace_tables(PAGE, "T")


def test_the_real_page_has_its_markers() -> None:
    page = Path(__file__).resolve().parents[2] / "docs/performance.md"
    if not page.exists():  # Pants' sandbox holds only the test's own files
        pytest.skip("docs/performance.md is not in this sandbox")
    replace_tables(page.read_text(), "")
