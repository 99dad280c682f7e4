"""Size budgets, pure: a baseline of every image's size (`kolla-size --write-baseline`), a growth limit
(`[kolla-size].growth_limit`: `5%` or `20MiB`) and a target's own `max_size`; what breaks them, naming
the image, its growth and the step whose layer grew most."""

from __future__ import annotations

import re
from typing import Mapping

from pants_kolla.core.size_report import mib

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|B|KiB|MiB|GiB|KB|MB|GB)\s*$")
_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 10**3, "MB": 10**6, "GB": 10**9}


class SizeError(ValueError):
    pass


def parse_size(value: str, allow_percent: bool = False) -> tuple[float, bool]:
    """(amount, is_percent): `5%`, `20MiB`, `1.5GB`..."""
    match = _SIZE.match(value)
    if not match or (match[2] == "%" and not allow_percent):
        units = "%, " if allow_percent else ""
        raise SizeError(f"`{value}` is not a size: a number and a unit ({units}B, KiB, MiB, GiB, KB, MB, GB)")
    if match[2] == "%":
        return float(match[1]), True
    return float(match[1]) * _UNITS[match[2]], False


def baseline(report: dict) -> dict:
    """What `--write-baseline` records: each image's total and own steps, by name (not tag)."""
    return {
        row["name"]: {"total": row["total"], "steps": [[s["step"], s["size"]] for s in row["steps"]]}
        for row in report["images"]
    }


def _grown_step(row: dict, before: Mapping) -> str:
    """The own step whose layer grew most: steps compared in order when the image has as many as in the
    baseline (an edited line is the same step), else by their text."""
    old_steps = before.get("steps", [])
    if len(old_steps) == len(row["steps"]):
        old_sizes = [size for _, size in old_steps]
    else:
        by_text = {step: size for step, size in old_steps}
        old_sizes = [by_text.get(s["step"], 0) for s in row["steps"]]
    growth = [(s["size"] - old, s["step"]) for s, old in zip(row["steps"], old_sizes)]
    delta, step = max(growth, default=(0, ""))
    return f"; the step that grew most: `{step[:240]}` (+{mib(delta)} MiB)" if delta > 0 else ""


def violations(report: dict, recorded: Mapping, growth_limit: str, max_sizes: Mapping[str, str]) -> list[str]:
    found = []
    amount, percent = parse_size(growth_limit, allow_percent=True) if growth_limit else (0.0, False)
    for row in report["images"]:
        before = recorded.get(row["name"])
        if before and growth_limit:
            delta = row["total"] - before["total"]
            allowed = before["total"] * amount / 100 if percent else amount
            if delta > allowed:
                found.append(
                    f"{row['name']} grew {mib(delta)} MiB ({100 * delta / max(1, before['total']):+.1f}%), "
                    f"beyond [kolla-size].growth_limit = {growth_limit}{_grown_step(row, before)}"
                )
        limit = max_sizes.get(row["name"])
        if limit and row["total"] > parse_size(limit)[0]:
            found.append(f"{row['name']} is {mib(row['total'])} MiB, beyond its max_size = {limit}")
    return found
