"""How the bench samples a scenario: `run(i)` is sample i of it, returning the run's Timed."""

from __future__ import annotations

from typing import Callable

from kolla_bench.pants_repo import Timed
from kolla_bench.table import Samples

Run = Callable[[int], Timed]


def sampled(run: Run, n: int) -> Samples:
    """`run(i)` for each sample i; cold scenarios give each sample inputs of its own."""
    return of_runs([run(i) for i in range(n)])


def sampled_in_turn(runs: list[Run], n: int, warm_up: bool = True) -> list[Samples]:
    """One untimed round of `runs` (sample -1; cold runs need none: `warm_up=False`), then sample i of
    each in turn for each i: rows compared with each other meet the shared machine's drift alike, and
    none of them times a first run."""
    for run in runs if warm_up else []:
        run(-1)
    rounds = [[run(i) for run in runs] for i in range(n)]
    return [of_runs([r[k] for r in rounds]) for k in range(len(runs))]


def of_runs(runs: list[Timed]) -> Samples:
    return Samples(tuple(r.seconds for r in runs), tuple(len(r.built) for r in runs))
