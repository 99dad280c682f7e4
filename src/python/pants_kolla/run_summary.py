"""The end-of-run summary, Kolla's `--summary-json-file` shape (pure logic)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

BUILT = "built"
CACHED = "cached"
FAILED = "failed"
PARENT_FAILED = "parent_failed"


@dataclass(frozen=True)
class ImageOutcome:
    name: str  # full image ref
    spec: str  # target address
    status: str  # BUILT, CACHED, FAILED, PARENT_FAILED
    allowed_to_fail: bool = False


def summary_json(outcomes: Iterable[ImageOutcome], not_matched: Iterable[str]) -> dict:
    """Kolla's keys (built, failed, not_matched, skipped, unbuildable) plus `cached`: images Pants did
    not rebuild because nothing they depend on changed (Kolla would list them as skipped)."""
    outcomes = sorted(outcomes, key=lambda o: o.name)
    failed = [o for o in outcomes if o.status in (FAILED, PARENT_FAILED)]
    return {
        "built": [{"name": o.name, "target": o.spec} for o in outcomes if o.status == BUILT],
        "cached": [{"name": o.name, "target": o.spec} for o in outcomes if o.status == CACHED],
        "failed": [
            {"name": o.name, "target": o.spec,
             "status": "error" if o.status == FAILED else "parent_error",
             "allowed_to_fail": o.allowed_to_fail}
            for o in failed
        ],
        "not_matched": [{"name": n} for n in sorted(not_matched)],
        "skipped": [{"name": o.name, "reason": "cached"} for o in outcomes if o.status == CACHED],
        "unbuildable": [],
    }


def summary_table(outcomes: Iterable[ImageOutcome]) -> str:
    outcomes = list(outcomes)
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in (BUILT, CACHED, FAILED, PARENT_FAILED)}
    lines = [f"Kolla images: {counts[BUILT]} built, {counts[CACHED]} cached (not rebuilt), "
             f"{counts[FAILED]} failed, {counts[PARENT_FAILED]} not built because a parent failed"]
    for o in sorted(outcomes, key=lambda o: (o.status not in (FAILED, PARENT_FAILED), o.name)):
        if o.status in (FAILED, PARENT_FAILED):
            note = " (allowed to fail)" if o.allowed_to_fail else ""
            lines.append(f"  {o.status.upper():14} {o.name}  [{o.spec}]{note}")
    return "\n".join(lines)
