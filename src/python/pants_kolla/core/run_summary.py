"""The end-of-run summary, Kolla's `--summary-json-file` shape (pure logic)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable


class ImageStatus(Enum):
    """What became of an image in a run (Kolla's statuses: ImageStatus.BUILT, ERROR, PARENT_ERROR; plus ImageStatus.CACHED)."""

    BUILT = "built"
    CACHED = "cached"  # not rebuilt: nothing it depends on changed
    FAILED = "failed"
    PARENT_FAILED = "parent_failed"

    @property
    def failed(self) -> bool:
        return self in (ImageStatus.FAILED, ImageStatus.PARENT_FAILED)


@dataclass(frozen=True)
class ImageOutcome:
    name: str  # full image ref
    spec: str  # target address
    status: ImageStatus
    allowed_to_fail: bool = False


def summary_json(outcomes: Iterable[ImageOutcome], not_matched: Iterable[str]) -> dict:
    """Kolla's keys (built, failed, not_matched, skipped, unbuildable) plus `cached`: images Pants did
    not rebuild because nothing they depend on changed (Kolla would list them as skipped)."""
    outcomes = sorted(outcomes, key=lambda o: o.name)
    failed = [o for o in outcomes if o.status.failed]
    return {
        "built": [{"name": o.name, "target": o.spec} for o in outcomes if o.status == ImageStatus.BUILT],
        "cached": [{"name": o.name, "target": o.spec} for o in outcomes if o.status == ImageStatus.CACHED],
        "failed": [
            {
                "name": o.name,
                "target": o.spec,
                "status": "error" if o.status == ImageStatus.FAILED else "parent_error",
                "allowed_to_fail": o.allowed_to_fail,
            }
            for o in failed
        ],
        "not_matched": [{"name": n} for n in sorted(not_matched)],
        "skipped": [{"name": o.name, "reason": "cached"} for o in outcomes if o.status == ImageStatus.CACHED],
        "unbuildable": [],
    }


def summary_table(outcomes: Iterable[ImageOutcome]) -> str:
    outcomes = list(outcomes)
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ImageStatus}
    lines = [
        f"Kolla images: {counts[ImageStatus.BUILT]} built, {counts[ImageStatus.CACHED]} cached (not rebuilt), "
        f"{counts[ImageStatus.FAILED]} failed, {counts[ImageStatus.PARENT_FAILED]} not built because a parent failed"
    ]
    for o in sorted(outcomes, key=lambda o: (not o.status.failed, o.name)):
        if o.status.failed:
            note = " (allowed to fail)" if o.allowed_to_fail else ""
            lines.append(f"  {o.status.value.upper():14} {o.name}  [{o.spec}]{note}")
    return "\n".join(lines)
